/**
 * The service table: the running virtual services and real servers, reconciled to a desired configuration
 * as a diff (only real changes reach the engine: an unchanged listener and its connections are untouched).
 *
 * Order of a reconcile, so that a failure changes nothing:
 *   1. every new service the engine refuses (DR/TUN on the userspace engine…) → error, nothing applied;
 *   2. new listeners are opened; if one cannot bind, the ones just opened are closed → error, nothing applied;
 *   3. the rest cannot fail: services edited, real servers added/edited/removed, admin states, timeouts;
 *   4. removed services stop listening.
 *
 * Admin state semantics (see real-server.ts): draining = weight 0; maintenance = unavailable, with an optional
 * deadline at which remaining connections are closed; a drain may move to maintenance by itself when its
 * real server has no live connection left (thenMaintenance) or at a deadline.
 * Removing a real server follows expire_nodest_conn: off (default) lets its connections finish, on closes them.
 */
import { AgentConfig, type Op, type RealServerSpec, type VirtualServiceSpec } from "@director/model";
import { serviceKey } from "@director/model";
import type { Logger } from "pino";
import { ConnectionTable } from "../conn/connection.js";
import { TemplateTable } from "../conn/persistence.js";
import type { Engine, EngineContext } from "../engine/types.js";
import { KernelEngine } from "../engine/kernel/index.js";
import { UserspaceEngine } from "../engine/userspace/index.js";
import { FeedbackPoller } from "../health/feedback.js";
import { type HealthChange, HealthMonitor, type ProbeSubject } from "../health/monitor.js";
import type { CheckOutcome } from "../health/types.js";
import type { EventBus } from "../telemetry/events.js";
import { applyOps, setAdminState } from "./apply-ops.js";
import { diffConfigs, type PlanItem } from "./plan.js";
import type { RealServer } from "./real-server.js";
import { VirtualService } from "./virtual-service.js";

export interface ServiceTableOptions {
  log: Logger;
  events: EventBus;
  now?: () => number;
  random?: () => number;
  /** Listening sockets inherited from the previous process (seamless upgrade). */
  inherited?: Map<string, number>;
  /** Called after every successful change with the new desired configuration (persist it). */
  onChange?: (config: AgentConfig) => void;
}

export type ChangeResult = { ok: true; summary: string[]; version: number } | { ok: false; errors: string[]; conflict?: boolean };

export class ServiceTable {
  config: AgentConfig;
  /** Desired-state version: +1 for every applied change, so two administrators cannot overwrite each other. */
  version = 0;
  readonly services = new Map<string, VirtualService>();
  readonly table: ConnectionTable;
  readonly templates: TemplateTable;
  readonly engine: UserspaceEngine;
  readonly kernel: KernelEngine;
  readonly health: HealthMonitor;
  readonly now: () => number;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly events: EventBus;
  /** Set by stopAccepting(): no more changes, probes or deadlines (the process is draining or handed over). */
  private stopped = false;
  /** Serialises changes: one reconcile at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ServiceTableOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.log = opts.log;
    this.events = opts.events;
    this.config = emptyConfig();
    this.table = new ConnectionTable({
      now: this.now,
      lingerSeconds: () => this.config.timeouts.tcpFin,
      onIdle: (rs) => this.onIdle(rs),
      onConnectTimeout: (c) => this.onConnectFailed(c.service, c.realServer, "connect timeout"),
    });
    this.templates = new TemplateTable(this.now, () => this.config.sysctl.expireQuiescentTemplate);
    const ctx: EngineContext = {
      table: this.table,
      templates: this.templates,
      now: this.now,
      timeouts: () => this.config.timeouts,
      log: this.log,
      onConnectFailed: (vs, rs, error) => this.onConnectFailed(vs, rs, error),
      ...(opts.inherited ? { inherited: opts.inherited } : {}),
    };
    this.engine = new UserspaceEngine(ctx);
    this.kernel = new KernelEngine(ctx);
    this.health = new HealthMonitor({
      now: this.now,
      random: this.random,
      log: this.log,
      onChange: (c) => this.onHealthChange(c),
      onOutcome: (key, o) => this.onHealthOutcome(key, o),
    });
  }

  private engineFor(spec: { engine: VirtualServiceSpec["engine"] }): Engine {
    return spec.engine === "kernel" ? this.kernel : this.engine;
  }

  /**
   * Applies a batch of changes atomically. With `baseVersion`, the batch is refused if the desired state moved
   * on since that version (optimistic concurrency).
   */
  change(ops: readonly Op[], source: "api" | "agent" = "api", baseVersion?: number): Promise<ChangeResult> {
    return this.serialise(async (): Promise<ChangeResult> => {
      if (this.stopped) return { ok: false, errors: ["the agent is shutting down: no more changes"] };
      if (baseVersion !== undefined && baseVersion !== this.version)
        return { ok: false, conflict: true, errors: [`the configuration changed since version ${baseVersion} (now ${this.version}): re-read it and retry`] };
      const r = applyOps(this.config, ops, this.now());
      if (!r.ok) return r;
      const applied = await this.reconcile(r.config);
      if (!applied.ok) return applied;
      this.events.emit("config.applied", { source, ops: ops.length, summary: r.summary });
      return { ok: true, summary: r.summary, version: this.version };
    });
  }

  /** What a batch would change, without applying it (errors as change() would report them). */
  plan(ops: readonly Op[]): { ok: true; version: number; changes: PlanItem[] } | { ok: false; errors: string[] } {
    const r = applyOps(this.config, ops, this.now());
    if (!r.ok) return r;
    const refused = r.config.virtualServices.map((s) => this.engineFor(s).refuse(s)).filter((x): x is string => x !== null);
    if (refused.length) return { ok: false, errors: refused };
    return { ok: true, version: this.version, changes: diffConfigs(this.config, r.config) };
  }

  /**
   * Replaces the desired configuration (start, SIGHUP reload, restore). `config` may be a function of the running
   * configuration, evaluated in turn with other changes, so a change queued just before is not lost.
   */
  replace(config: AgentConfig | ((current: AgentConfig) => AgentConfig), source: "start" | "reload"): Promise<ChangeResult> {
    return this.serialise(async () => {
      if (this.stopped) return { ok: false as const, errors: ["the agent is shutting down: no more changes"] };
      const applied = await this.reconcile(typeof config === "function" ? config(this.config) : config);
      if (!applied.ok) return applied;
      this.events.emit("config.applied", { source, ops: 0, summary: applied.summary });
      return applied;
    });
  }

  private serialise<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => {});
    return p;
  }

  private async reconcile(next: AgentConfig): Promise<ChangeResult> {
    const summary: string[] = [];
    // 1. refusals
    const errors: string[] = [];
    for (const spec of next.virtualServices) {
      const why = this.engineFor(spec).refuse(spec);
      if (why) errors.push(`${serviceKey(spec)}: ${why}`);
      const running = this.services.get(serviceKey(spec));
      if (running && running.spec.engine !== spec.engine)
        errors.push(`${serviceKey(spec)}: a service cannot change engine while it runs: delete it and add it again`);
    }
    if (errors.length) return { ok: false, errors };

    // 2. new listeners (the only step that can fail)
    const wanted = new Map(next.virtualServices.map((s) => [serviceKey(s), s]));
    const opened: VirtualService[] = [];
    for (const [key, spec] of wanted) {
      if (this.services.has(key)) continue;
      const vs = new VirtualService(spec, {
        now: this.now,
        random: this.random,
        onQuorum: (v, up, w) => this.onQuorum(v, up, w),
        // Weight, availability or membership changed: engines that keep their own copy (the kernel's ruleset) follow.
        onUpdate: (v) => {
          if (this.services.get(v.key) === v) this.engineFor(v.spec).update(v);
        },
      });
      try {
        await this.engineFor(spec).open(vs);
        opened.push(vs);
      } catch (e) {
        for (const o of opened) await this.engineFor(o.toSpec()).close(o);
        return { ok: false, errors: [(e as Error).message] };
      }
    }

    // 3. the rest cannot fail
    const prev = this.config;
    this.config = next;
    this.version++;
    for (const vs of opened) {
      this.services.set(vs.key, vs);
      for (const rs of vs.realServers) this.watchAdminState(vs, rs, undefined);
      summary.push(`listening on ${vs.key}`);
    }
    for (const [key, spec] of wanted) {
      const vs = this.services.get(key)!;
      if (!opened.includes(vs)) this.reconcileService(vs, spec, summary);
    }
    // 4. removed services
    for (const [key, vs] of [...this.services]) {
      if (wanted.has(key)) continue;
      this.services.delete(key);
      await this.engineFor(vs.toSpec()).close(vs);
      this.templates.removeWhere((t) => t.service === vs);
      for (const rs of vs.realServers) {
        rs.removed = true;
        rs.refresh();
        if (next.sysctl.expireNodestConn) this.closeConnections(vs, rs, "service deleted (expire_nodest_conn)");
      }
      this.table.forgetService(vs);
      summary.push(`stopped ${key}`);
    }
    this.syncHealth();
    if (prev !== next) this.opts.onChange?.(next);
    return { ok: true, summary, version: this.version };
  }

  /** Health probes follow the service table: one per real server with a check (its own or its service's). */
  private readonly probed = new Map<string, { vs: VirtualService; rs: RealServer }>();

  private syncHealth(): void {
    if (this.stopped) return;
    const subjects: ProbeSubject[] = [];
    this.probed.clear();
    for (const vs of this.services.values()) {
      for (const rs of vs.realServers) {
        const spec = rs.spec.healthCheck ?? vs.spec.healthCheck;
        if (!spec) {
          if (rs.health || !rs.healthy || rs.inhibited || rs.healthWeight !== undefined || rs.agentRequest) {
            rs.health = undefined;
            rs.healthy = true;
            rs.inhibited = false;
            rs.healthWeight = undefined;
            rs.agentRequest = undefined;
            if (rs.refresh()) vs.schedulerUpdate();
          }
          continue;
        }
        const key = `${vs.key}|${rs.address}`;
        this.probed.set(key, { vs, rs });
        subjects.push({ key, spec, target: { host: rs.host, port: spec.port ?? rs.port, family: rs.family } });
      }
    }
    this.syncFeedback();
    const started = this.health.sync(subjects);
    for (const [key, state] of started) {
      const hit = this.probed.get(key)!;
      // A new or changed check starts clean: nothing an earlier agent-check reported carries over.
      hit.rs.healthWeight = undefined;
      hit.rs.agentRequest = undefined;
      this.applyHealth(hit.vs, hit.rs, state === "up", key);
    }
  }

  /** Dynamic feedback pollers: one per real server of a service with `feedback`; restarted when it changes. */
  private readonly pollers = new Map<string, { poller: FeedbackPoller; spec: string; rs: RealServer }>();

  private syncFeedback(): void {
    const wanted = new Set<string>();
    for (const vs of this.services.values()) {
      const f = vs.spec.feedback;
      for (const rs of vs.realServers) {
        const key = `${vs.key}|${rs.address}`;
        if (!f) {
          if (rs.feedbackWeight !== undefined) {
            rs.feedbackWeight = undefined;
            rs.feedback = undefined;
            if (rs.refresh()) vs.schedulerUpdate();
          }
          continue;
        }
        wanted.add(key);
        const spec = JSON.stringify(f);
        const have = this.pollers.get(key);
        if (have && have.spec === spec && have.rs === rs) continue;
        have?.poller.stop();
        const poller = new FeedbackPoller(
          { host: rs.host, port: rs.port, family: rs.family },
          f,
          () => rs.spec.weight,
          (r) => {
            rs.feedback = { ...r, at: this.now() };
            if (r.weight === rs.feedbackWeight) return;
            rs.feedbackWeight = r.weight;
            if (rs.refresh()) vs.schedulerUpdate();
          },
          this.random,
        );
        this.pollers.set(key, { poller, spec, rs });
      }
    }
    for (const [key, p] of this.pollers) {
      if (wanted.has(key)) continue;
      p.poller.stop();
      this.pollers.delete(key);
    }
  }

  private applyHealth(vs: VirtualService, rs: RealServer, up: boolean, key: string, recovered = false): void {
    const spec = rs.spec.healthCheck ?? vs.spec.healthCheck;
    const inhibit = spec?.onFailure === "inhibit";
    if (recovered) this.startSlowStart(vs, rs);
    rs.healthy = up || inhibit;
    rs.inhibited = !up && inhibit;
    if (!up) {
      rs.healthWeight = undefined;
      rs.agentRequest = undefined;
    }
    rs.health = this.health.status(key);
    if (rs.refresh()) vs.schedulerUpdate();
  }

  private onHealthChange(c: HealthChange): void {
    const hit = this.probed.get(c.key);
    if (!hit) return;
    const { vs, rs } = hit;
    this.applyHealth(vs, rs, c.up, c.key, c.up);
    const from = c.up ? "down" : "up";
    this.events.emit("health.changed", {
      service: vs.key,
      realServer: rs.address,
      from,
      to: c.up ? "up" : "down",
      reason: c.outcome.reason,
      latencyMs: Math.round(c.outcome.latencyMs),
      check: c.status.check,
    });
    if (!c.up && !rs.available && this.config.sysctl.expireNodestConn) this.closeConnections(vs, rs, "real server failed its health check (expire_nodest_conn)");
  }

  /** Weights and admin requests that checks report (exec dynamic, agent-check) apply while the server is up. */
  private onHealthOutcome(key: string, o: CheckOutcome): void {
    const hit = this.probed.get(key);
    if (!hit) return;
    const { vs, rs } = hit;
    rs.health = this.health.status(key);
    if (!o.ok || rs.health?.state !== "up") return;
    let weight = rs.healthWeight;
    if (o.weight !== undefined) weight = Math.max(0, Math.min(65535, o.weight));
    else if (o.weightPercent !== undefined) weight = Math.min(65535, Math.round((rs.spec.weight * o.weightPercent) / 100));
    const request = o.adminRequest === "ready" ? undefined : (o.adminRequest ?? rs.agentRequest);
    if (weight === rs.healthWeight && request === rs.agentRequest) return;
    rs.healthWeight = weight;
    rs.agentRequest = request;
    if (rs.refresh()) vs.schedulerUpdate();
  }

  private reconcileService(vs: VirtualService, spec: VirtualServiceSpec, summary: string[]): void {
    const { realServers, ...fields } = spec;
    const old = vs.spec;
    vs.spec = fields;
    // A new scheduler starts with the destination list (the kernel's init_service on ipvsadm -E -s).
    let schedulerChanged = false;
    if (old.scheduler !== fields.scheduler || old.schedulerFlags.join() !== fields.schedulerFlags.join()) {
      vs.scheduler.done();
      vs.scheduler = vs.makeScheduler();
      schedulerChanged = true;
      summary.push(`${vs.key}: scheduler ${fields.scheduler}`);
    }
    if (old.persistence && !fields.persistence) this.templates.removeWhere((t) => t.service === vs);
    vs.setSorryServer(fields.sorryServer);

    const wanted = new Map(realServers.map((r) => [r.address, r]));
    for (const rs of [...vs.realServers]) {
      if (wanted.has(rs.address)) continue;
      vs.removeRealServer(rs);
      this.templates.removeWhere((t) => t.realServer === rs);
      if (this.config.sysctl.expireNodestConn) this.closeConnections(vs, rs, "real server removed (expire_nodest_conn)");
      summary.push(`${vs.key}: removed ${rs.address}`);
    }
    let listChanged = schedulerChanged;
    const ordered: RealServer[] = [];
    for (const rsSpec of realServers) {
      let rs = vs.byAddress.get(rsSpec.address);
      if (!rs) {
        rs = vs.addRealServer(rsSpec, false);
        listChanged = true;
        this.watchAdminState(vs, rs, undefined);
        summary.push(`${vs.key}: added ${rs.address}`);
      } else if (!sameSpec(rs.spec, rsSpec)) {
        const before = rs.spec;
        rs.spec = rsSpec;
        // __ip_vs_update_dest: a raised (or removed) upper threshold clears the overload flag.
        if (rs.overloaded && (!rsSpec.upperThreshold || rsSpec.upperThreshold > rs.activeConns + rs.inactiveConns)) {
          rs.overloaded = false;
          listChanged = true; // the scheduler's index must see it eligible again
        }
        if (rsSpec.weight !== before.weight && rs.feedbackWeight !== undefined) {
          // An administrator's weight wins over dynamic feedback; feedback restarts from it.
          rs.feedbackWeight = undefined;
          rs.feedback = undefined;
          this.pollers.get(`${vs.key}|${rs.address}`)?.poller.stop();
          this.pollers.delete(`${vs.key}|${rs.address}`);
        }
        if (rs.refresh()) listChanged = true;
        this.watchAdminState(vs, rs, before);
      }
      ordered.push(rs);
    }
    if (ordered.some((r, i) => vs.realServers[i] !== r) || ordered.length !== vs.realServers.length) {
      vs.realServers = ordered;
      ordered.forEach((r, i) => {
        r.index = i;
      });
      listChanged = true;
    }
    // Weights may have changed without availability (refresh() reports both); quorum may have changed too.
    if (listChanged) vs.schedulerUpdate();
    else {
      vs.checkQuorum();
      // The kernel engine's ruleset also follows service fields (persistence, re-weighting period): it renders
      // and compares, so an unchanged service costs no batch.
      if (fields.engine === "kernel") this.kernel.update(vs);
    }
  }

  /** Reacts to an admin state change: events, immediate idle check, deadlines are checked by tick(). */
  private watchAdminState(vs: VirtualService, rs: RealServer, before: RealServerSpec | undefined): void {
    const from = before?.adminState ?? "active";
    const to = rs.spec.adminState;
    if (before && from === to && before.adminSince === rs.spec.adminSince) return;
    if (!before && to === "active") return;
    rs.adminSince = rs.spec.adminSince ?? this.now();
    if (from !== to) this.events.emit("adminState.changed", { service: vs.key, realServer: rs.address, from, to, reason: "requested" });
    if (from === "maintenance" && to === "active") {
      this.startSlowStart(vs, rs);
      if (rs.refresh()) vs.schedulerUpdate();
    }
    if (to === "draining" && rs.spec.drain?.thenMaintenance && rs.live.size === 0) this.toMaintenance(vs, rs, "drained: no connections left");
    if (to === "maintenance" && rs.spec.maintenanceDeadlineSeconds === 0) this.closeConnections(vs, rs, "maintenance deadline");
  }

  private onIdle(rs: RealServer): void {
    if (rs.removed || rs.spec.adminState !== "draining" || !rs.spec.drain?.thenMaintenance) return;
    const vs = this.serviceOf(rs);
    if (vs) this.toMaintenance(vs, rs, "drained: no connections left");
  }

  private toMaintenance(vs: VirtualService, rs: RealServer, reason: string): void {
    this.log.info({ service: vs.key, realServer: rs.address, reason }, "drain complete, entering maintenance");
    void this.change([{ op: "realServer.setAdminState", key: { protocol: vs.spec.protocol, address: vs.address }, address: rs.address, state: "maintenance" }], "agent");
  }

  closeConnections(vs: VirtualService, rs: RealServer, reason: string): void {
    const count = this.table.closeAll(rs, reason);
    if (count > 0) {
      this.events.emit("connections.closed", { service: vs.key, realServer: rs.address, count, reason });
      this.log.info({ service: vs.key, realServer: rs.address, count, reason }, "closed connections");
    }
  }

  private serviceOf(rs: RealServer): VirtualService | undefined {
    for (const vs of this.services.values()) if (vs.byAddress.get(rs.address) === rs) return vs;
    return undefined;
  }

  /** Slow start (HAProxy slowstart): the weight ramps from 0 to the configured weight over slowStartSeconds. */
  private startSlowStart(vs: VirtualService, rs: RealServer): void {
    const secs = vs.spec.slowStartSeconds;
    if (!secs) return;
    rs.slowStartUntil = this.now() + secs * 1000;
    rs.ramp = 0;
  }

  private stepSlowStart(vs: VirtualService, rs: RealServer, now: number): void {
    const secs = vs.spec.slowStartSeconds;
    const ramp = now >= rs.slowStartUntil || !secs ? undefined : 1 - (rs.slowStartUntil - now) / (secs * 1000);
    rs.ramp = ramp;
    if (rs.refresh()) vs.schedulerUpdate();
  }

  /** Passive health (outlier ejection): consecutive connect failures on real traffic eject a real server. */
  private onConnectFailed(vs: VirtualService, rs: RealServer, error: string): void {
    this.log.warn({ service: vs.key, realServer: rs.address, error }, "real server connect failed");
    const p = vs.spec.passiveHealth;
    if (!p || rs.index < 0 || rs.ejected) return;
    rs.failStreak++;
    if (rs.failStreak < p.consecutiveFailures) return;
    const pool = vs.realServers.length;
    const ejected = vs.realServers.filter((r) => r.ejected).length;
    const othersAvailable = vs.realServers.some((r) => r !== rs && r.available && r.weight > 0);
    if (!othersAvailable || (ejected + 1) * 100 > pool * p.maxEjectionPercent) {
      this.log.warn({ service: vs.key, realServer: rs.address }, "passive health: not ejecting (last available server or ejection limit)");
      return;
    }
    rs.ejections++;
    const seconds = Math.min(p.baseEjectionSeconds * rs.ejections, p.maxEjectionSeconds);
    rs.ejected = true;
    rs.ejectedUntil = this.now() + seconds * 1000;
    rs.failStreak = 0;
    if (rs.refresh()) vs.schedulerUpdate();
    this.events.emit("realServer.ejected", { service: vs.key, realServer: rs.address, seconds, reason: `${p.consecutiveFailures} consecutive connection failures: ${error}` });
  }

  private onQuorum(vs: VirtualService, up: boolean, availableWeight: number): void {
    const q = vs.spec.quorum;
    this.events.emit(up ? "quorum.regained" : "quorum.lost", { service: vs.key, availableWeight, quorum: q?.minWeight ?? 0, sorryServer: vs.sorry?.address });
    this.log.warn({ service: vs.key, availableWeight, quorum: q?.minWeight }, up ? "quorum regained" : "quorum lost: sorry server takes new connections");
  }

  /** Housekeeping, once a second: expiries and admin deadlines. */
  tick(): void {
    const now = this.now();
    if (this.stopped) {
      // Draining: connections still expire, but no admin deadline or slow start changes anything.
      this.table.expire(now);
      this.table.sweepIdle(now, this.config.timeouts);
      this.templates.expire(now);
      this.engine.expire(now);
      return;
    }
    this.table.expire(now);
    this.table.sweepIdle(now, this.config.timeouts);
    this.templates.expire(now);
    this.engine.expire(now);
    for (const vs of this.services.values()) {
      for (const rs of vs.realServers) {
        if (rs.ramp !== undefined) this.stepSlowStart(vs, rs, now);
        if (rs.ejected && now >= rs.ejectedUntil) {
          rs.ejected = false;
          if (rs.refresh()) vs.schedulerUpdate();
          this.events.emit("realServer.returned", { service: vs.key, realServer: rs.address });
        } else if (!rs.ejected && rs.ejections > 0 && now >= rs.ejectedUntil + (vs.spec.passiveHealth?.maxEjectionSeconds ?? 300) * 1000) {
          rs.ejections = 0; // healthy for a while: the back-off starts over
        }
        const s = rs.spec;
        if (s.adminState === "draining" && s.drain?.deadlineSeconds !== undefined && now >= rs.adminSince + s.drain.deadlineSeconds * 1000) {
          this.toMaintenance(vs, rs, "drain deadline reached");
        } else if (
          s.adminState === "maintenance" &&
          s.maintenanceDeadlineSeconds !== undefined &&
          rs.live.size > 0 &&
          now >= rs.adminSince + s.maintenanceDeadlineSeconds * 1000
        ) {
          this.closeConnections(vs, rs, "maintenance deadline");
        }
      }
    }
  }

  /** The estimator, every 2 s. The kernel engine's counters are read first (they land for the next tick). */
  estimate(): void {
    void this.kernel.poll();
    this.table.accountAll();
    for (const vs of this.services.values()) {
      vs.counters.tick();
      for (const rs of vs.realServers) rs.counters.tick();
    }
  }

  /** ipvsadm -Z. */
  zero(key?: string): void {
    this.table.accountAll();
    for (const vs of this.services.values()) {
      if (key && vs.key !== key) continue;
      vs.counters.zero();
      for (const rs of vs.realServers) rs.counters.zero();
    }
  }

  /** Stops accepting new connections; existing ones continue. */
  async stopAccepting(): Promise<void> {
    this.stopped = true;
    this.health.stop();
    for (const p of this.pollers.values()) p.poller.stop();
    this.pollers.clear();
    await this.engine.closeAll();
  }

  liveConnections(): number {
    return this.table.live.size;
  }

  closeEverything(reason: string): void {
    for (const vs of this.services.values()) for (const rs of vs.realServers) this.closeConnections(vs, rs, reason);
  }
}

export function emptyConfig(): AgentConfig {
  return AgentConfig.parse({});
}

function sameSpec(a: RealServerSpec, b: RealServerSpec): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export { setAdminState };
