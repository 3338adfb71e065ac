/**
 * Counters and the rate estimator, after net/netfilter/ipvs/ip_vs_est.c.
 *
 * The kernel samples every 2 seconds and keeps an exponentially weighted moving average with weight 1/4,
 * in fixed point: conns and packets scaled by 2^10, bytes by 2^5. Each tick:
 *   rate = delta << (scale - 1)          (delta over 2 s → per second, scaled)
 *   avg += (rate - avg) >> 2
 * and reading rounds: (avg + 2^(scale-1) - 1) >> scale. We keep the same arithmetic (as doubles holding
 * integers, with Math.floor for the arithmetic shift) so rates read like `ipvsadm --rate`.
 */
import type { Rates, Stats } from "@director/model";

export const ESTIMATOR_TICK_MS = 2000;

export function emptyStats(): Stats {
  return { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 };
}

export function emptyRates(): Rates {
  return { cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };
}

const CONN_SCALE = 10;
const BYTE_SCALE = 5;

/**
 * Counters of one service or real server, and their estimator. `stats` only ever grows (Prometheus counters
 * must be monotonic); `ipvsadm -Z` zeroes what `shown()` reports by moving a base, as the kernel zeroes its
 * copy, and restarts the estimator.
 */
export class Counters {
  readonly stats: Stats = emptyStats();
  private base: Stats = emptyStats();
  /** Last sampled totals, to take deltas from. */
  private last: Stats = emptyStats();
  /** Scaled averages. */
  private avg = { cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };

  /** One estimator tick (call every 2 s). */
  tick(): void {
    const s = this.stats;
    const l = this.last;
    this.avg.cps = ewma(this.avg.cps, s.conns - l.conns, CONN_SCALE);
    this.avg.inPps = ewma(this.avg.inPps, s.inPkts - l.inPkts, CONN_SCALE);
    this.avg.outPps = ewma(this.avg.outPps, s.outPkts - l.outPkts, CONN_SCALE);
    this.avg.inBps = ewma(this.avg.inBps, s.inBytes - l.inBytes, BYTE_SCALE);
    this.avg.outBps = ewma(this.avg.outBps, s.outBytes - l.outBytes, BYTE_SCALE);
    this.last = { ...s };
  }

  rates(): Rates {
    return {
      cps: read(this.avg.cps, CONN_SCALE),
      inPps: read(this.avg.inPps, CONN_SCALE),
      outPps: read(this.avg.outPps, CONN_SCALE),
      inBps: read(this.avg.inBps, BYTE_SCALE),
      outBps: read(this.avg.outBps, BYTE_SCALE),
    };
  }

  /** Totals since start or the last zero. */
  shown(): Stats {
    const s = this.stats;
    const b = this.base;
    return { conns: s.conns - b.conns, inPkts: s.inPkts - b.inPkts, outPkts: s.outPkts - b.outPkts, inBytes: s.inBytes - b.inBytes, outBytes: s.outBytes - b.outBytes };
  }

  /** ipvsadm -Z: shown totals and the estimator restart from zero. */
  zero(): void {
    this.base = { ...this.stats };
    this.last = { ...this.stats };
    this.avg = { cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };
  }
}

function ewma(avg: number, delta: number, scale: number): number {
  const rate = delta * 2 ** (scale - 1);
  return avg + Math.floor((rate - avg) / 4);
}

function read(avg: number, scale: number): number {
  return Math.max(0, Math.floor((avg + 2 ** (scale - 1) - 1) / 2 ** scale));
}
