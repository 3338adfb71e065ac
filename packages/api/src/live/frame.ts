/**
 * The live frame of one virtual service, sent to the browser once a second. With 1,000 real servers a full
 * status per update would be ~600 KB, so a frame is split in two:
 *  - `static`: addresses, weights, admin states, health verdicts and reasons, thresholds, drain plans: sent on the
 *    first frame and again only when its fingerprint (`rev`) changes;
 *  - columns of numbers in real-server order (activeConns, inactiveConns, cps, inBps, outBps, last check latency):
 *    sent every frame, ~25 bytes per real server.
 * Rates of a stale agent are sent as 0 so nothing downstream can mistake its last numbers for live ones.
 */
import crypto from "node:crypto";
import type { RealServerStatus, VirtualServiceStatus } from "@director/model";
import type { AgentState } from "../hub/hub.js";
import { condition, type RealServerCondition } from "./summary.js";

export interface RealServerStatic {
  address: string;
  forward: string;
  weight: number;
  effectiveWeight: number;
  upperThreshold: number;
  lowerThreshold: number;
  adminState: RealServerStatus["adminState"];
  condition: RealServerCondition;
  available: boolean;
  overloaded: boolean;
  health: { state: "up" | "down"; check: string; reason: string; since: number } | null;
  drain: RealServerStatus["drain"] | null;
  /** Maintenance: remaining connections are closed this many seconds after entering maintenance (null = never). */
  maintenanceDeadlineSeconds: number | null;
  ejectedUntil: number | null;
  slowStartUntil: number | null;
}

export interface ServiceStatic {
  key: string;
  name: string | null;
  protocol: string;
  address: string;
  scheduler: string;
  schedulerFlags: string[];
  persistence: VirtualServiceStatus["persistence"] | null;
  engine: string;
  quorumUp: boolean;
  availableWeight: number;
  realServers: RealServerStatic[];
}

export interface ServiceFrame {
  t: number;
  stale: boolean;
  /** The agent as the hub sees it, so a stale frame can say since when and why. */
  agent: { name: string; lastOkAt: number | null; error: string | null };
  rev: string;
  static?: ServiceStatic;
  totals: { activeConns: number; inactiveConns: number; cps: number; inBps: number; outBps: number };
  activeConns: number[];
  inactiveConns: number[];
  cps: number[];
  inBps: number[];
  outBps: number[];
  latencyMs: (number | null)[];
}

function staticOf(vs: VirtualServiceStatus): ServiceStatic {
  return {
    key: `${vs.protocol}/${vs.address}`,
    name: vs.name ?? null,
    protocol: vs.protocol,
    address: vs.address,
    scheduler: vs.scheduler,
    schedulerFlags: vs.schedulerFlags,
    persistence: vs.persistence ?? null,
    engine: vs.engine,
    quorumUp: vs.quorumUp,
    availableWeight: vs.availableWeight,
    realServers: vs.realServers.map((rs) => ({
      address: rs.address,
      forward: rs.forward,
      weight: rs.weight,
      effectiveWeight: rs.effectiveWeight,
      upperThreshold: rs.upperThreshold,
      lowerThreshold: rs.lowerThreshold,
      adminState: rs.adminState,
      condition: condition(rs),
      available: rs.available,
      overloaded: rs.overloaded,
      health: rs.health ? { state: rs.health.state, check: rs.health.check, reason: rs.health.reason, since: rs.health.since } : null,
      drain: rs.drain ?? null,
      maintenanceDeadlineSeconds: rs.maintenanceDeadlineSeconds ?? null,
      ejectedUntil: rs.ejectedUntil ?? null,
      slowStartUntil: rs.slowStartUntil ?? null,
    })),
  };
}

/**
 * The static part and its fingerprint, once per polled status (the hub replaces the status objects on each poll),
 * not once per frame and subscriber: with 1,000 real servers that is a 380 KB JSON and a SHA-1 saved each time.
 */
const statics = new WeakMap<VirtualServiceStatus, { st: ServiceStatic; rev: string }>();
function staticPart(vs: VirtualServiceStatus): { st: ServiceStatic; rev: string } {
  let p = statics.get(vs);
  if (!p) {
    const st = staticOf(vs);
    p = { st, rev: crypto.createHash("sha1").update(JSON.stringify(st)).digest("base64url").slice(0, 12) };
    statics.set(vs, p);
  }
  return p;
}

/** Builds the frame; `sentRev` is the rev the receiver already has (static omitted when unchanged). */
export function serviceFrame(a: AgentState, key: string, sentRev: string | null, now = Date.now()): ServiceFrame | null {
  const vs = a.services.find((s) => `${s.protocol}/${s.address}` === key);
  if (!vs) return null;
  const { st, rev } = staticPart(vs);
  const sample = a.sample?.services.find((s) => s.key === key);
  const byAddr = new Map(sample?.realServers.map((r) => [r.address, r]));
  const n = vs.realServers.length;
  const f: ServiceFrame = {
    t: a.sample?.t ?? now,
    stale: a.stale,
    agent: { name: a.name, lastOkAt: a.lastOkAt, error: a.error },
    rev,
    totals: {
      activeConns: sample?.activeConns ?? 0,
      inactiveConns: sample?.inactiveConns ?? 0,
      cps: a.stale ? 0 : (sample?.cps ?? 0),
      inBps: a.stale ? 0 : (sample?.inBps ?? 0),
      outBps: a.stale ? 0 : (sample?.outBps ?? 0),
    },
    activeConns: new Array(n),
    inactiveConns: new Array(n),
    cps: new Array(n),
    inBps: new Array(n),
    outBps: new Array(n),
    latencyMs: new Array(n),
  };
  vs.realServers.forEach((rs, i) => {
    const s = byAddr.get(rs.address);
    f.activeConns[i] = s?.activeConns ?? rs.activeConns;
    f.inactiveConns[i] = s?.inactiveConns ?? rs.inactiveConns;
    f.cps[i] = a.stale ? 0 : Math.round((s?.cps ?? rs.rates.cps) * 10) / 10;
    f.inBps[i] = a.stale ? 0 : Math.round(s?.inBps ?? rs.rates.inBps);
    f.outBps[i] = a.stale ? 0 : Math.round(s?.outBps ?? rs.rates.outBps);
    f.latencyMs[i] = rs.health ? Math.round(rs.health.latencyMs * 10) / 10 : null;
  });
  if (rev !== sentRev) f.static = st;
  return f;
}
