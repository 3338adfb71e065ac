/**
 * The decision for a new connection: existing persistence binding first, the scheduler on a miss
 * (ip_vs_schedule() and ip_vs_sched_persist() in net/netfilter/ipvs/ip_vs_core.c), and keepalived's sorry
 * server when the service is below quorum or no real server is eligible.
 */
import type { RealServer } from "../state/real-server.js";
import type { VirtualService } from "../state/virtual-service.js";
import type { Flow } from "../scheduler/types.js";
import type { Template, TemplateTable } from "./persistence.js";

export interface Decision {
  realServer: RealServer;
  template: Template | undefined;
}

export function schedule(vs: VirtualService, flow: Flow, templates: TemplateTable): Decision | null {
  // Below quorum the service is down: the sorry server takes new connections (keepalived sorry_server).
  if (!vs.quorumUp) return vs.sorry ? { realServer: vs.sorry, template: undefined } : null;
  if (vs.spec.persistence) {
    const t = templates.lookup(vs, flow.clientHost);
    if (t) return { realServer: t.realServer, template: t };
    const rs = vs.scheduler.pick(flow) as RealServer | null;
    if (!rs) return sorry(vs);
    return { realServer: rs, template: templates.create(vs, flow.clientHost, rs) };
  }
  const rs = vs.scheduler.pick(flow) as RealServer | null;
  return rs ? { realServer: rs, template: undefined } : sorry(vs);
}

function sorry(vs: VirtualService): Decision | null {
  return vs.sorry ? { realServer: vs.sorry, template: undefined } : null;
}
