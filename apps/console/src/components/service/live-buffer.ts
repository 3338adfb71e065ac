/**
 * The live points the charts append after their history: per frame the service's totals and the values of the
 * real servers being charted (the top 8 by load at the time), nothing for the other 992. Frames of a stale agent
 * are not recorded, so an outage is a gap, not a flat line. One hour of points at most (the 24 h chart re-reads
 * its history every few minutes, so it never needs more).
 */
import type { RealServerRow, ServiceFrame } from "./model";

/** activeConns, inactiveConns, cps, inBps, outBps. */
export type Values = [number, number, number, number, number];

export interface LivePoint {
  t: number;
  total: Values;
  rs: Map<string, Values>;
}

const KEEP = 3600;

export class LiveBuffer {
  readonly points: LivePoint[] = [];

  push(f: ServiceFrame, rows: RealServerRow[], members: readonly string[]): boolean {
    if (f.stale) return false;
    const last = this.points[this.points.length - 1];
    if (last && f.t < last.t) return false;
    const want = new Set(members);
    const rs = new Map<string, Values>();
    for (const r of rows) if (want.has(r.rs.address)) rs.set(r.rs.address, [r.activeConns, r.inactiveConns, r.cps, r.inBps, r.outBps]);
    const p: LivePoint = { t: f.t, total: [f.totals.activeConns, f.totals.inactiveConns, f.totals.cps, f.totals.inBps, f.totals.outBps], rs };
    if (last && last.t === f.t) this.points[this.points.length - 1] = p;
    else this.points.push(p);
    if (this.points.length > KEEP) this.points.splice(0, this.points.length - KEEP);
    return true;
  }
}
