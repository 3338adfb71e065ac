/**
 * A real server at run time: its configuration, its admin state and health, and the counters the connection
 * table keeps for it. It is the `Dest` the schedulers read (include/net/ip_vs.h `struct ip_vs_dest`).
 *
 * How admin state and health become what the scheduler sees:
 *   active + healthy   → weight = configured weight, available
 *   draining           → weight 0 (quiesced, as `ipvsadm -e -w 0`): no new connections, existing ones and
 *                        persistence templates continue (unless expire_quiescent_template)
 *   maintenance        → not available: no new connections, persistence templates are not honoured
 *   unhealthy          → not available (onFailure remove), or weight 0 (onFailure inhibit, keepalived
 *                        inhibit_on_failure)
 *   agent-check        → "drain" sets weight 0, "maint" makes it unavailable, a weight or percentage replaces
 *                        the configured weight while it is reported (HAProxy agent-check)
 *   removed            → not available; its connections finish or are closed per expire_nodest_conn
 */
import type { AdminState, DrainPlan, HealthStatus, RealServerSpec, RealServerStatus } from "@director/model";
import { parseEndpoint } from "@director/model";
import type { Connection } from "../conn/connection.js";
import type { Dest } from "../scheduler/types.js";
import { Counters } from "../telemetry/estimator.js";

export class RealServer implements Dest {
  index: number;
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
  spec: RealServerSpec;

  weight = 0;
  available = false;
  overloaded = false;
  activeConns = 0;
  inactiveConns = 0;
  persistConns = 0;
  /** Health verdict: false = failed its check with onFailure remove. */
  healthy = true;
  /** Failed its check with onFailure inhibit: listed, weight 0. */
  inhibited = false;
  /** A weight reported by the check (exec dynamic, agent-check percentage), replacing the configured one. */
  healthWeight: number | undefined;
  /** A weight set by dynamic feedback (LVS), replacing the configured one while feedback runs. */
  feedbackWeight: number | undefined;
  feedback: { aggregateLoad: number; weight: number; at: number; loads: Record<string, number> } | undefined;
  /** An admin state asked for by an agent-check. */
  agentRequest: "drain" | "maint" | undefined;
  /** The last health verdict, for status (absent without a check). */
  health: HealthStatus | undefined;
  /** Passive health: consecutive failed connections, times ejected, ejected until (ms). */
  failStreak = 0;
  ejections = 0;
  ejectedUntil = 0;
  ejected = false;
  /** Slow start: share (0..1] of the weight while ramping up, until slowStartUntil (ms). */
  ramp: number | undefined;
  slowStartUntil = 0;
  removed = false;
  /** When its last connection was unbound (ms; 0 = never had one): how long it has been unreferenced in the trash. */
  idleSince = 0;

  readonly counters = new Counters();
  /** Connections with open sockets (not the TIME_WAIT entries that only count as inactive). */
  readonly live = new Set<Connection>();
  /** When the current drain or maintenance began (ms). */
  adminSince = 0;

  constructor(spec: RealServerSpec, index: number, now: number) {
    const e = parseEndpoint(spec.address);
    if ("error" in e) throw new Error(e.error);
    this.address = spec.address;
    this.host = e.host;
    this.port = e.port;
    this.family = e.family;
    this.index = index;
    this.spec = spec;
    this.adminSince = now;
    this.refresh();
  }

  /**
   * Back from the trash (virtual-service.ts) with a new spec: statistics, estimator and connections go on
   * (__ip_vs_update_dest). Health starts over as for a new real server; the overload flag is recomputed.
   */
  revive(spec: RealServerSpec, index: number, now: number): void {
    this.spec = spec;
    this.index = index;
    this.removed = false;
    this.adminSince = now;
    this.healthy = true;
    this.inhibited = false;
    this.health = undefined;
    this.healthWeight = undefined;
    this.agentRequest = undefined;
    this.feedbackWeight = undefined;
    this.feedback = undefined;
    this.failStreak = 0;
    this.ejections = 0;
    this.ejected = false;
    this.ejectedUntil = 0;
    this.ramp = undefined;
    this.slowStartUntil = 0;
    this.overloaded = false;
    this.checkOverloadOnBind();
    this.refresh();
  }

  get adminState(): AdminState {
    return this.spec.adminState;
  }

  /** Recomputes weight and availability from spec, admin state and health. Returns true if either changed. */
  refresh(): boolean {
    const available =
      !this.removed && this.healthy && !this.ejected && this.agentRequest !== "maint" && this.spec.adminState !== "maintenance";
    // A configured weight of 0 quiesces whatever feedback or checks report (the administrator's word wins).
    const quiesced = this.spec.adminState === "draining" || this.spec.weight === 0 || this.inhibited || this.agentRequest === "drain";
    const base = this.healthWeight ?? this.feedbackWeight ?? this.spec.weight;
    // Slow start never rounds a non-zero weight down to 0, which would quiesce the server.
    const weight = quiesced ? 0 : this.ramp !== undefined && base > 0 ? Math.max(1, Math.round(base * this.ramp)) : base;
    const changed = available !== this.available || weight !== this.weight;
    this.available = available;
    this.weight = weight;
    return changed;
  }

  /** The lower threshold in force: -y, or 3/4 of -x when -y is 0 (ip_vs_unbind_dest). */
  checkOverloadOnBind(): void {
    const u = this.spec.upperThreshold;
    if (u !== 0 && this.activeConns + this.inactiveConns >= u) this.overloaded = true;
  }

  checkOverloadOnUnbind(): void {
    const total = this.activeConns + this.inactiveConns;
    const { upperThreshold: u, lowerThreshold: l } = this.spec;
    if (l !== 0) {
      if (total < l) this.overloaded = false;
    } else if (u !== 0) {
      if (total * 4 < u * 3) this.overloaded = false;
    } else {
      this.overloaded = false;
    }
  }

  status(now: number): RealServerStatus {
    const s: RealServerStatus = {
      address: this.address,
      forward: this.spec.forward,
      weight: this.spec.weight,
      effectiveWeight: this.weight,
      upperThreshold: this.spec.upperThreshold,
      lowerThreshold: this.spec.lowerThreshold,
      adminState: this.spec.adminState,
      available: this.available,
      overloaded: this.overloaded,
      activeConns: this.activeConns,
      inactiveConns: this.inactiveConns,
      persistConns: this.persistConns,
      stats: this.counters.shown(),
      rates: this.counters.rates(),
    };
    if (this.spec.adminState === "draining") {
      const plan: DrainPlan = this.spec.drain ?? { thenMaintenance: false };
      s.drain = { ...plan, startedAt: this.adminSince };
    }
    if (this.spec.maintenanceDeadlineSeconds !== undefined) s.maintenanceDeadlineSeconds = this.spec.maintenanceDeadlineSeconds;
    if (this.health) s.health = this.health;
    if (this.ejected) s.ejectedUntil = this.ejectedUntil;
    if (this.ramp !== undefined) s.slowStartUntil = this.slowStartUntil;
    if (this.feedback) s.feedback = this.feedback;
    void now;
    return s;
  }
}
