/**
 * The shape shared by the schedulers that pick "the least loaded eligible destination, first in list order on
 * ties" (lc, wlc, sed, nq, fo, ovf, and the inner choice of lblc and lblcr): the load of every destination sits
 * in a tournament tree, changed() replays one leaf in O(log n), pick() reads the root; the tree guarantees the
 * kernel's linear scan's choice (tournament.ts). Each algorithm writes its own changed(), which says how a
 * destination's load is measured: kept out of this shared class on purpose, so that V8 sees one receiver type
 * per hot call site even when an agent runs services with different schedulers.
 */
import type { SchedulerName } from "@director/model";
import { DestList } from "./dest-list.js";
import { Tournament } from "./tournament.js";
import type { Dest, Flow, Scheduler } from "./types.js";

export abstract class LeastLoad implements Scheduler {
  abstract readonly name: SchedulerName;
  protected readonly list = new DestList();
  protected readonly tree = new Tournament();

  /** Writes d's eligibility and load into the tree (O(log n)); also used to fill it after update(). */
  abstract changed(dest: Dest): void;

  update(dests: readonly Dest[]): void {
    this.list.set(dests);
    this.tree.reset(dests.length);
    for (const d of this.list.dests) this.changed(d);
  }

  pick(_flow: Flow): Dest | null {
    const i = this.tree.top();
    return i < 0 ? null : this.list.dests[i]!;
  }

  done(): void {
    this.update([]);
  }
}
