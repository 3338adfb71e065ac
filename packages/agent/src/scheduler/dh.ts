/**
 * dh — Destination Hashing (net/netfilter/ipvs/ip_vs_dh.c).
 *
 * A static 256-bucket table maps a hash of the flow's destination address (the VIP it was sent to; useful when
 * the director fronts a cache cluster and sees many destination addresses, e.g. transparent proxying) to a
 * destination: (addr × 2654435761) mod 256. Unlike sh's, the table is not weighted: the kernel deals one bucket
 * to each destination in turn, whatever its weight. If the bucket's destination is unavailable, overloaded or
 * quiesced, there is no destination (dh has no fallback flag). lblc is the sibling that keys on the destination
 * address too but balances load and remembers its choices.
 *
 * Unavailable destinations are left out of the table, as if deleted from the kernel's list; the table is rebuilt
 * on every update().
 */
import { foldAddress } from "./address.js";
import { DestList } from "./dest-list.js";
import { SH_TAB_SIZE, shHash, tile } from "./sh.js";
import type { Dest, Flow, Scheduler, SchedulerFactory } from "./types.js";
import { isEligible } from "./types.js";

class DestinationHashing implements Scheduler {
  readonly name = "dh" as const;
  private readonly list = new DestList();
  /** CONFIG_IP_VS_DH_TAB_BITS defaults to 8, as sh's. */
  private readonly table = new Int32Array(SH_TAB_SIZE).fill(-1);

  update(dests: readonly Dest[]): void {
    this.list.set(dests);
    tile(this.table, dests, () => 1);
  }

  changed(_dest: Dest): void {}

  pick(flow: Flow): Dest | null {
    const at = this.table[shHash(foldAddress(flow.vHost, flow.family), 0, 0)]!;
    if (at < 0) return null;
    const d = this.list.dests[at]!;
    return isEligible(d) ? d : null;
  }

  done(): void {
    this.list.set([]);
    this.table.fill(-1);
  }
}

export const dh: SchedulerFactory = () => new DestinationHashing();
