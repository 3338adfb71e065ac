/**
 * The destination list a scheduler instance works on: the kernel's `svc->destinations`, as the array given to
 * the last update(), in configuration order. Positions in it are what the indexes (tournament trees, Fenwick
 * tree, hash tables) store; `slotOf` maps a Dest handed to changed() back to its position.
 *
 * Identity, not address, is the key: the connection table keeps calling changed() for a real server that was
 * removed while its connections finish, and that object must not disturb a new real server with the same
 * address. A Dest that is not in the current list has no slot (-1) and is ignored.
 */
import type { Dest } from "./types.js";

export class DestList {
  /** A copy: the caller may push into its own array before it calls update(). */
  dests: Dest[] = [];
  private readonly position = new Map<Dest, number>();
  private readonly byAddress = new Map<string, number>();

  set(dests: readonly Dest[]): void {
    this.dests = dests.slice();
    this.position.clear();
    this.byAddress.clear();
    for (let i = 0; i < this.dests.length; i++) {
      const d = this.dests[i]!;
      this.position.set(d, i);
      this.byAddress.set(d.address, i);
    }
  }

  get length(): number {
    return this.dests.length;
  }

  /** The position of d in the current list, or -1. `index` is the fast path; the map covers a renumbering. */
  slotOf(d: Dest): number {
    const i = d.index;
    if (this.dests[i] === d) return i;
    return this.position.get(d) ?? -1;
  }

  /** The position of the listed destination with this address, or -1. */
  find(address: string): number {
    return this.byAddress.get(address) ?? -1;
  }

  /** True while d is in the list and available: the kernel's IP_VS_DEST_F_AVAILABLE. */
  inService(d: Dest): boolean {
    return d.available && this.slotOf(d) >= 0;
  }

  /**
   * The current object for a Dest remembered from an earlier list: itself while listed, else the listed one with
   * the same address (a real server removed and added back, as the kernel revives a dest from its trash), else
   * the old object, which is then out of service.
   */
  resolve(d: Dest): Dest {
    if (this.slotOf(d) >= 0) return d;
    const at = this.byAddress.get(d.address);
    return at === undefined ? d : this.dests[at]!;
  }
}
