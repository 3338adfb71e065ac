/**
 * lblcr — Locality-Based Least-Connection with Replication (net/netfilter/ipvs/ip_vs_lblcr.c).
 *
 * Like lblc it remembers real servers per destination address of the flow (vHost), but a set of them, so a
 * hot address can be served by several caches:
 *
 *     if set[vHost] is missing:  n ← the wlc choice; set[vHost] ← {n}
 *     else
 *       n ← the least loaded (overhead/weight) usable server in the set
 *       if the set has more than one server and was not modified for `expiration` (24 h):
 *         drop the most loaded server from the set                        — shrink when load goes away
 *       if n is missing or (n.active > n.weight and some server has active < weight/2):  — is_overloaded
 *         n ← the wlc choice; add n to the set                           — replicate under load
 *     return n
 *
 * lblc is the sibling that holds a single server per address and moves it instead of adding one.
 *
 * As in the kernel the set is a list with the newest server first, which decides ties in "least loaded"
 * (first wins) and "most loaded" (first wins); "usable" is available, not overloaded and weight > 0, the
 * kernel's set_min test. Entries are refreshed on use and collected by the kernel's periodic rules (24 h
 * unused, or 6 minutes past 16,384 entries; locality.ts), run lazily from pick() and by expire() on the
 * injected clock. The most-loaded scan, like the kernel's, also considers servers that left the service
 * (they may still carry connections); a removed server added back with the same address is the same member.
 */
import { connOverhead, productLess } from "./load.js";
import { type LocalityEntry, Locality, lessLoaded } from "./locality.js";
import type { Dest, Flow, SchedulerFactory, SchedulerOptions } from "./types.js";

interface LblcrEntry extends LocalityEntry {
  /** Newest first, as list_add_rcu puts it. */
  set: Dest[];
  lastmod: number;
}

export class LocalityLeastConnectionReplicated extends Locality<LblcrEntry> {
  override readonly name = "lblcr" as const;

  protected schedule(flow: Flow, now: number): Dest | null {
    const en = this.table.get(flow.vHost);
    if (!en) {
      const d = this.leastLoaded(flow);
      if (!d) return null;
      if (!this.dead) this.table.set(flow.vHost, { set: [d], lastmod: now, lastuse: now });
      return d;
    }
    en.lastuse = now;
    let rebound = false;
    for (let k = 0; k < en.set.length; k++) {
      const r = this.list.resolve(en.set[k]!);
      if (r !== en.set[k]) {
        en.set[k] = r;
        rebound = true;
      }
    }
    // An old member and its re-added successor are one server: keep the first (newest) place.
    if (rebound) en.set = [...new Set(en.set)];
    let d = this.setMin(en.set);
    if (en.set.length > 1 && now > en.lastmod + this.expiration) {
      const m = this.setMax(en.set);
      if (m) {
        en.set.splice(en.set.indexOf(m), 1);
        en.lastmod = now;
      }
    }
    if (d && !this.isOverloaded(d)) return d;
    d = this.leastLoaded(flow);
    if (!d) return null;
    if (!this.dead && !en.set.includes(d)) {
      en.set.unshift(d);
      en.lastmod = now;
    }
    return d;
  }

  /** ip_vs_dest_set_min: the first usable member, replaced by any later usable member strictly less loaded. */
  private setMin(set: readonly Dest[]): Dest | null {
    let least: Dest | null = null;
    for (const d of set) {
      if (d.overloaded || d.weight <= 0 || !this.list.inService(d)) continue;
      if (!least || lessLoaded(d, least)) least = d;
    }
    return least;
  }

  /** ip_vs_dest_set_max: the first member with weight > 0, replaced by any later one strictly more loaded. */
  private setMax(set: readonly Dest[]): Dest | null {
    let most: Dest | null = null;
    for (const d of set) {
      if (d.weight <= 0) continue;
      // moh * dw < doh * mw
      if (!most || productLess(connOverhead(most), d.weight, connOverhead(d), most.weight)) most = d;
    }
    return most;
  }
}

export const lblcr: SchedulerFactory = (options: SchedulerOptions) => new LocalityLeastConnectionReplicated(options);
