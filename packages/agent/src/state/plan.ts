/**
 * A plan: what a change would do, as a list of differences between two desired configurations (services and
 * real servers keyed as ipvsadm keys them; fields compared by value). Used for dry runs before an apply.
 */
import type { AgentConfig, RealServerSpec, VirtualServiceSpec } from "@director/model";
import { serviceKey } from "@director/model";

export interface PlanItem {
  action: "add" | "change" | "remove";
  /** "tcp/10.0.0.1:80", "tcp/10.0.0.1:80 → 10.0.0.2:80", "timeouts", "sysctl". */
  target: string;
  /** For changes: field → [before, after]. */
  fields?: Record<string, [unknown, unknown]>;
}

export function diffConfigs(a: AgentConfig, b: AgentConfig): PlanItem[] {
  const out: PlanItem[] = [];
  const fieldDiff = (x: Record<string, unknown>, y: Record<string, unknown>, skip: string[] = []) => {
    const fields: Record<string, [unknown, unknown]> = {};
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
      if (skip.includes(k)) continue;
      if (JSON.stringify(x[k]) !== JSON.stringify(y[k])) fields[k] = [x[k], y[k]];
    }
    return Object.keys(fields).length ? fields : undefined;
  };
  for (const section of ["timeouts", "sysctl", "api"] as const) {
    const fields = fieldDiff(a[section] as Record<string, unknown>, b[section] as Record<string, unknown>);
    if (fields) out.push({ action: "change", target: section, fields });
  }
  const before = new Map(a.virtualServices.map((v) => [serviceKey(v), v]));
  const after = new Map(b.virtualServices.map((v) => [serviceKey(v), v]));
  for (const [key, vs] of after) {
    const old = before.get(key);
    if (!old) {
      out.push({ action: "add", target: key });
      for (const rs of vs.realServers) out.push({ action: "add", target: `${key} → ${rs.address}` });
      continue;
    }
    const fields = fieldDiff(old as unknown as Record<string, unknown>, vs as unknown as Record<string, unknown>, ["realServers"]);
    if (fields) out.push({ action: "change", target: key, fields });
    out.push(...diffRealServers(key, old, vs, fieldDiff));
  }
  for (const [key, vs] of before) {
    if (after.has(key)) continue;
    out.push({ action: "remove", target: key });
    for (const rs of vs.realServers) out.push({ action: "remove", target: `${key} → ${rs.address}` });
  }
  return out;
}

function diffRealServers(
  key: string,
  a: VirtualServiceSpec,
  b: VirtualServiceSpec,
  fieldDiff: (x: Record<string, unknown>, y: Record<string, unknown>) => Record<string, [unknown, unknown]> | undefined,
): PlanItem[] {
  const out: PlanItem[] = [];
  const before = new Map<string, RealServerSpec>(a.realServers.map((r) => [r.address, r]));
  const after = new Map<string, RealServerSpec>(b.realServers.map((r) => [r.address, r]));
  for (const [addr, rs] of after) {
    const old = before.get(addr);
    if (!old) out.push({ action: "add", target: `${key} → ${addr}` });
    else {
      const fields = fieldDiff(old as unknown as Record<string, unknown>, rs as unknown as Record<string, unknown>);
      if (fields) out.push({ action: "change", target: `${key} → ${addr}`, fields });
    }
  }
  for (const addr of before.keys()) if (!after.has(addr)) out.push({ action: "remove", target: `${key} → ${addr}` });
  return out;
}
