/**
 * sh — Source Hashing (net/netfilter/ipvs/ip_vs_sh.c).
 *
 * A static 256-bucket table maps a hash of the client address (and, with the `sh-port` flag, the client
 * port) to a destination, so one client keeps reaching one real server without persistence templates. The
 * table is tiled in list order, each destination taking `weight` consecutive buckets (at least one, so a
 * quiesced destination keeps one bucket), and rebuilt on every list or weight change. Hash:
 * (offset + (port + addr) × 2654435761) mod 256, addr being the IPv4 address or the XOR of the IPv6 words.
 *
 * If the bucket's destination is overloaded or has weight 0 the kernel returns no destination; with the
 * `sh-fallback` flag it instead probes the table at offsets ihash, ihash+1, … (mod 256) of the same hash and
 * takes the first usable one. dh is the sibling keyed on the destination address with an unweighted table; mh
 * is the consistent one: sh is not — removing a destination re-tiles the table and moves most clients (quiescing
 * a weight-1 destination, with sh-fallback, moves only its own).
 *
 * Unavailable destinations (health down, maintenance) are left out of the table, as the kernel's list leaves
 * out a destination a health checker deleted; the table is rebuilt when availability changes.
 */
import { foldAddress } from "./address.js";
import { DestList } from "./dest-list.js";
import type { Dest, Flow, Scheduler, SchedulerFactory, SchedulerOptions } from "./types.js";
import { isEligible } from "./types.js";

const TAB_BITS = 8; // CONFIG_IP_VS_SH_TAB_BITS default
export const SH_TAB_SIZE = 1 << TAB_BITS;
const TAB_MASK = SH_TAB_SIZE - 1;
const GOLDEN = 2654435761 | 0;

/** ip_vs_sh_hashkey: only the low 8 bits of the 64-bit product matter, so a 32-bit multiply suffices. */
export function shHash(addr: number, port: number, offset: number): number {
  return (offset + Math.imul((port + addr) | 0, GOLDEN)) & TAB_MASK;
}

/**
 * The bucket ip_vs_sh_get_fallback probes at step `offset` (0, 1, …) for a client whose first bucket is `ihash`:
 * hashkey(addr, port, (offset + ihash) mod 256) = (offset + 2·ihash) mod 256. It depends on the first bucket
 * alone, so the fallback of every client of a bucket is the same and can be computed per bucket (the kernel
 * engine's sh-fallback map does).
 */
export function shFallbackProbe(ihash: number, offset: number): number {
  return (offset + 2 * ihash) & TAB_MASK;
}

/**
 * Tiles `table` with list positions as ip_vs_sh_reassign / ip_vs_dh_reassign do: walk the in-service
 * destinations cyclically, each holding `span(d)` consecutive buckets (at least one). -1 where none.
 */
export function tile(table: Int32Array, dests: readonly Dest[], span: (d: Dest) => number): void {
  const members: number[] = [];
  for (let i = 0; i < dests.length; i++) if (dests[i]!.available) members.push(i);
  if (members.length === 0) {
    table.fill(-1);
    return;
  }
  let p = 0;
  let count = 0;
  for (let b = 0; b < table.length; b++) {
    const at = members[p]!;
    table[b] = at;
    if (++count >= span(dests[at]!)) {
      p = p + 1 === members.length ? 0 : p + 1;
      count = 0;
    }
  }
}

class SourceHashing implements Scheduler {
  readonly name = "sh" as const;
  private readonly list = new DestList();
  private readonly table = new Int32Array(SH_TAB_SIZE).fill(-1);
  private readonly fallback: boolean;
  private readonly usePort: boolean;

  constructor(options: SchedulerOptions) {
    this.fallback = options.flags.includes("sh-fallback");
    this.usePort = options.flags.includes("sh-port");
  }

  update(dests: readonly Dest[]): void {
    this.list.set(dests);
    tile(this.table, dests, (d) => d.weight);
  }

  changed(_dest: Dest): void {}

  pick(flow: Flow): Dest | null {
    const addr = foldAddress(flow.clientHost, flow.family);
    const port = this.usePort ? flow.clientPort : 0;
    const ihash = shHash(addr, port, 0);
    let at = this.table[ihash]!;
    if (at < 0) return null;
    let d = this.list.dests[at]!;
    if (isEligible(d)) return d;
    if (!this.fallback) return null;
    // ip_vs_sh_get_fallback: loop around the table starting from the original hash value.
    for (let offset = 0; offset < SH_TAB_SIZE; offset++) {
      at = this.table[shHash(addr, port, (offset + ihash) & TAB_MASK)]!;
      if (at < 0) break;
      d = this.list.dests[at]!;
      if (isEligible(d)) return d;
    }
    return null;
  }

  done(): void {
    this.list.set([]);
    this.table.fill(-1);
  }
}

export const sh: SchedulerFactory = (options: SchedulerOptions) => new SourceHashing(options);
