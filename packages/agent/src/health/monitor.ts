/**
 * The health monitor: one probe per real server that has a check (its own, or its service's), each on its own
 * timer, turning outcomes into state with rise/fall hysteresis (keepalived, HAProxy) and reporting only
 * changes (edge-triggered, as Seesaw's healthchecker does): the service table is never polled by a scheduler.
 *
 *  - The first check runs after a random share of the interval (warm-up jitter), so a thousand checks added
 *    at once do not fire in the same millisecond; later checks keep that phase.
 *  - After a failure the next check comes after `retryDelay` if set (keepalived delay_before_retry).
 *  - A probe starts `up` or `down` (`startState`, keepalived alpha = down).
 *  - Every outcome is kept in a bounded history (HISTORY results) for the console.
 * A probe whose real server, target or check spec is unchanged survives a reconcile (its state too).
 */
import type { HealthCheck, HealthResult, HealthStatus } from "@director/model";
import type { Logger } from "pino";
import { createChecker } from "./checkers.js";
import type { CheckOutcome, CheckTarget, Checker } from "./types.js";

export const HISTORY = 64;

export interface ProbeSubject {
  /** Unique per (service, real server). */
  key: string;
  target: CheckTarget;
  spec: HealthCheck;
}

export interface HealthChange {
  key: string;
  up: boolean;
  outcome: CheckOutcome;
  status: HealthStatus;
}

export interface MonitorOptions {
  now: () => number;
  random: () => number;
  log: Logger;
  /** The state changed (edge). */
  onChange: (change: HealthChange) => void;
  /** Every outcome (for weights and admin requests from agent-checks, which apply while up). */
  onOutcome?: (key: string, outcome: CheckOutcome) => void;
  /** Scheduling lateness of each check in ms (for the benchmark). */
  onLateness?: (ms: number) => void;
}

class Probe {
  state: "up" | "down";
  streak = 0;
  since: number;
  lastCheckAt = 0;
  last: CheckOutcome | undefined;
  readonly history: HealthResult[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: AbortController | undefined;
  private stopped = false;
  private readonly checker: Checker;
  private readonly specJson: string;

  constructor(
    readonly subject: ProbeSubject,
    private readonly m: MonitorOptions,
  ) {
    this.checker = createChecker(subject.spec);
    this.state = subject.spec.startState;
    this.since = m.now();
    this.specJson = JSON.stringify(subject.spec);
  }

  sameAs(s: ProbeSubject): boolean {
    return s.target.host === this.subject.target.host && s.target.port === this.subject.target.port && JSON.stringify(s.spec) === this.specJson;
  }

  start(): void {
    this.arm(this.m.random() * this.subject.spec.interval * 1000);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.running?.abort();
  }

  private arm(delayMs: number): void {
    if (this.stopped) return;
    const due = performance.now() + delayMs;
    this.timer = setTimeout(() => {
      this.m.onLateness?.(performance.now() - due);
      void this.check();
    }, delayMs);
  }

  private async check(): Promise<void> {
    const spec = this.subject.spec;
    const ac = new AbortController();
    this.running = ac;
    const timer = setTimeout(() => ac.abort(), spec.timeout * 1000);
    let outcome: CheckOutcome;
    try {
      outcome = await this.checker(this.subject.target, ac.signal);
    } catch (e) {
      outcome = { ok: false, reason: `check failed: ${(e as Error).message}`, latencyMs: 0 };
    } finally {
      clearTimeout(timer);
    }
    if (this.stopped) return;
    this.record(outcome);
    const next = !outcome.ok && spec.retryDelay !== undefined ? spec.retryDelay : spec.interval;
    this.arm(next * 1000);
  }

  /** Applies one outcome with rise/fall hysteresis. Exposed for tests through the monitor. */
  record(outcome: CheckOutcome): void {
    const now = this.m.now();
    this.lastCheckAt = now;
    this.last = outcome;
    this.history.push({ at: now, ok: outcome.ok, reason: outcome.reason, latencyMs: Math.round(outcome.latencyMs) });
    if (this.history.length > HISTORY) this.history.shift();
    const spec = this.subject.spec;
    if (this.state === "up") {
      this.streak = outcome.ok ? 0 : this.streak + 1;
      if (this.streak >= spec.fall) this.flip("down", outcome, now);
    } else {
      this.streak = outcome.ok ? this.streak + 1 : 0;
      if (this.streak >= spec.rise) this.flip("up", outcome, now);
    }
    this.m.onOutcome?.(this.subject.key, outcome);
  }

  private flip(to: "up" | "down", outcome: CheckOutcome, now: number): void {
    this.state = to;
    this.streak = 0;
    this.since = now;
    this.m.onChange({ key: this.subject.key, up: to === "up", outcome, status: this.status() });
  }

  status(): HealthStatus {
    return {
      state: this.state,
      check: this.subject.spec.type,
      reason: this.last?.reason ?? (this.state === "up" ? "not checked yet (starts up)" : "not checked yet (starts down)"),
      latencyMs: Math.round(this.last?.latencyMs ?? 0),
      since: this.since,
      lastCheckAt: this.lastCheckAt,
      streak: this.streak,
    };
  }
}

export class HealthMonitor {
  private readonly probes = new Map<string, Probe>();

  constructor(private readonly opts: MonitorOptions) {}

  /**
   * Makes the running probes match the subjects: new ones start, removed ones stop, changed ones restart
   * (from their start state). Returns the keys whose probe is new, with its initial state.
   */
  sync(subjects: readonly ProbeSubject[]): Map<string, "up" | "down"> {
    const started = new Map<string, "up" | "down">();
    const wanted = new Map(subjects.map((s) => [s.key, s]));
    for (const [key, p] of this.probes) {
      const s = wanted.get(key);
      if (!s || !p.sameAs(s)) {
        p.stop();
        this.probes.delete(key);
      }
    }
    for (const s of subjects) {
      if (this.probes.has(s.key)) continue;
      const p = new Probe(s, this.opts);
      this.probes.set(s.key, p);
      started.set(s.key, p.state);
      p.start();
    }
    return started;
  }

  status(key: string): HealthStatus | undefined {
    return this.probes.get(key)?.status();
  }

  history(key: string): HealthResult[] {
    return [...(this.probes.get(key)?.history ?? [])];
  }

  get size(): number {
    return this.probes.size;
  }

  stop(): void {
    for (const p of this.probes.values()) p.stop();
    this.probes.clear();
  }
}
