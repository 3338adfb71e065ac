/**
 * What the overview shows, computed from the hub: per agent reachability, version and uptime; totals; every
 * virtual service with its health bar (healthy / draining / maintenance / down real servers).
 */
import type { RealServerStatus, VirtualServiceStatus } from "@director/model";
import type { AgentHub, AgentState } from "../hub/hub.js";

export type RealServerCondition = "healthy" | "draining" | "maintenance" | "down";

/** One word for a real server's state, in the order an operator reads it: admin state first, then health. */
export function condition(rs: Pick<RealServerStatus, "adminState" | "available" | "health">): RealServerCondition {
  if (rs.adminState === "maintenance") return "maintenance";
  if (rs.adminState === "draining") return "draining";
  if (!rs.available || rs.health?.state === "down") return "down";
  return "healthy";
}

export interface ServiceSummary {
  agentId: string;
  key: string;
  name: string | null;
  protocol: string;
  address: string;
  scheduler: string;
  engine: string;
  quorumUp: boolean;
  counts: Record<RealServerCondition, number>;
  activeConns: number;
  cps: number;
  bps: number;
}

export interface AgentSummary {
  id: string;
  name: string;
  url: string;
  reachable: boolean;
  stale: boolean;
  error: string | null;
  version: string | null;
  startedAt: number | null;
  lastOkAt: number | null;
}

export interface OverviewSummary {
  t: number;
  agents: AgentSummary[];
  totals: { cps: number; bps: number; activeConns: number; services: number; realServers: number };
  services: ServiceSummary[];
}

function serviceSummary(a: AgentState, vs: VirtualServiceStatus): ServiceSummary {
  const key = `${vs.protocol}/${vs.address}`;
  const counts: Record<RealServerCondition, number> = { healthy: 0, draining: 0, maintenance: 0, down: 0 };
  for (const rs of vs.realServers) counts[condition(rs)]++;
  const s = a.sample?.services.find((x) => x.key === key);
  return {
    agentId: a.id,
    key,
    name: vs.name ?? null,
    protocol: vs.protocol,
    address: vs.address,
    scheduler: vs.scheduler,
    engine: vs.engine,
    quorumUp: vs.quorumUp,
    counts,
    activeConns: s?.activeConns ?? vs.realServers.reduce((n, r) => n + r.activeConns, 0),
    cps: s?.cps ?? vs.rates.cps,
    bps: s ? s.inBps + s.outBps : vs.rates.inBps + vs.rates.outBps,
  };
}

export function overview(hub: AgentHub, now = Date.now()): OverviewSummary {
  const agents = hub.list();
  // A stale agent's rates are not shown as if they were current: its services count with zero rates.
  const services = agents.flatMap((a) => a.services.map((vs) => (a.stale ? { ...serviceSummary(a, vs), cps: 0, bps: 0 } : serviceSummary(a, vs))));
  return {
    t: now,
    agents: agents.map((a) => ({ id: a.id, name: a.name, url: a.url, reachable: a.reachable, stale: a.stale, error: a.error, version: a.info?.version ?? null, startedAt: a.info?.startedAt ?? null, lastOkAt: a.lastOkAt })),
    totals: {
      cps: services.reduce((n, s) => n + s.cps, 0),
      bps: services.reduce((n, s) => n + s.bps, 0),
      activeConns: services.reduce((n, s) => n + s.activeConns, 0),
      services: services.length,
      realServers: services.reduce((n, s) => n + s.counts.healthy + s.counts.draining + s.counts.maintenance + s.counts.down, 0),
    },
    services,
  };
}
