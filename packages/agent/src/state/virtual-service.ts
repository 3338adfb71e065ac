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
    this.schedulerUpdate();
  }

  makeScheduler(): Scheduler {
    return createScheduler(this.spec.scheduler, { flags: this.spec.schedulerFlags, now: this.env.now, random: this.env.random });
  }

  /** Tells the scheduler the list, a weight or an availability changed (add/del/upd_dest). */
  schedulerUpdate(): void {
    this.scheduler.update(this.realServers);
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
      stats: { ...this.counters.stats },
      rates: this.counters.rates(),
    };
    if (this.spec.name !== undefined) s.name = this.spec.name;
    if (this.spec.persistence) s.persistence = this.spec.persistence;
    return s;
  }
}
