/**
 * What the agent reports: counters, rates and connection entries, in IPVS's words
 * (ip_vs_stats, ip_vs_estimator, `ipvsadm -L --stats / --rate / -c`).
 */
import type { AdminState, ForwardMethod, Persistence, Protocol, ProxyProtocol, SchedulerFlag, SchedulerName, EngineName, DrainPlan } from "./config.js";

/** Totals since start or the last zero (`ipvsadm -Z`). Packets are counted only where the engine can see them. */
export interface Stats {
  conns: number;
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
}

/** Per-second rates from the IPVS estimator (2 s ticks, EWMA with weight 1/4). */
export interface Rates {
  cps: number;
  inPps: number;
  outPps: number;
  inBps: number;
  outBps: number;
}

/** The last health verdict of a real server (absent when it has no check). */
export interface HealthStatus {
  state: "up" | "down";
  check: string;
  /** Why, in words: "HTTP 503 from /healthz", "connect ECONNREFUSED", "timeout after 1000 ms". */
  reason: string;
  latencyMs: number;
  /** ms since the epoch: last change of state, last check. */
  since: number;
  lastCheckAt: number;
  /** Passes (while down) or failures (while up) counted towards rise/fall. */
  streak: number;
}

export interface HealthResult {
  at: number;
  ok: boolean;
  reason: string;
  latencyMs: number;
}

export interface RealServerStatus {
  address: string;
  forward: ForwardMethod;
  /** Configured weight. */
  weight: number;
  /** Weight the scheduler sees now (0 while draining). */
  effectiveWeight: number;
  upperThreshold: number;
  lowerThreshold: number;
  adminState: AdminState;
  drain?: DrainPlan & { startedAt: number };
  maintenanceDeadlineSeconds?: number;
  /** Health/availability: false = out of rotation (maintenance or failed checks). */
  available: boolean;
  overloaded: boolean;
  activeConns: number;
  inactiveConns: number;
  persistConns: number;
  stats: Stats;
  rates: Rates;
  health?: HealthStatus;
  /** Ejected by passive health until this time (ms since the epoch). */
  ejectedUntil?: number;
  /** Slow start: the weight is ramping up until this time (ms since the epoch). */
  slowStartUntil?: number;
  /** Dynamic feedback: the last aggregate load and the weight it set. */
  feedback?: { aggregateLoad: number; weight: number; at: number; loads: Record<string, number> };
}

export interface VirtualServiceStatus {
  name?: string;
  protocol: Protocol;
  address: string;
  scheduler: SchedulerName;
  schedulerFlags: SchedulerFlag[];
  persistence?: Persistence;
  onePacket: boolean;
  proxyProtocol: ProxyProtocol;
  engine: EngineName;
  realServers: RealServerStatus[];
  stats: Stats;
  rates: Rates;
  /** Quorum state (keepalived): false while the available weight is below quorum. */
  quorumUp: boolean;
  /** Total weight of available real servers (what quorum compares). */
  availableWeight: number;
  sorryServer?: RealServerStatus;
}

/** One entry of the connection table (`ipvsadm -Lc`). Persistence templates have state "NONE" and client port 0. */
export interface ConnectionEntry {
  protocol: Protocol;
  client: string;
  virtual: string;
  real: string;
  state: string;
  /** Seconds until the entry expires if nothing happens. */
  expiresIn: number;
  template: boolean;
  inBytes: number;
  outBytes: number;
  startedAt: number;
}

export interface AgentInfo {
  version: string;
  pid: number;
  startedAt: number;
  now: number;
  configPath?: string;
}
