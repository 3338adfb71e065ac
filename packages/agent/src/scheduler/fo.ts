/**
 * fo — Weighted Fail Over (net/netfilter/ipvs/ip_vs_fo.c).
 *
 * Every new connection goes to the eligible destination with the highest weight, the first in list order on
 * ties; the others are standbys that take over when it becomes overloaded, quiesced or unavailable.
 * Connection counts play no part (ovf is the sibling that moves on once a destination holds as many active
 * connections as its weight).
 *
 * Indexed: a tournament tree on 1/weight, so an overload flag change costs O(log n) and a pick O(1).
 */
import { LeastLoad } from "./least-load.js";
import type { Dest, SchedulerFactory } from "./types.js";
import { isEligible } from "./types.js";

class FailOver extends LeastLoad {
  readonly name = "fo" as const;

  changed(d: Dest): void {
    const i = this.list.slotOf(d);
    if (i >= 0) this.tree.set(i, isEligible(d), 1, d.weight);
  }

}

export const fo: SchedulerFactory = () => new FailOver();
