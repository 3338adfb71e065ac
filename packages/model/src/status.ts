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
