/**
 * ovf — Overflow-Connection (net/netfilter/ipvs/ip_vs_ovf.c).
 *
 * Sends connections to the eligible destination with the highest weight (first in list order on ties) as long
 * as its active connections do not exceed its weight; a destination with activeConns > weight is passed over
 * and the next-heaviest takes the overflow. Note the kernel's test is "more than", so a destination still takes
 * a connection while activeConns == weight. Unlike fo, which ignores load, ovf uses the weight as a
 * connection budget; only active connections count, so (as the kernel notes) it suits TCP better than UDP.
 *
 * Indexed: a tournament tree on 1/weight whose eligibility includes the budget test, updated by changed().
 */
import { LeastLoad } from "./least-load.js";
import type { Dest, SchedulerFactory } from "./types.js";
import { isEligible } from "./types.js";

class Overflow extends LeastLoad {
  readonly name = "ovf" as const;

  changed(d: Dest): void {
    const i = this.list.slotOf(d);
    if (i >= 0) this.tree.set(i, isEligible(d) && d.activeConns <= d.weight, 1, d.weight);
  }

}

export const ovf: SchedulerFactory = () => new Overflow();
