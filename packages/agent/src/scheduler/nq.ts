/**
 * nq — Never Queue (net/netfilter/ipvs/ip_vs_nq.c; Weinrib and Shenker, INFOCOM 1988).
 *
 * A two-speed sed: if an eligible destination has no active connection, the first such one in list order gets
 * the connection at once, however slow; otherwise the choice is sed's, the smallest (activeConns + 1)/weight,
 * first on ties. The kernel finds both in one scan; here two tournament trees hold them — "idle or not" and the
 * sed load — so pick() reads two roots and changed() replays one leaf in each.
 */
import { LeastLoad } from "./least-load.js";
import { sedOverhead } from "./load.js";
import { Tournament } from "./tournament.js";
import type { Dest, Flow, SchedulerFactory } from "./types.js";
import { isEligible } from "./types.js";

class NeverQueue extends LeastLoad {
  readonly name = "nq" as const;
  /** 0 for an idle eligible destination, 1 for a busy one: its root is the first idle one, if any. */
  private readonly idle = new Tournament();

  override update(dests: readonly Dest[]): void {
    this.idle.reset(dests.length);
    super.update(dests);
  }

  changed(d: Dest): void {
    const i = this.list.slotOf(d);
    if (i < 0) return;
    const ok = isEligible(d);
    this.idle.set(i, ok, d.activeConns === 0 ? 0 : 1, 1);
    this.tree.set(i, ok, sedOverhead(d), d.weight);
  }


  override pick(flow: Flow): Dest | null {
    const i = this.idle.top();
    if (i >= 0 && this.idle.numAt(i) === 0) return this.list.dests[i]!;
    return super.pick(flow);
  }
}

export const nq: SchedulerFactory = () => new NeverQueue();
