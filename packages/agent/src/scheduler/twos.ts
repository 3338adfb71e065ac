/**
 * twos — Weighted Random Twos Choice (net/netfilter/ipvs/ip_vs_twos.c; Mitzenmacher, "The Power of Two Random
 * Choices", 2001).
 *
 * Draws two destinations at random, each with probability proportional to its weight, and gives the connection
 * to the less loaded of the two by overhead/weight (the wlc measure, (activeConns << 8) + inactiveConns); on a
 * tie, or if the second is not strictly better, the first. Compared with wlc, which always takes the global
 * least, it needs no global view and avoids herding when counters lag.
 *
 * The kernel's draw: total = Σ eligible weights + 1, r = random % total (so r ∈ [0, Σ]), then walk the list
 * subtracting weights and stop where r ≤ 0 — the first destination whose running total reaches max(r, 1).
 * We draw r = ⌊random() × total⌋ from the injected random() (two calls per pick, first for choice 1), and find
 * that destination with a Fenwick tree in O(log n) instead of the kernel's O(n) walk; the choice for the same
 * random numbers is the same (twos.test.ts compares with a transcription of the kernel loop).
 *
 * Deviation: the kernel compares `weight2 * overhead1 > weight1 * overhead2` in 32-bit ints, which overflow once
 * a destination of weight 65535 has about 128 active connections; the comparison here is exact.
 */
import { DestList } from "./dest-list.js";
import { Fenwick } from "./fenwick.js";
import { connOverhead, productLess } from "./load.js";
import type { Dest, Flow, Scheduler, SchedulerFactory, SchedulerOptions } from "./types.js";
import { isEligible } from "./types.js";

class TwosChoice implements Scheduler {
  readonly name = "twos" as const;
  private readonly list = new DestList();
  private readonly weights = new Fenwick();

  constructor(private readonly random: () => number) {}

  update(dests: readonly Dest[]): void {
    this.list.set(dests);
    this.weights.reset(dests.map((d) => (isEligible(d) ? d.weight : 0)));
  }

  changed(dest: Dest): void {
    const i = this.list.slotOf(dest);
    if (i >= 0) this.weights.set(i, isEligible(dest) ? dest.weight : 0);
  }

  pick(_flow: Flow): Dest | null {
    const sum = this.weights.total;
    if (sum <= 0) return null;
    const total = sum + 1;
    // min(): a random() that breaks its [0, 1) contract must not index past the end.
    const r1 = Math.min(Math.floor(this.random() * total), sum);
    const r2 = Math.min(Math.floor(this.random() * total), sum);
    const d1 = this.list.dests[this.weights.lowerBound(Math.max(r1, 1))]!;
    const d2 = this.list.dests[this.weights.lowerBound(Math.max(r2, 1))]!;
    // weight2 * overhead1 > weight1 * overhead2
    return productLess(d1.weight, connOverhead(d2), d2.weight, connOverhead(d1)) ? d2 : d1;
  }

  done(): void {
    this.update([]);
  }
}

export const twos: SchedulerFactory = (options: SchedulerOptions) => new TwosChoice(options.random);
