/**
 * What lblc and lblcr share (net/netfilter/ipvs/ip_vs_lblc.c, ip_vs_lblcr.c): the wlc choice for a miss, the
 * "is_overloaded" rule that makes a remembered destination give way, and the table's garbage collection.
 *
 * is_overloaded(dest): dest has more active connections than its weight AND some destination of the service
 * has fewer than half its weight (activeConns × 2 < weight). The kernel scans the list for the second part on
 * every hit; here a count of such destinations is kept up to date in changed(), so the test is O(1). Like the
 * kernel we count every destination in service, whatever its overload flag; unavailable ones are not in
 * service.
 *
 * Garbage collection is the kernel's 60-second timer, run against the injected clock: each tick either does a
 * full check every 30th tick (drop entries unused for `expiration`, 24 h by default as the lblc_expiration and
 * lblcr_expiration sysctls) or, when the table holds more than 16,384 entries, drops entries unused for 6
 * minutes, at most (entries − 16,384) × 4/3 and at most 8,192 of them. Full checks fall every 30 minutes after
 * the service's scheduler was created, as the kernel's timer does. Ticks that fell due are run lazily at the start
 * of pick() and by expire(); after a long quiet spell only the last 60 are replayed, with the counter advanced as
 * the skipped ticks would have: nothing was used meanwhile, so a replayed full check drops everything a skipped
 * one would have (exact while the table holds at most 16,384 entries; above that the skipped size-limited sweeps
 * are approximated by the replayed ones). The kernel sweeps its 1,024 hash buckets from a rover; we sweep entries
 * in insertion order, which only matters for which stale entries a size-limited sweep reaches first.
 */
import { connOverhead, productLess } from "./load.js";
import { WeightedLeastConnection } from "./wlc.js";
import type { Dest, Flow, SchedulerOptions } from "./types.js";
import { isEligible } from "./types.js";

export const CHECK_EXPIRE_INTERVAL_MS = 60_000;
export const ENTRY_TIMEOUT_MS = 6 * 60_000;
export const DEFAULT_EXPIRATION_MS = 24 * 3600_000;
export const COUNT_FOR_FULL_EXPIRATION = 30;
/** IP_VS_LBLC_TAB_SIZE * 16 */
export const MAX_ENTRIES = 1024 * 16;
const MAX_REPLAYED_TICKS = 60;

export interface LocalityEntry {
  lastuse: number;
}

export abstract class Locality<E extends LocalityEntry> extends WeightedLeastConnection {
  protected readonly table = new Map<string, E>();
  protected readonly now: () => number;
  protected dead = false;
  /** Destinations in service with activeConns × 2 < weight, and which ones they are. */
  private halfLoaded = 0;
  private half = new Uint8Array(0);
  private counter = 1;
  private nextTick: number;

  constructor(
    options: SchedulerOptions,
    protected readonly expiration = DEFAULT_EXPIRATION_MS,
  ) {
    super();
    this.now = options.now;
    this.nextTick = options.now() + CHECK_EXPIRE_INTERVAL_MS;
  }

  override update(dests: readonly Dest[]): void {
    this.half = new Uint8Array(dests.length);
    this.halfLoaded = 0;
    super.update(dests);
  }

  override changed(d: Dest): void {
    const i = this.list.slotOf(d);
    if (i < 0) return;
    this.tree.set(i, isEligible(d), connOverhead(d), d.weight);
    const h = d.available && d.activeConns * 2 < d.weight ? 1 : 0;
    this.halfLoaded += h - this.half[i]!;
    this.half[i] = h;
  }

  /** The kernel's is_overloaded(dest, svc). */
  protected isOverloaded(d: Dest): boolean {
    return d.activeConns > d.weight && this.halfLoaded > 0;
  }

  /** __ip_vs_lblc_schedule / __ip_vs_lblcr_schedule: wlc over the whole service. */
  protected leastLoaded(flow: Flow): Dest | null {
    return super.pick(flow);
  }

  /** Number of remembered destination addresses. */
  get entries(): number {
    return this.table.size;
  }

  expire(): void {
    const now = this.now();
    if (now < this.nextTick) return;
    const due = Math.floor((now - this.nextTick) / CHECK_EXPIRE_INTERVAL_MS) + 1;
    if (due > MAX_REPLAYED_TICKS) {
      // Skip the oldest ticks but keep the full checks in phase: the counter cycles 1..30 on each tick.
      const skipped = due - MAX_REPLAYED_TICKS;
      this.nextTick += skipped * CHECK_EXPIRE_INTERVAL_MS;
      this.counter = ((this.counter - 1 + skipped) % COUNT_FOR_FULL_EXPIRATION) + 1;
    }
    while (this.nextTick <= now) {
      this.tick(this.nextTick);
      this.nextTick += CHECK_EXPIRE_INTERVAL_MS;
    }
  }

  /** ip_vs_lblc_check_expire / ip_vs_lblcr_check_expire at time t. */
  private tick(t: number): void {
    if (this.counter % COUNT_FOR_FULL_EXPIRATION === 0) {
      for (const [key, en] of this.table) if (t >= en.lastuse + this.expiration) this.table.delete(key);
      this.counter = 1;
      return;
    }
    if (this.table.size <= MAX_ENTRIES) {
      this.counter++;
      return;
    }
    let goal = Math.min(Math.trunc(((this.table.size - MAX_ENTRIES) * 4) / 3), MAX_ENTRIES / 2);
    for (const [key, en] of this.table) {
      if (goal <= 0) break;
      if (t < en.lastuse + ENTRY_TIMEOUT_MS) continue;
      this.table.delete(key);
      goal--;
    }
  }

  override pick(flow: Flow): Dest | null {
    this.expire();
    return this.schedule(flow, this.now());
  }

  protected abstract schedule(flow: Flow, now: number): Dest | null;

  override done(): void {
    this.dead = true;
    this.table.clear();
    super.done();
  }
}

/** ip_vs_dest_set_min / _max compare overhead/weight by cross multiplication: a is less loaded than b. */
export function lessLoaded(a: Dest, b: Dest): boolean {
  return productLess(connOverhead(a), b.weight, connOverhead(b), a.weight);
}
