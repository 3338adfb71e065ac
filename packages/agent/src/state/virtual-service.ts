/**
 * A virtual service at run time: its spec, its real servers in configuration order, its scheduler instance
 * (per-service private state, as the kernel's svc->sched_data) and its counters.
 *
 * Removed real servers go to a trash, as IPVS's dests do (ip_vs_ctl.c: __ip_vs_del_dest puts the dest on
 * ipvs->dest_trash; ip_vs_dest_trash_expire frees it once nothing has referenced it for IP_VS_DEST_TRASH_PERIOD,
 * 120 s). Adding the same address again while it is there revives it (ip_vs_add_dest → ip_vs_trash_get_dest →
 * __ip_vs_update_dest): its statistics go on, and the connections it still carries count for it again, instead of
 * a new real server starting from 0 beside connections nobody counts.
 */
import type { RealServerSpec, VirtualServiceSpec, VirtualServiceStatus } from "@director/model";
import { parseEndpoint, serviceKey } from "@director/model";
import { createScheduler } from "../scheduler/registry.js";
import type { Scheduler } from "../scheduler/types.js";
import { Counters } from "../telemetry/estimator.js";
import { RealServer } from "./real-server.js";

/** IP_VS_DEST_TRASH_PERIOD (include/net/ip_vs.h): 120 s. */
export const DEST_TRASH_PERIOD_MS = 120_000;

export interface SchedulerEnv {
  now: () => number;
  random: () => number;
  /** The quorum state flipped (keepalived quorum_up / quorum_down). */
  onQuorum?: (vs: VirtualService, up: boolean, availableWeight: number) => void;
  /** The destination list, a weight or an availability changed (after the scheduler heard of it). */
  onUpdate?: (vs: VirtualService) => void;
}

export class VirtualService {
  readonly key: string;
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
  spec: Omit<VirtualServiceSpec, "realServers">;
  realServers: RealServer[] = [];
  readonly byAddress = new Map<string, RealServer>();
  private current: Scheduler;
  /**
   * The scheduler has not heard of the last changes: a kernel-engine service's changes are not given to the
   * userspace scheduler, which nothing asks (the kernel engine plans from its own tables: engine/kernel/plan.ts),
   * until something does (the service moved to the userspace engine, a test).
   */
  private stale = false;
  readonly counters = new Counters();
  /** keepalived quorum: false while the available weight is below quorum (with hysteresis). */
  quorumUp = true;
  availableWeight = 0;
  /** Takes new connections while below quorum or with no available real server. */
  sorry: RealServer | undefined;
  /** Removed real servers by address, and when they were removed (ms). */
  private readonly trash = new Map<string, { rs: RealServer; removedAt: number }>();

  constructor(
    spec: VirtualServiceSpec,
    private readonly env: SchedulerEnv,
  ) {
    const e = parseEndpoint(spec.address);
    if ("error" in e) throw new Error(e.error);
    this.key = serviceKey(spec);
    this.address = spec.address;
    this.host = e.host;
    this.port = e.port;
    this.family = e.family;
    const { realServers, ...rest } = spec;
    this.spec = rest;
    this.current = this.makeScheduler();
    for (const rs of realServers) this.addRealServer(rs, false);
    this.setSorryServer(rest.sorryServer);
    this.schedulerUpdate();
  }

  setSorryServer(address: string | undefined): void {
    if (this.sorry?.address === address) return;
    this.sorry = address ? new RealServer({ address, weight: 1, forward: "nat", upperThreshold: 0, lowerThreshold: 0, adminState: "active" }, -1, this.env.now()) : undefined;
  }

  makeScheduler(): Scheduler {
    return createScheduler(this.spec.scheduler, { flags: this.spec.schedulerFlags, now: this.env.now, random: this.env.random });
  }

  /** The service's scheduler instance, told of every change before it is used. */
  get scheduler(): Scheduler {
    if (this.stale) {
      this.stale = false;
      this.current.update(this.realServers);
    }
    return this.current;
  }

  /** A new scheduler (ipvsadm -E -s): it is given the real servers before its first use. */
  set scheduler(s: Scheduler) {
    this.current = s;
    this.stale = true;
  }

  /** Tells the scheduler the list, a weight or an availability changed (add/del/upd_dest). */
  schedulerUpdate(): void {
    if (this.spec.engine === "kernel") this.stale = true;
    else this.current.update(this.realServers);
    this.checkQuorum();
    this.env.onUpdate?.(this);
  }

  /** Recomputes the available weight and the quorum state (keepalived check_quorum / update_quorum_state). */
  checkQuorum(): void {
    let total = 0;
    for (const rs of this.realServers) if (rs.available) total += rs.weight;
    this.availableWeight = total;
    const q = this.spec.quorum;
    let up = true;
    if (q) up = this.quorumUp ? total >= q.minWeight - q.hysteresis : total >= q.minWeight + q.hysteresis;
    if (up !== this.quorumUp) {
      this.quorumUp = up;
      this.env.onQuorum?.(this, up, total);
    }
  }

  addRealServer(spec: RealServerSpec, notify = true): RealServer {
    const now = this.env.now();
    this.emptyTrash(now);
    const old = this.trash.get(spec.address);
    let rs: RealServer;
    if (old) {
      this.trash.delete(spec.address);
      rs = old.rs;
      rs.revive(spec, this.realServers.length, now);
    } else rs = new RealServer(spec, this.realServers.length, now);
    this.realServers.push(rs);
    this.byAddress.set(rs.address, rs);
    if (notify) this.schedulerUpdate();
    return rs;
  }

  removeRealServer(rs: RealServer): void {
    this.realServers = this.realServers.filter((r) => r !== rs);
    this.realServers.forEach((r, i) => {
      r.index = i;
    });
    this.byAddress.delete(rs.address);
    rs.removed = true;
    rs.refresh();
    const now = this.env.now();
    this.emptyTrash(now);
    this.trash.set(rs.address, { rs, removedAt: now });
    this.schedulerUpdate();
  }

  /** ip_vs_dest_trash_expire: frees the removed real servers nothing referenced for DEST_TRASH_PERIOD_MS. */
  private emptyTrash(now: number): void {
    for (const [address, { rs, removedAt }] of this.trash)
      if (rs.activeConns + rs.inactiveConns === 0 && now - Math.max(removedAt, rs.idleSince) >= DEST_TRASH_PERIOD_MS) this.trash.delete(address);
  }

  /** A removed real server still in the trash (tests). */
  inTrash(address: string): boolean {
    this.emptyTrash(this.env.now());
    return this.trash.has(address);
  }

  /** The spec as it would be saved: service fields plus each real server's current spec. */
  toSpec(): VirtualServiceSpec {
    return { ...this.spec, realServers: this.realServers.map((r) => r.spec) };
  }

  status(now: number): VirtualServiceStatus {
    const s: VirtualServiceStatus = {
      protocol: this.spec.protocol,
      address: this.address,
      scheduler: this.spec.scheduler,
      schedulerFlags: this.spec.schedulerFlags,
      onePacket: this.spec.onePacket,
      proxyProtocol: this.spec.proxyProtocol,
      engine: this.spec.engine,
      realServers: this.realServers.map((r) => r.status(now)),
      stats: this.counters.shown(),
      rates: this.counters.rates(),
      quorumUp: this.quorumUp,
      availableWeight: this.availableWeight,
    };
    if (this.sorry) s.sorryServer = this.sorry.status(now);
    if (this.spec.name !== undefined) s.name = this.spec.name;
    if (this.spec.persistence) s.persistence = this.spec.persistence;
    return s;
  }
}
