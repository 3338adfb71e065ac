/**
 * A real server at run time: its configuration, its admin state and health, and the counters the connection
 * table keeps for it. It is the `Dest` the schedulers read (include/net/ip_vs.h `struct ip_vs_dest`).
 *
 * How admin state and health become what the scheduler sees:
 *   active + healthy   → weight = configured weight, available
 *   draining           → weight 0 (quiesced, as `ipvsadm -e -w 0`): no new connections, existing ones and
 *                        persistence templates continue (unless expire_quiescent_template)
 *   maintenance        → not available: no new connections, persistence templates are not honoured
 *   unhealthy          → not available (health checks land in the health issue; `inhibit` will set weight 0)
 *   removed            → not available; its connections finish or are closed per expire_nodest_conn
 */
import type { AdminState, DrainPlan, RealServerSpec, RealServerStatus } from "@director/model";
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
  /** Set false by health checks (health issue); true until then. */
  healthy = true;
  removed = false;

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

  get adminState(): AdminState {
    return this.spec.adminState;
  }

  /** Recomputes weight and availability from spec, admin state and health. Returns true if either changed. */
  refresh(): boolean {
    const available = !this.removed && this.healthy && this.spec.adminState !== "maintenance";
    const weight = this.spec.adminState === "draining" ? 0 : this.spec.weight;
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
      stats: { ...this.counters.stats },
      rates: this.counters.rates(),
    };
    if (this.spec.adminState === "draining") {
      const plan: DrainPlan = this.spec.drain ?? { thenMaintenance: false };
      s.drain = { ...plan, startedAt: this.adminSince };
    }
    if (this.spec.maintenanceDeadlineSeconds !== undefined) s.maintenanceDeadlineSeconds = this.spec.maintenanceDeadlineSeconds;
    void now;
    return s;
  }
}
