/**
 * rr — Round-Robin (net/netfilter/ipvs/ip_vs_rr.c).
 *
 * A cursor remembers the destination chosen last; each pick walks on from there, wrapping once, to the next
 * eligible destination, and gives up after a full turn. Weights only matter as zero or not: weight 0
 * (quiesced), overloaded and unavailable destinations are stepped over. wrr is the sibling that repeats each
 * destination in proportion to its weight.
 *
 * The kernel's del_dest hook moves a cursor that sat on a removed destination back to its predecessor, so the
 * turn continues with what followed it. update() does the same by address: the cursor stays on the
 * destination it was on if it is still listed, else moves to the nearest earlier destination (in the old
 * order) that still is, else to the list head. An unavailable destination is simply not eligible; the cursor
 * may stay on it, which gives the same next pick as removing it.
 */
import { DestList } from "./dest-list.js";
import type { Dest, Flow, Scheduler, SchedulerFactory } from "./types.js";
import { isEligible } from "./types.js";

class RoundRobin implements Scheduler {
  readonly name = "rr" as const;
  private readonly list = new DestList();
  /** Position of the last pick; -1 is the list head. */
  private cursor = -1;

  update(dests: readonly Dest[]): void {
    const old = this.list.dests;
    const cursor = this.cursor;
    this.list.set(dests);
    this.cursor = -1;
    for (let i = cursor; i >= 0; i--) {
      const at = this.list.find(old[i]!.address);
      if (at >= 0) {
        this.cursor = at;
        break;
      }
    }
  }

  changed(_dest: Dest): void {}

  pick(_flow: Flow): Dest | null {
    const dests = this.list.dests;
    const n = dests.length;
    // One turn: the destinations after the cursor, then from the head up to and including the cursor.
    let i = this.cursor;
    for (let step = 0; step < n; step++) {
      i = i + 1 === n ? 0 : i + 1;
      const d = dests[i]!;
      if (isEligible(d)) {
        this.cursor = i;
        return d;
      }
    }
    return null;
  }

  done(): void {
    this.list.set([]);
    this.cursor = -1;
  }
}

export const rr: SchedulerFactory = () => new RoundRobin();
