/**
 * The hash tables the kernel engine programs into nftables for sh, dh and mh: per table position (bucket) the
 * real server a new connection hashing there goes to, or null where IPVS would return no destination (the flow is
 * then refused, as ip_vs_schedule() failing refuses it).
 *
 * The tables are the kernel's, built by the userspace schedulers' own code:
 *  - sh (ip_vs_sh.c): 256 buckets tiled in list order, each available real server taking `weight` consecutive
 *    buckets (at least one): sh.ts tile(). dh (ip_vs_dh.c): the same with one bucket each.
 *  - mh (ip_vs_mh.c): the Maglev lookup table of MaglevHashing, with M = 4093 positions here
 *    (CONFIG_IP_VS_MH_TAB_INDEX=12, the kernel's default; see MH_KERNEL_CONFIG_INDEX).
 * A position whose real server is quiesced (weight 0), overloaded or unavailable has no destination, or with
 * sh-fallback / mh-fallback the one the kernel's fallback finds, computed per position:
 *  - sh: exact. The kernel probes buckets (offset + 2·ihash) mod 256 for a client whose first bucket is ihash, a
 *    function of the bucket alone (shFallbackProbe), so every client of a bucket falls back to the same server,
 *    in the kernel as here.
 *  - mh: approximate. The kernel rehashes the client address with each offset, so the clients of one position
 *    spread over several servers; here they all go to the server found by rehashing the position's own index the
 *    same way (mhPositionProbe). Across positions the spread is the same; per position it is one server.
 * What differs from IPVS is the hash that picks the position: nft's jhash of the flow key with a fixed seed per
 * virtual service (jhash.ts), not hash_32 / hsiphash, so a given client may land on another position than under
 * IPVS; the table, hence the share of each server, its stickiness and Maglev's consistency, is the kernel's.
 */
import { type MaglevHashing, mhPositionProbe } from "../../scheduler/mh.js";
import { SH_TAB_SIZE, shFallbackProbe, tile } from "../../scheduler/sh.js";
import { type Dest, isEligible } from "../../scheduler/types.js";

/**
 * CONFIG_IP_VS_MH_TAB_INDEX of the kernel engine's Maglev table: 12 → M = 4093 positions, the stock kernel's
 * default, where the userspace engine uses index 16 (M = 65521). Measured on the development machine with 1,000
 * real servers: M = 65521 makes the first load of the map 0.6 s instead of 0.17 s (and an agent restart reloads it
 * whole), a weight change ~43 ms instead of ~29 ms (more positions move: median 138 vs 12), and holds 16× the
 * elements in kernel memory per service. The price of 4093 is Maglev's, as on a stock kernel: with N real servers
 * each holds ≈ M/N positions, so shares are coarser as N nears M (at most 4093 real servers: refused beyond).
 */
export const MH_KERNEL_CONFIG_INDEX = 12;
export const MH_KERNEL_TABLE_SIZE = 4093;

/**
 * Resolves a table of list positions (-1 = empty) to destinations: the real server itself when eligible, else
 * with `fallback` the first eligible one along the probe sequence (stopping at an empty position, as the kernel
 * does), else null.
 */
function resolve<D extends Dest>(
  lookup: ArrayLike<number>,
  dests: readonly D[],
  fallback: boolean,
  probe: (b: number, offset: number) => number,
  reachable: (d: D) => boolean,
): (D | null)[] {
  const M = lookup.length;
  const usable = dests.map((d) => isEligible(d) && reachable(d));
  const out = new Array<D | null>(M).fill(null);
  let anyUsable = false;
  for (let b = 0; b < M; b++) {
    const at = lookup[b]!;
    if (at >= 0 && usable[at]) anyUsable = true;
  }
  for (let b = 0; b < M; b++) {
    const at = lookup[b]!;
    if (at < 0) continue;
    if (usable[at]) {
      out[b] = dests[at]!;
      continue;
    }
    if (!fallback || !anyUsable) continue;
    for (let offset = 0; offset < M; offset++) {
      const q = lookup[probe(b, offset)]!;
      if (q < 0) break;
      if (usable[q]) {
        out[b] = dests[q]!;
        break;
      }
    }
  }
  return out;
}

/**
 * The sh (weighted) or dh (one bucket each) table of 256 buckets. `reachable` (VS/DR: the MAC address is known)
 * makes a destination count as unavailable where it is false, without changing the tiling.
 */
export function hashBuckets<D extends Dest>(dests: readonly D[], scheduler: "sh" | "dh", fallback: boolean, reachable: (d: D) => boolean = () => true): (D | null)[] {
  const table = new Int32Array(SH_TAB_SIZE);
  tile(table, dests, scheduler === "sh" ? (d) => d.weight : () => 1);
  return resolve(table, dests, scheduler === "sh" && fallback, shFallbackProbe, reachable);
}

/** The mh table as `maglev` (built with MH_KERNEL_CONFIG_INDEX) last populated it (`reachable` as for hashBuckets). */
export function maglevPositions<D extends Dest>(maglev: MaglevHashing, fallback: boolean, reachable: (d: D) => boolean = () => true): (D | null)[] {
  const { lookup, dests } = maglev.table();
  return resolve(lookup, dests as readonly D[], fallback, (b, offset) => mhPositionProbe(b, offset, lookup.length), reachable);
}

/** Consecutive positions with the same value, as [from, to] ranges; null positions are left out. */
export function ranges<T>(table: readonly (T | null)[]): { from: number; to: number; value: T }[] {
  const out: { from: number; to: number; value: T }[] = [];
  for (let b = 0; b < table.length; b++) {
    const v = table[b];
    if (v === null || v === undefined) continue;
    const last = out.at(-1);
    if (last && last.to === b - 1 && last.value === v) last.to = b;
    else out.push({ from: b, to: b, value: v });
  }
  return out;
}

/**
 * How a position map (position → value, null = none) goes from `before` to `values`: contents unknown (null) are
 * flushed and written whole, a map not made yet (undefined) written whole, a known one sent only the positions that
 * changed (those past the new end deleted).
 */
export function positionChanges(before: readonly (string | null)[] | null | undefined, values: readonly (string | null)[]): { flush: boolean; del: number[]; add: string[] } {
  const del: number[] = [];
  const add: string[] = [];
  const known = before !== undefined && before !== null;
  for (let p = 0; p < Math.max(values.length, known ? before.length : 0); p++) {
    const v = values[p] ?? null;
    const was = known ? (before[p] ?? null) : null;
    if (known && v === was) continue;
    if (was !== null) del.push(p);
    if (v !== null) add.push(`${p} : ${v}`);
  }
  return { flush: before === null, del, add };
}

