/** Alerts firing now: each enabled rule evaluated against the hub's current state. No rules = the defaults. */
import type { AlertRule } from "@director/db";
import type { AgentHub } from "../hub/hub.js";
import { condition } from "./summary.js";

export interface Alert {
  rule: string;
  kind: AlertRule["kind"];
  agent: string;
  target: string;
  message: string;
}

const DEFAULT_RULES: Pick<AlertRule, "name" | "kind" | "threshold" | "enabled">[] = [
  { name: "real server down", kind: "realServerDown", threshold: null, enabled: true },
  { name: "quorum lost", kind: "quorumLost", threshold: null, enabled: true },
  { name: "agent stale", kind: "agentStale", threshold: null, enabled: true },
];

export function firingAlerts(hub: AgentHub, rules: Pick<AlertRule, "name" | "kind" | "threshold" | "enabled">[]): Alert[] {
  const out: Alert[] = [];
  for (const r of (rules.length ? rules : DEFAULT_RULES).filter((x) => x.enabled))
    for (const a of hub.list()) {
      if (r.kind === "agentStale" && a.stale) out.push({ rule: r.name, kind: r.kind, agent: a.name, target: a.url, message: `no data from ${a.name} since ${a.lastOkAt ? new Date(a.lastOkAt).toISOString() : "it was added"}${a.error ? `: ${a.error}` : ""}` });
      if (a.stale) continue;
      for (const vs of a.services) {
        const key = `${vs.protocol}/${vs.address}`;
        if (r.kind === "quorumLost" && !vs.quorumUp) out.push({ rule: r.name, kind: r.kind, agent: a.name, target: key, message: `${key} lost quorum (available weight ${vs.availableWeight})` });
        if (r.kind === "cpsAbove" && r.threshold !== null && vs.rates.cps > r.threshold) out.push({ rule: r.name, kind: r.kind, agent: a.name, target: key, message: `${key} at ${vs.rates.cps} conn/s (> ${r.threshold})` });
        if (r.kind === "realServerDown")
          for (const rs of vs.realServers)
            if (condition(rs) === "down") out.push({ rule: r.name, kind: r.kind, agent: a.name, target: `${key} ${rs.address}`, message: `${rs.address} is down${rs.health ? `: ${rs.health.reason}` : ""}` });
      }
    }
  return out;
}
