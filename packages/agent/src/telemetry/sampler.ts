/**
 * Samples and history: once a second the sampler reads every virtual service and real server (connections,
 * per-second rates from counter deltas, weights, states, health), publishes the sample to live streams, and
 * appends it to bounded history: 1 s resolution for the last hour, 1 min averages for the last 24 h.
 *
 * Memory is bounded by construction: one shared timeline of timestamps, and per series (a service or a real
 * server) five Float32 fields in two fixed rings (3,600 + 1,440 points) ≈ 100 KB per series. A series whose
 * service or real server is gone is dropped. Time is injected (`now`), so hours can be simulated in tests.
 */
import { EventEmitter } from "node:events";
import type { AdminState } from "@director/model";
import type { ServiceTable } from "../state/service-table.js";

export interface RealServerSample {
  address: string;
  activeConns: number;
  inactiveConns: number;
  /** Per second over the last second. */
  cps: number;
  inBps: number;
  outBps: number;
  weight: number;
  effectiveWeight: number;
  adminState: AdminState;
  available: boolean;
  health?: "up" | "down";
}

export interface ServiceSample {
  key: string;
  activeConns: number;
  inactiveConns: number;
  cps: number;
  inBps: number;
  outBps: number;
  quorumUp: boolean;
  realServers: RealServerSample[];
}

export interface Sample {
  /** ms since the epoch, whole second. */
  t: number;
  services: ServiceSample[];
}

export const FIELDS = ["activeConns", "inactiveConns", "cps", "inBps", "outBps"] as const;
export type Field = (typeof FIELDS)[number];
const F = FIELDS.length;
export const SECONDS = 3600;
export const MINUTES = 1440;

class Series {
  readonly sec = new Float32Array(SECONDS * F).fill(Number.NaN);
  readonly min = new Float32Array(MINUTES * F).fill(Number.NaN);
  /** Running sums for the current minute. */
  readonly acc = new Float64Array(F);
  accN = 0;
  seen = true;
}

export interface HistoryResult {
  resolution: "1s" | "1m";
  t: number[];
  series: Record<Field, (number | null)[]>;
}

export class Sampler {
  readonly emitter = new EventEmitter();
  private readonly series = new Map<string, Series>();
  private readonly secT = new Float64Array(SECONDS).fill(Number.NaN);
  private readonly minT = new Float64Array(MINUTES).fill(Number.NaN);
  private secHead = 0;
  private minHead = 0;
  private currentMinute = -1;
  /** Last raw counter totals per series, for per-second deltas. */
  private readonly prev = new Map<string, { t: number; conns: number; inBytes: number; outBytes: number }>();
  /** The last samples, for streams that resume. */
  private readonly recent: Sample[] = [];
  static readonly RECENT = 60;

  constructor(
    private readonly services: ServiceTable,
    private readonly now: () => number,
  ) {
    this.emitter.setMaxListeners(0);
  }

  /** Takes one sample (call once a second). */
  tick(): Sample {
    const t = Math.floor(this.now() / 1000) * 1000;
    this.services.table.accountAll();
    for (const s of this.series.values()) s.seen = false;
    const services: ServiceSample[] = [];
    for (const vs of this.services.services.values()) {
      const realServers: RealServerSample[] = [];
      let active = 0;
      let inactive = 0;
      for (const rs of vs.realServers) {
        const key = `${vs.key}|${rs.address}`;
        const r = this.rates(key, t, rs.counters.stats);
        const sample: RealServerSample = {
          address: rs.address,
          activeConns: rs.activeConns,
          inactiveConns: rs.inactiveConns,
          ...r,
          weight: rs.spec.weight,
          effectiveWeight: rs.weight,
          adminState: rs.spec.adminState,
          available: rs.available,
        };
        if (rs.health) sample.health = rs.health.state;
        realServers.push(sample);
        active += rs.activeConns;
        inactive += rs.inactiveConns;
        this.record(key, [rs.activeConns, rs.inactiveConns, r.cps, r.inBps, r.outBps]);
      }
      const r = this.rates(vs.key, t, vs.counters.stats);
      services.push({ key: vs.key, activeConns: active, inactiveConns: inactive, ...r, quorumUp: vs.quorumUp, realServers });
      this.record(vs.key, [active, inactive, r.cps, r.inBps, r.outBps]);
    }
    for (const [key, s] of this.series) if (!s.seen) this.series.delete(key);
    for (const key of this.prev.keys()) if (!this.series.has(key)) this.prev.delete(key);
    this.advance(t);
    const sample: Sample = { t, services };
    this.recent.push(sample);
    if (this.recent.length > Sampler.RECENT) this.recent.shift();
    this.emitter.emit("sample", sample);
    return sample;
  }

  /** Samples newer than t (ms), oldest first (for a stream that resumes). */
  since(t: number): Sample[] {
    return this.recent.filter((s) => s.t > t);
  }

  private rates(key: string, t: number, s: { conns: number; inBytes: number; outBytes: number }) {
    const p = this.prev.get(key);
    this.prev.set(key, { t, conns: s.conns, inBytes: s.inBytes, outBytes: s.outBytes });
    if (!p || t <= p.t) return { cps: 0, inBps: 0, outBps: 0 };
    const dt = (t - p.t) / 1000;
    return { cps: (s.conns - p.conns) / dt, inBps: (s.inBytes - p.inBytes) / dt, outBps: (s.outBytes - p.outBytes) / dt };
  }

  /** Pending values are written at the current heads; advance() moves the heads. */
  private pending = new Map<string, number[]>();

  private record(key: string, values: number[]): void {
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = new Series()));
    s.seen = true;
    this.pending.set(key, values);
  }

  private advance(t: number): void {
    const minute = Math.floor(t / 60_000);
    if (this.currentMinute !== -1 && minute !== this.currentMinute) this.closeMinute();
    this.currentMinute = minute;
    this.secT[this.secHead] = t;
    for (const [key, s] of this.series) {
      const v = this.pending.get(key);
      for (let f = 0; f < F; f++) {
        const x = v ? v[f]! : Number.NaN;
        s.sec[this.secHead * F + f] = x;
        if (v) s.acc[f]! += x;
      }
      if (v) s.accN++;
    }
    this.pending.clear();
    this.secHead = (this.secHead + 1) % SECONDS;
  }

  private closeMinute(): void {
    this.minT[this.minHead] = this.currentMinute * 60_000;
    for (const s of this.series.values()) {
      for (let f = 0; f < F; f++) {
        s.min[this.minHead * F + f] = s.accN ? s.acc[f]! / s.accN : Number.NaN;
        s.acc[f] = 0;
      }
      s.accN = 0;
    }
    this.minHead = (this.minHead + 1) % MINUTES;
  }

  /** History of a series between from and to (ms). 1 s points for a range inside the last hour, else 1 min. */
  history(key: string, from: number, to: number, resolution?: "1s" | "1m"): HistoryResult | undefined {
    const s = this.series.get(key);
    if (!s) return undefined;
    const res = resolution ?? (from >= this.now() - SECONDS * 1000 ? "1s" : "1m");
    const [times, data, n, head] = res === "1s" ? [this.secT, s.sec, SECONDS, this.secHead] : [this.minT, s.min, MINUTES, this.minHead];
    const out: HistoryResult = { resolution: res, t: [], series: Object.fromEntries(FIELDS.map((f) => [f, []])) as unknown as HistoryResult["series"] };
    for (let i = 0; i < n; i++) {
      const idx = (head + i) % n;
      const t = times[idx]!;
      if (Number.isNaN(t) || t < from || t > to) continue;
      out.t.push(t);
      FIELDS.forEach((f, k) => {
        const v = data[idx * F + k]!;
        out.series[f].push(Number.isNaN(v) ? null : v);
      });
    }
    return out;
  }

  get seriesCount(): number {
    return this.series.size;
  }

  /** Bytes held by history arrays (for the boundedness test and the README). */
  historyBytes(): number {
    let b = this.secT.byteLength + this.minT.byteLength;
    for (const s of this.series.values()) b += s.sec.byteLength + s.min.byteLength + s.acc.byteLength;
    return b;
  }
}
