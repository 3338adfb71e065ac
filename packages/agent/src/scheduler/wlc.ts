/**
 * wlc — Weighted Least-Connection (net/netfilter/ipvs/ip_vs_wlc.c), the default scheduler.
 *
 * Chooses the eligible destination with the smallest overhead/weight, overhead being
 * (activeConns << 8) + inactiveConns, compared as the kernel does by cross multiplication
 * (`loh * dw > doh * lw` replaces the current least), so ties go to the first in list order. lc is the same
 * without the weight; sed counts only active connections plus the one being placed.
 *
 * The kernel scans all destinations per connection (a 1,000-server service: 1,000 multiplications per SYN).
 * Here the loads live in a tournament tree: changed() replays one leaf in O(log n) and pick() reads the root,
 * which is provably, and tested to be, the destination the scan returns (tournament.ts). Products are exact
 * past 2^53 (load.ts).
 */
import { LeastLoad } from "./least-load.js";
import { connOverhead } from "./load.js";
import type { Dest, SchedulerFactory } from "./types.js";
import { isEligible } from "./types.js";

export class WeightedLeastConnection extends LeastLoad {
  readonly name: "wlc" | "lblc" | "lblcr" = "wlc";

  changed(d: Dest): void {
    const i = this.list.slotOf(d);
    if (i >= 0) this.tree.set(i, isEligible(d), connOverhead(d), d.weight);
  }

}

export const wlc: SchedulerFactory = () => new WeightedLeastConnection();
