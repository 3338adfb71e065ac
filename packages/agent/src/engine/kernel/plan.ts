/**
 * From a virtual service to the plan its rules are rendered from (ruleset.ts): which dispatch its scheduler
 * becomes, and its persistence templates. Pure apart from the per-service state it keeps (the Maglev table's
 * last_weight memory, the conntrack counts of the lc family), so the rendered rules can be tested without nft.
 */
import { MaglevHashing } from "../../scheduler/mh.js";
import { isEligible } from "../../scheduler/types.js";
import type { RealServer } from "../../state/real-server.js";
import type { VirtualService } from "../../state/virtual-service.js";
import type { DrServiceState } from "./dr.js";
import { fnv1a32 } from "./jhash.js";
import { type ConnCounts, isReweighted, picksFor, type ReweightScheduler, simulatePicks } from "./reweight.js";
import { type Dispatch, netmask, type ServicePlan, serviceId } from "./ruleset.js";
import { hashBuckets, MH_KERNEL_CONFIG_INDEX, maglevPositions } from "./tables.js";

/** Per-service state the plan is computed from (the kernel's svc->sched_data, kept by the engine). */
export interface ServiceState {
  /** mh: the Maglev table (its last_weight memory must see every change, so follow() runs on each one). */
  maglev?: MaglevHashing;
  maglevFlags?: string;
  /** lc family: the last conntrack counts per real server address, and new connections seen in the last period. */
  counts: Map<string, ConnCounts>;
  observed: number;
  connsSeen: number | undefined;
  /** lc family: the picks of the last plan (to apply only when they change). */
  picks: string;
  timer?: NodeJS.Timeout;
  countFailed?: boolean;
  /** Persistence: the real servers ("host . port") whose templates were honoured at the last batch. */
  honoured?: Set<string>;
  /** VS/DR: the links and the transition state (dr.ts). */
  dr?: DrServiceState;
}

export function newServiceState(): ServiceState {
  return { counts: new Map(), observed: 0, connsSeen: undefined, picks: "" };
}

/** Keeps the state in step with a change of the service (scheduler, flags, list, weights, availability). */
export function follow(vs: VirtualService, st: ServiceState): void {
  const { scheduler, schedulerFlags } = vs.spec;
  if (scheduler !== "mh") {
    st.maglev = undefined;
    return;
  }
  const flags = schedulerFlags.join();
  if (!st.maglev || st.maglevFlags !== flags) {
    st.maglev = new MaglevHashing({ flags: schedulerFlags, now: () => 0, random: Math.random }, MH_KERNEL_CONFIG_INDEX);
    st.maglevFlags = flags;
    // A new table starts as if its quiesced real servers (available, configured with a weight, at weight 0 now:
    // draining, inhibited) had been seen with their configured weight first. Maglev remembers the last non-zero
    // weight (IPVS's last_weight) and gives a server first seen at weight 0 no positions, so without this an agent
    // started (or restarted) during a drain would build another table than one that was running when the drain
    // began, and two directors with the same configuration would disagree — connections would move between
    // them, and at the restart.
    const quiesced = vs.realServers.filter((rs) => rs.available && rs.weight === 0 && rs.spec.weight > 0);
    if (quiesced.length > 0)
      st.maglev.update(vs.realServers.map((rs) => (quiesced.includes(rs) ? { address: rs.address, host: rs.host, port: rs.port, family: rs.family, index: rs.index, weight: rs.spec.weight, activeConns: 0, inactiveConns: 0, available: true, overloaded: false } : rs)));
  }
  st.maglev.update(vs.realServers);
}

/** lc family: the picks of the kernel's algorithm for the next period, per real server in list order. */
export function reweightPicks(vs: VirtualService, st: ServiceState): number[] {
  const eligible = vs.realServers.filter(isEligible).length;
  return simulatePicks(vs.spec.scheduler as ReweightScheduler, vs.spec.protocol, vs.realServers, st.counts, picksFor(st.observed, eligible));
}

/**
 * The plan of a service. `reachable` (VS/DR) says whether a real server can be forwarded to at all (its MAC address
 * is known): where it is false the hash tables treat the server as unavailable (no destination, or the fallback).
 */
export function planService(vs: VirtualService, st: ServiceState, expireQuiescentTemplate: boolean, reachable?: (rs: RealServer) => boolean): ServicePlan {
  const { scheduler, schedulerFlags: flags, protocol } = vs.spec;
  const seed = fnv1a32(vs.key);
  const clientKey = (withPort: boolean) => (withPort ? `ip saddr . ${protocol} sport` : "ip saddr");
  let dispatch: Dispatch;
  if (scheduler === "sh" || scheduler === "dh") {
    dispatch = {
      kind: "jhash",
      key: scheduler === "dh" ? "ip daddr" : clientKey(flags.includes("sh-port")),
      seed,
      table: hashBuckets(vs.realServers, scheduler, flags.includes("sh-fallback"), reachable),
    };
  } else if (scheduler === "mh") {
    if (!st.maglev) follow(vs, st);
    dispatch = {
      kind: "jhash",
      key: clientKey(flags.includes("mh-port")),
      seed,
      table: maglevPositions<RealServer>(st.maglev!, flags.includes("mh-fallback"), reachable),
      map: `h_${serviceId(vs)}`,
    };
  } else if (isReweighted(scheduler)) {
    const picks = reweightPicks(vs, st);
    st.picks = picks.join();
    dispatch = { kind: "numgen", mode: "random", slots: vs.realServers.map((rs, i) => ({ rs, n: picks[i]! })) };
  } else {
    // rr ignores weights (only 0 quiesces, ip_vs_rr.c); wrr gives each server weight / gcd slots.
    const eligible = vs.realServers.filter(isEligible);
    dispatch = { kind: "numgen", mode: "inc", slots: eligible.map((rs) => ({ rs, n: scheduler === "rr" ? 1 : rs.weight })), map: `w_${serviceId(vs)}` };
  }
  const plan: ServicePlan = { vs, dispatch };
  const p = vs.spec.persistence;
  if (p) {
    plan.templates = {
      map: templateMapName(vs, p.timeout, p.prefixLength),
      key: p.prefixLength >= 32 ? "ip saddr" : `ip saddr & ${netmask(p.prefixLength)}`,
      timeout: p.timeout,
      honoured: vs.realServers.filter((rs) => rs.available && (rs.weight > 0 || !expireQuiescentTemplate)),
    };
  }
  return plan;
}

/** A service's template map: its name encodes timeout and prefix, so a changed definition is a new map. */
export function templateMapName(vs: VirtualService, timeout: number, prefixLength: number): string {
  return `p_${serviceId(vs)}_${timeout}_${prefixLength}`;
}

