/**
 * wrr — Weighted Round-Robin (net/netfilter/ipvs/ip_vs_wrr.c).
 *
 * The kernel keeps a mark {cl: last destination, cw: current weight, mw: max weight, di: gcd of weights} and
 * walks the list in passes: a pass returns, one per pick, each destination whose weight is ≥ cw; when a pass
 * reaches the end of the list cw drops by di and the next pass starts at the head; below 1 it wraps to mw.
 * With weights A=4 B=3 C=2 that is A A B A B C A B C. Unlike rr, which only asks "weight > 0", wrr gives each
 * destination weight/di picks per cycle; overloaded destinations are stepped over, weight-0 ones never
 * qualify. Any change to the list or a weight (the add/del/upd_dest hooks, here update()) recomputes di and mw,
 * returns cl to the head and pulls cw back into range, as ip_vs_wrr_dest_changed does.
 *
 * The kernel rescans the list destination by destination, so one pick can cost many passes of n steps (one
 * heavy server among light ones: about mw/di passes per cycle). Here a max-segment-tree over "weight if
 * eligible, else 0" answers "first position after p with weight ≥ cw" in O(log n), and a run of passes that
 * cannot match anything (every eligible weight < cw) is skipped in one step; the skipped passes would only
 * have lowered cw, so cl, cw and the choice are exactly the kernel's, including its last-pass/stop bookkeeping
 * when everything is overloaded (wrr.test.ts checks this against the line-for-line transcription in
 * kernel-reference.ts).
 *
 * Deviation: an unavailable destination (health down, maintenance) counts as removed for di and mw, as it is
 * when a health checker deletes it from the kernel's list.
 */
import { DestList } from "./dest-list.js";
import { gcd } from "./load.js";
import type { Dest, Flow, Scheduler, SchedulerFactory } from "./types.js";
import { isEligible } from "./types.js";

/** Per-position value max tree with "leftmost position ≥ from whose value ≥ x". */
class MaxTree {
  private size = 1;
  private t = new Float64Array(2);

  reset(values: ArrayLike<number>): void {
    let size = 1;
    while (size < values.length) size <<= 1;
    this.size = size;
    this.t = new Float64Array(2 * size);
    for (let i = 0; i < values.length; i++) this.t[size + i] = values[i]!;
    for (let k = size - 1; k >= 1; k--) this.t[k] = Math.max(this.t[2 * k]!, this.t[2 * k + 1]!);
  }

  set(i: number, v: number): void {
    const t = this.t;
    let k = this.size + i;
    if (t[k] === v) return;
    t[k] = v;
    for (k >>= 1; k >= 1; k >>= 1) t[k] = Math.max(t[2 * k]!, t[2 * k + 1]!);
  }

  max(): number {
    return this.t[1]!;
  }

  /** Leftmost position ≥ from with value ≥ x (x ≥ 1; padding leaves are 0), or -1. */
  findFirst(from: number, x: number): number {
    const t = this.t;
    if (from >= this.size) return -1;
    let k = this.size + from;
    if (t[k]! < x) {
      for (;;) {
        // Climb while k is a right child, then step to the right sibling's subtree.
        while (k & 1) {
          k >>= 1;
          if (k === 0) return -1;
        }
        k += 1;
        if (t[k]! >= x) break;
      }
      while (k < this.size) {
        k <<= 1;
        if (t[k]! < x) k += 1;
      }
    }
    return k - this.size;
  }
}

class WeightedRoundRobin implements Scheduler {
  readonly name = "wrr" as const;
  private readonly list = new DestList();
  private readonly tree = new MaxTree();
  /** The kernel's mark: cl (-1 = list head), cw, mw, di. */
  private cl = -1;
  private cw = 0;
  private mw = 0;
  private di = 1;

  update(dests: readonly Dest[]): void {
    this.list.set(dests);
    let g = 0;
    let max = 0;
    const values = new Float64Array(dests.length);
    for (let i = 0; i < dests.length; i++) {
      const d = dests[i]!;
      values[i] = isEligible(d) ? d.weight : 0;
      if (!d.available) continue;
      if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
      if (d.weight > max) max = d.weight;
    }
    this.tree.reset(values);
    // ip_vs_wrr_dest_changed
    this.cl = -1;
    this.di = g || 1;
    this.mw = max - (this.di - 1);
    if (this.cw > this.mw || !this.cw) this.cw = this.mw;
    else if (this.di > 1) this.cw = Math.trunc(this.cw / this.di) * this.di + 1;
  }

  changed(dest: Dest): void {
    const i = this.list.slotOf(dest);
    if (i >= 0) this.tree.set(i, isEligible(dest) ? dest.weight : 0);
  }

  pick(_flow: Flow): Dest | null {
    if (this.mw === 0) return null;
    const last = this.cl;
    const di = this.di;
    let from = last + 1;
    let stop = -1; // a position once set; -1 = none (the kernel's NULL)
    let lastPass = false;
    let restarted = false;
    for (;;) {
      const i = this.tree.findFirst(from, this.cw);
      if (stop >= 0 && (i < 0 || i > stop)) {
        this.cl = stop;
        return null;
      }
      if (i >= 0) {
        this.cl = i;
        return this.list.dests[i]!;
      }
      // The pass reached the list head. Passes from the head that no eligible weight can satisfy only lower
      // cw: take all but the last of them at once (none of them wraps or is a last pass, as cw stays > di).
      from = 0;
      if (stop < 0) {
        const floor = Math.max(this.tree.max(), di);
        if (this.cw - di > floor) {
          this.cw -= (Math.ceil((this.cw - floor) / di) - 1) * di;
          lastPass = false;
        }
      }
      this.cw -= di;
      if (this.cw <= 0) {
        this.cw = this.mw;
        if (lastPass || last < 0) {
          this.cl = -1;
          return null;
        }
        restarted = true;
      }
      lastPass = this.cw <= di;
      if (lastPass && restarted && last >= 0) stop = last;
    }
  }

  done(): void {
    this.list.set([]);
    this.tree.reset([]);
    this.mw = 0;
  }
}

export const wrr: SchedulerFactory = () => new WeightedRoundRobin();
