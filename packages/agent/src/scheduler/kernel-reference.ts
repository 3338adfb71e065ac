/**
 * Literal transcriptions of the kernel's scheduling loops (net/netfilter/ipvs/ip_vs_*.c), one linear walk over
 * the destination list per pick, with the list head as position -1. They exist to be the oracle: the tests
 * check that the indexed schedulers choose exactly what these choose, and the bench measures them as the
 * "naive scan" baseline. Nothing on the connection path uses them.
 *
 * The kernel's list holds only in-service destinations; ours also holds unavailable ones (health down,
 * maintenance), so every loop here also skips `!available`, which is where the kernel would not find them.
 */
import { connOverhead, gcd, productLess, sedOverhead } from "./load.js";
import type { Dest } from "./types.js";

const usable = (d: Dest) => d.available && !d.overloaded;

/** ip_vs_lc_schedule: least (active << 8) + inactive, strictly less replaces. */
export function lcScan(dests: readonly Dest[]): Dest | null {
  let least: Dest | null = null;
  let loh = 0;
  for (const d of dests) {
    if (!usable(d) || d.weight === 0) continue;
    const doh = connOverhead(d);
    if (!least || doh < loh) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/** ip_vs_wlc_schedule (and __ip_vs_lblc_schedule, __ip_vs_lblcr_schedule): least overhead/weight. */
export function wlcScan(dests: readonly Dest[]): Dest | null {
  return ratioScan(dests, connOverhead);
}

/** ip_vs_sed_schedule: least (active + 1)/weight. */
export function sedScan(dests: readonly Dest[]): Dest | null {
  return ratioScan(dests, sedOverhead);
}

function ratioScan(dests: readonly Dest[], overhead: (d: Dest) => number): Dest | null {
  let i = 0;
  let least: Dest | null = null;
  for (; i < dests.length; i++) {
    const d = dests[i]!;
    if (usable(d) && d.weight > 0) {
      least = d;
      break;
    }
  }
  if (!least) return null;
  let loh = overhead(least);
  for (i++; i < dests.length; i++) {
    const d = dests[i]!;
    if (!usable(d)) continue;
    const doh = overhead(d);
    // loh * d.weight > doh * least.weight
    if (productLess(doh, least.weight, loh, d.weight)) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/** ip_vs_nq_schedule: the first idle destination, else sed's choice. */
export function nqScan(dests: readonly Dest[]): Dest | null {
  let least: Dest | null = null;
  let loh = 0;
  for (const d of dests) {
    if (!usable(d) || d.weight === 0) continue;
    const doh = sedOverhead(d);
    if (d.activeConns === 0) return d;
    if (!least || productLess(doh, least.weight, loh, d.weight)) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/** ip_vs_fo_schedule: the highest weight, first on ties. */
export function foScan(dests: readonly Dest[]): Dest | null {
  let best: Dest | null = null;
  let hw = 0;
  for (const d of dests) {
    if (usable(d) && d.weight > hw) {
      best = d;
      hw = d.weight;
    }
  }
  return best;
}

/** ip_vs_ovf_schedule: the highest weight among those with activeconns ≤ weight, first on ties. */
export function ovfScan(dests: readonly Dest[]): Dest | null {
  let h: Dest | null = null;
  let hw = 0;
  for (const d of dests) {
    const w = d.weight;
    if (!usable(d) || d.activeConns > w || w === 0) continue;
    if (!h || w > hw) {
      h = d;
      hw = w;
    }
  }
  return h;
}

/**
 * ip_vs_twos_schedule with its two random numbers drawn as twos.ts draws them: r = ⌊random() × (Σweights + 1)⌋
 * in place of prandom_u32() % (Σweights + 1).
 */
export function twosScan(dests: readonly Dest[], random: () => number): Dest | null {
  let total = 0;
  let choice1: Dest | null = null;
  for (const d of dests) {
    if (usable(d) && d.weight > 0) {
      total += d.weight;
      choice1 = d;
    }
  }
  if (!choice1) return null;
  total += 1;
  let r1 = Math.floor(random() * total);
  let r2 = Math.floor(random() * total);
  let choice2: Dest | null = null;
  let w1 = -1;
  let w2 = -1;
  let oh1 = 0;
  let oh2 = 0;
  for (const d of dests) {
    if (!usable(d) || d.weight <= 0) continue;
    r1 -= d.weight;
    r2 -= d.weight;
    if (r1 <= 0 && w1 === -1) {
      choice1 = d;
      w1 = d.weight;
      oh1 = connOverhead(d);
    }
    if (r2 <= 0 && w2 === -1) {
      choice2 = d;
      w2 = d.weight;
      oh2 = connOverhead(d);
    }
    if (w1 !== -1 && w2 !== -1) break;
  }
  // weight2 * overhead1 > weight1 * overhead2
  if (choice2 && productLess(w1, oh2, w2, oh1)) choice1 = choice2;
  return choice1;
}

/** ip_vs_rr.c: a cursor on the last destination chosen; at most one full turn of the list per pick. */
export class RrReference {
  private dests: readonly Dest[] = [];
  private cursor = -1;

  update(dests: readonly Dest[]): void {
    this.dests = dests;
    this.cursor = -1;
  }

  pick(): Dest | null {
    const n = this.dests.length;
    const p = this.cursor;
    const last = p;
    let dest = p;
    let pass = 0;
    do {
      for (dest = dest + 1; dest < n; dest++) {
        const d = this.dests[dest]!;
        if (usable(d) && d.weight > 0) {
          this.cursor = dest;
          return d;
        }
        if (dest === last) return null;
      }
      dest = -1;
      pass++;
    } while (pass < 2 && p !== -1);
    return null;
  }
}

/** ip_vs_wrr.c, line for line: mark {cl, cw, mw, di}, passes of decreasing cw, the last-pass/stop bookkeeping. */
export class WrrReference {
  private dests: readonly Dest[] = [];
  cl = -1;
  cw = 0;
  mw = 0;
  di = 1;

  /** ip_vs_wrr_dest_changed; weights of unavailable destinations do not count, as if removed. */
  update(dests: readonly Dest[]): void {
    this.dests = dests;
    let g = 0;
    let max = 0;
    for (const d of dests) {
      if (!d.available) continue;
      if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
      if (d.weight > max) max = d.weight;
    }
    this.cl = -1;
    this.di = g || 1;
    this.mw = max - (this.di - 1);
    if (this.cw > this.mw || !this.cw) this.cw = this.mw;
    else if (this.di > 1) this.cw = Math.trunc(this.cw / this.di) * this.di + 1;
  }

  pick(): Dest | null {
    const n = this.dests.length;
    let dest = this.cl;
    if (this.mw === 0) return null;
    const last = dest;
    let stop: number | null = null;
    let lastPass = false;
    let restarted = false;
    for (;;) {
      for (dest = dest + 1; dest < n; dest++) {
        const d = this.dests[dest]!;
        if (usable(d) && d.weight >= this.cw) {
          this.cl = dest;
          return d;
        }
        if (dest === stop) {
          this.cl = dest;
          return null;
        }
      }
      dest = -1;
      this.cw -= this.di;
      if (this.cw <= 0) {
        this.cw = this.mw;
        if (lastPass || last === -1) {
          this.cl = dest;
          return null;
        }
        restarted = true;
      }
      lastPass = this.cw <= this.di;
      if (lastPass && restarted && last !== -1) stop = last;
    }
  }
}
