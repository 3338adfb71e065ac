/**
 * Applies a batch of changes to a desired configuration, purely: the input is not touched, the output is a
 * new configuration validated whole, or the list of errors (one per failing op, in ipvsadm's words where it
 * has them). The service table then reconciles the running state to the result.
 */
import { AgentConfig, formatIssues, type Op, type RealServerSpec, serviceKey, type VirtualServiceSpec } from "@director/model";

export type ApplyResult = { ok: true; config: AgentConfig; summary: string[] } | { ok: false; errors: string[] };

export function applyOps(config: AgentConfig, ops: readonly Op[], now: number): ApplyResult {
  const next: AgentConfig = structuredClone(config);
  const errors: string[] = [];
  const summary: string[] = [];
  const find = (k: { protocol: string; address: string }) =>
    next.virtualServices.find((v) => serviceKey(v) === serviceKey(k as VirtualServiceSpec));

  /** Applies one change to `next`; returns why it cannot, or undefined. */
  const applyOne = (op: Op): string | undefined => {
    const fail = (m: string) => m;
    switch (op.op) {
      case "service.add": {
        if (find(op.service)) return fail(`virtual service ${serviceKey(op.service)} already exists`);
        next.virtualServices.push(structuredClone(op.service));
        summary.push(`added service ${serviceKey(op.service)}`);
        return;
      }
      case "service.edit": {
        const vs = find(op.key);
        if (!vs) return fail(`no such virtual service ${serviceKey(op.key)}`);
        patchInPlace(vs as Record<string, unknown>, op.patch);
        summary.push(`edited service ${serviceKey(op.key)}`);
        return;
      }
      case "service.delete": {
        const vs = find(op.key);
        if (!vs) return fail(`no such virtual service ${serviceKey(op.key)}`);
        next.virtualServices = next.virtualServices.filter((v) => v !== vs);
        summary.push(`deleted service ${serviceKey(op.key)}`);
        return;
      }
      case "service.clear":
        next.virtualServices = [];
        summary.push("cleared all services");
        return;
      case "realServer.add": {
        const vs = find(op.key);
        if (!vs) return fail(`no such virtual service ${serviceKey(op.key)}`);
        if (vs.realServers.some((r) => r.address === op.realServer.address))
          return fail(`real server ${op.realServer.address} already exists in ${serviceKey(op.key)}`);
        vs.realServers.push(structuredClone(op.realServer));
        summary.push(`added real server ${op.realServer.address} to ${serviceKey(op.key)}`);
        return;
      }
      case "realServer.edit": {
        const rs = findReal(find(op.key), op.address, op.key);
        if (typeof rs === "string") return rs;
        patchInPlace(rs as Record<string, unknown>, op.patch);
        summary.push(`edited real server ${op.address} in ${serviceKey(op.key)}`);
        return;
      }
      case "realServer.delete": {
        const vs = find(op.key);
        const rs = findReal(vs, op.address, op.key);
        if (typeof rs === "string") return rs;
        if (!vs) return;
        vs.realServers = vs.realServers.filter((r) => r !== rs);
        summary.push(`deleted real server ${op.address} from ${serviceKey(op.key)}`);
        return;
      }
      case "realServer.setAdminState": {
        const rs = findReal(find(op.key), op.address, op.key);
        if (typeof rs === "string") return rs;
        if (op.state !== "draining" && op.thenMaintenance) return fail("--then-maintenance applies to a drain only");
        if (op.state === "active" && op.deadlineSeconds !== undefined) return fail("a deadline applies to drain or maintenance only");
        setAdminState(rs, op.state, op.thenMaintenance ?? false, op.deadlineSeconds, now);
        summary.push(`${op.address} in ${serviceKey(op.key)} → ${op.state}`);
        return;
      }
      case "timeouts.set": {
        next.timeouts = { ...next.timeouts, ...stripUndefined(op.timeouts) };
        summary.push("timeouts set");
        return;
      }
    }
  };
  ops.forEach((op, i) => {
    const err = applyOne(op);
    if (err) errors.push(ops.length > 1 ? `change ${i + 1} (${op.op}): ${err}` : err);
  });
  if (errors.length) return { ok: false, errors };
  const parsed = AgentConfig.safeParse(next);
  if (!parsed.success) return { ok: false, errors: formatIssues(parsed.error) };
  return { ok: true, config: parsed.data, summary };
}

export function setAdminState(
  rs: RealServerSpec,
  state: RealServerSpec["adminState"],
  thenMaintenance: boolean,
  deadlineSeconds: number | undefined,
  now: number,
): void {
  if (rs.adminState !== state) rs.adminSince = now;
  rs.adminState = state;
  delete rs.drain;
  delete rs.maintenanceDeadlineSeconds;
  if (state === "draining") {
    rs.drain = { thenMaintenance };
    if (deadlineSeconds !== undefined) rs.drain.deadlineSeconds = deadlineSeconds;
  } else if (state === "maintenance" && deadlineSeconds !== undefined) {
    rs.maintenanceDeadlineSeconds = deadlineSeconds;
  }
  if (state === "active") delete rs.adminSince;
}

/** Sets the fields a patch gives; null removes an optional field; undefined leaves it. */
function patchInPlace(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k];
    else if (v !== undefined) target[k] = v;
  }
}

/** The real server, or why there is none. */
function findReal(vs: VirtualServiceSpec | undefined, address: string, key: { protocol: string; address: string }): RealServerSpec | string {
  if (!vs) return `no such virtual service ${serviceKey(key as VirtualServiceSpec)}`;
  return vs.realServers.find((r) => r.address === address) ?? `no such real server ${address} in ${serviceKey(vs)}`;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
