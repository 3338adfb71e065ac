/**
 * lblc — Locality-Based Least-Connection (net/netfilter/ipvs/ip_vs_lblc.c), for cache clusters.
 *
 * Remembers, per destination address of the flow (the address the client was trying to reach, as a
 * transparent cache cluster sees many), the real server chosen for it, and keeps sending that address there
 * so each cache holds its own share of the origin servers:
 *
 *     n ← table[vHost]
 *     if n is missing, unavailable, quiesced, overloaded, or
 *        (n.active > n.weight and some server has active < weight/2):   — is_overloaded (locality.ts)
 *        n ← the wlc choice; table[vHost] ← n
 *     return n
 *
 * lblcr is the sibling that remembers a set of servers per address and grows it under load, instead of
 * moving the address to a new server. dh is the stateless, load-blind version of the same idea.
 *
 * Entries are refreshed on every use and collected by the kernel's periodic rules (locality.ts): unused for
 * 24 h, or for 6 minutes once more than 16,384 addresses are remembered; expire() runs them, and pick() runs
 * whatever fell due first, so the clock is the injected now().
 *
 * Deviation: the kernel keeps using a remembered server whose IP_VS_DEST_F_OVERLOAD flag (-x threshold) is set;
 * we pass it over like every other scheduler here, so an overloaded server never gets a new connection.
 * A remembered server that was removed and added back (same address) is used again, as the kernel revives a
 * destination from its trash.
 */
import { type LocalityEntry, Locality } from "./locality.js";
import type { Dest, Flow, SchedulerFactory, SchedulerOptions } from "./types.js";
import { isEligible } from "./types.js";

interface LblcEntry extends LocalityEntry {
  dest: Dest;
}

export class LocalityLeastConnection extends Locality<LblcEntry> {
  override readonly name = "lblc" as const;

  protected schedule(flow: Flow, now: number): Dest | null {
    const en = this.table.get(flow.vHost);
    if (en) {
      en.lastuse = now;
      const d = (en.dest = this.list.resolve(en.dest));
      if (isEligible(d) && this.list.inService(d) && !this.isOverloaded(d)) return d;
    }
    const d = this.leastLoaded(flow);
    if (!d) return null;
    if (!this.dead) {
      // ip_vs_lblc_new: keep the entry if it already points there, else replace it.
      if (en && en.dest === d) return d;
      if (en) this.table.delete(flow.vHost);
      this.table.set(flow.vHost, { dest: d, lastuse: now });
    }
    return d;
  }
}

export const lblc: SchedulerFactory = (options: SchedulerOptions) => new LocalityLeastConnection(options);
