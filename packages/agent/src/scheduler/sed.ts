/**
 * sed — Shortest Expected Delay (net/netfilter/ipvs/ip_vs_sed.c; Weinrib and Shenker, "Greed is not enough",
 * INFOCOM 1988).
 *
 * Chooses the eligible destination with the smallest (activeConns + 1)/weight: the delay the new connection
 * would see. It differs from wlc in counting the connection being placed (the +1) and in ignoring inactive
 * connections, so on an idle service the heaviest server gets the first connection rather than the first in
 * the list. Ties go to the first in list order; the comparison is the kernel's cross multiplication, exact here
 * where the kernel's 32-bit unsigned products would wrap (active × weight beyond 2^32).
 *
 * Indexed as wlc is (tournament tree, O(log n) per counter change, O(1) pick).
 */
import { LeastLoad } from "./least-load.js";
import { sedOverhead } from "./load.js";
import type { Dest, SchedulerFactory } from "./types.js";
import { isEligible } from "./types.js";

class ShortestExpectedDelay extends LeastLoad {
  readonly name = "sed" as const;

  changed(d: Dest): void {
    const i = this.list.slotOf(d);
    if (i >= 0) this.tree.set(i, isEligible(d), sedOverhead(d), d.weight);
  }

}

export const sed: SchedulerFactory = () => new ShortestExpectedDelay();
