/**
 * A virtual service at run time: its spec, its real servers in configuration order, its scheduler instance
 * (per-service private state, as the kernel's svc->sched_data) and its counters.
 */
import type { RealServerSpec, VirtualServiceSpec, VirtualServiceStatus } from "@director/model";
import { parseEndpoint, serviceKey } from "@director/model";
import { createScheduler } from "../scheduler/registry.js";
import type { Scheduler } from "../scheduler/types.js";
import { Counters } from "../telemetry/estimator.js";
import { RealServer } from "./real-server.js";

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
  scheduler: Scheduler;
  readonly counters = new Counters();
  /** keepalived quorum: false while the available weight is below quorum (with hysteresis). */
  quorumUp = true;
  availableWeight = 0;
  /** Takes new connections while below quorum or with no available real server. */
  sorry: RealServer | undefined;

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
    this.scheduler = this.makeScheduler();
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

  /** Tells the scheduler the list, a weight or an availability changed (add/del/upd_dest). */
  schedulerUpdate(): void {
    this.scheduler.update(this.realServers);
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
    const rs = new RealServer(spec, this.realServers.length, this.env.now());
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
    this.schedulerUpdate();
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
