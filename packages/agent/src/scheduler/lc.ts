/**
 * lc — Least-Connection (net/netfilter/ipvs/ip_vs_lc.c).
 *
 * Chooses the eligible destination with the smallest overhead, (activeConns << 8) + inactiveConns
 * (ip_vs_dest_conn_overhead), the first in list order on ties. Weights only decide eligibility (0 = quiesced);
 * wlc is the sibling that divides the overhead by the weight.
 *
 * The kernel scans every destination per connection; here the overheads live in a tournament tree updated by
 * changed(), whose root is the same destination the scan returns (least-load.ts, tournament.ts).
 */
import { LeastLoad } from "./least-load.js";
import { connOverhead } from "./load.js";
import type { Dest, SchedulerFactory } from "./types.js";
import { isEligible } from "./types.js";

class LeastConnection extends LeastLoad {
  readonly name = "lc" as const;

  changed(d: Dest): void {
    const i = this.list.slotOf(d);
    if (i >= 0) this.tree.set(i, isEligible(d), connOverhead(d), 1);
  }

}

export const lc: SchedulerFactory = () => new LeastConnection();
