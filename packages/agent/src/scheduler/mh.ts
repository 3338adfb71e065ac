/**
 * mh — Maglev Hashing (net/netfilter/ipvs/ip_vs_mh.c; Eisenbud et al., "Maglev", NSDI 2016, §3.4).
 *
 * Consistent hashing of the client address (and, with `mh-port`, the client port) through a lookup table of
 * prime size M. Each destination has a permutation of the table positions, offset + k·skip (mod M), from two
 * hashes of its own address and port; the table is filled by letting the destinations, in list order, claim
 * their next free preferred position in turns — `turns` positions per round, proportional to weight (weights
 * divided by their gcd, then shifted right so the largest fits IP_VS_MH_TAB_BITS bits). Every destination gets
 * an almost equal share per unit weight, and removing one of N destinations remaps about 1/N of the clients,
 * where sh, which re-tiles its table, remaps most of them.
 *
 * Weights are the kernel's `last_weight`: the latest non-zero weight, so quiescing a destination (weight 0)
 * keeps its table positions; a lookup that lands on a quiesced or overloaded destination returns nothing, or,
 * with `mh-fallback`, probes the hashes of (offset + value) for offsets ihash, ihash+1, … until a usable
 * destination appears — so only that destination's clients move. A destination added with weight 0 has no
 * positions. Unavailable destinations count as removed (left out of the table, last_weight forgotten).
 *
 * Hashes are the kernel's exactly: hsiphash (SipHash-1-3 on 64-bit kernels) of the u32
 * (offset + port + addr), with the kernel's fixed keys {2654435761, 2654435761} and {2654446892, 2654446892}
 * (generate_hash_secret: the kernel does not seed mh randomly, precisely so that directors agree). Two directors
 * with the same destination list and weights therefore build the same table and send a client to the same real
 * server — and, for the same table size, the same as a 64-bit Linux director.
 *
 * Table size: the kernel takes it from CONFIG_IP_VS_MH_TAB_INDEX (default 12 → 4093 positions, at most 4093
 * destinations). We default to index 16 → M = 65521 (and IP_VS_MH_TAB_BITS = 8), a valid kernel build setting,
 * because the model allows 10,000 real servers per service and Maglev wants M ≫ N; `mhScheduler(12)` builds the
 * stock-kernel table.
 */
import { foldAddress } from "./address.js";
import { DestList } from "./dest-list.js";
import { gcd } from "./load.js";
import { hsiphash32, hsipKey } from "./siphash.js";
import type { Dest, Flow, Scheduler, SchedulerFactory, SchedulerOptions } from "./types.js";
import { isEligible } from "./types.js";

/** The kernel's table sizes, indexed by CONFIG_IP_VS_MH_TAB_INDEX - 8. */
const PRIMES = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071] as const;
export const MH_DEFAULT_CONFIG_INDEX = 16;

const HASH1 = hsipKey(2654435761, 2654435761);
const HASH2 = hsipKey(2654446892, 2654446892);

/** ip_vs_mh_hashkey: hsiphash of the u32 offset + port + folded address. */
function mhHash(addr: number, port: number, key: typeof HASH1, offset: number): number {
  return hsiphash32((offset + port + addr) >>> 0, key);
}

/**
 * The kernel engine's stand-in for ip_vs_mh_get_fallback's probe `offset` (0, 1, …) at table position `b`. The
 * kernel rehashes the client, hashkey(addr, port, (offset + ihash) mod M); a position of the kernel engine's
 * table stands for clients it cannot see, so it rehashes its own index the same way: hashkey(b, 0, (offset + b)
 * mod M) mod M. The clients of one position then fall back together, and different positions spread over the
 * destinations as the kernel's clients do.
 */
export function mhPositionProbe(b: number, offset: number, tableSize: number): number {
  const roffset = offset + b < tableSize ? offset + b : offset + b - tableSize;
  return mhHash(b, 0, HASH1, roffset) % tableSize;
}

/** fls(): 1-based index of the highest set bit, 0 for 0. */
function fls(x: number): number {
  return x > 0 ? 32 - Math.clz32(x) : 0;
}

export class MaglevHashing implements Scheduler {
  readonly name = "mh" as const;
  readonly tableSize: number;
  private readonly tabBits: number;
  private readonly list = new DestList();
  /** List positions; -1 where empty (no destination with a non-zero last weight). */
  private readonly lookup: Int32Array;
  /** last_weight per address of the destinations in service. */
  private lastWeight = new Map<string, number>();
  private readonly fallback: boolean;
  private readonly usePort: boolean;
  /** How many table members are usable now: with none, fallback can stop at once instead of probing M hashes. */
  private usable = 0;
  private member = new Uint8Array(0);
  private memberOk = new Uint8Array(0);

  constructor(options: SchedulerOptions, configIndex = MH_DEFAULT_CONFIG_INDEX) {
    const size = PRIMES[configIndex - 8];
    if (size === undefined) throw new RangeError(`mh table index ${configIndex} is outside 8..17`);
    this.tableSize = size;
    this.tabBits = Math.trunc(configIndex / 2);
    this.lookup = new Int32Array(size).fill(-1);
    this.fallback = options.flags.includes("mh-fallback");
    this.usePort = options.flags.includes("mh-port");
  }

  update(dests: readonly Dest[]): void {
    this.list.set(dests);
    const n = dests.length;
    // last_weight: set on add, and on every update with a non-zero weight.
    const last = new Map<string, number>();
    const members: number[] = [];
    for (let i = 0; i < n; i++) {
      const d = dests[i]!;
      if (!d.available) continue;
      const before = this.lastWeight.get(d.address);
      last.set(d.address, before === undefined || d.weight !== 0 ? d.weight : before);
      members.push(i);
    }
    this.lastWeight = last;
    if (members.length > this.tableSize) {
      throw new RangeError(`mh: ${members.length} destinations do not fit a ${this.tableSize}-entry table`);
    }
    this.populate(members);
    this.member = new Uint8Array(n);
    this.memberOk = new Uint8Array(n);
    this.usable = 0;
    for (let b = 0; b < this.tableSize; b++) {
      const at = this.lookup[b]!;
      if (at >= 0) this.member[at] = 1;
    }
    for (let i = 0; i < n; i++) if (this.member[i]) this.note(i, dests[i]!);
  }

  /** ip_vs_mh_gcd_weight, ip_vs_mh_shift_weight, ip_vs_mh_permutate and ip_vs_mh_populate. */
  private populate(members: number[]): void {
    const M = this.tableSize;
    const dests = this.list.dests;
    const lw = members.map((i) => this.lastWeight.get(dests[i]!.address)!);
    let g = 0;
    let mw = 0;
    for (const w of lw) {
      if (w > 0) g = g > 0 ? gcd(w, g) : w;
      if (w > mw) mw = w;
    }
    this.lookup.fill(-1);
    if (g < 1) return;
    const shift = Math.max(fls(Math.trunc(mw / g)) - this.tabBits, 0);
    const count = members.length;
    const perm = new Int32Array(count);
    const skip = new Int32Array(count);
    const turns = new Int32Array(count);
    for (let k = 0; k < count; k++) {
      const d = dests[members[k]!]!;
      const addr = foldAddress(d.host, d.family);
      perm[k] = mhHash(addr, d.port, HASH1, 0) % M;
      skip[k] = (mhHash(addr, d.port, HASH2, 0) % (M - 1)) + 1;
      const w = lw[k]!;
      turns[k] = Math.trunc(w / g) >> shift || (w !== 0 ? 1 : 0);
    }
    const taken = new Uint8Array(M);
    let filled = 0;
    let k = 0;
    let dt = 0;
    for (;;) {
      if (turns[k]! < 1) {
        k = k + 1 === count ? 0 : k + 1;
        continue;
      }
      let c = perm[k]!;
      while (taken[c]) {
        c += skip[k]!;
        if (c >= M) c -= M;
      }
      perm[k] = c;
      taken[c] = 1;
      this.lookup[c] = members[k]!;
      if (++filled === M) return;
      if (++dt >= turns[k]!) {
        dt = 0;
        k = k + 1 === count ? 0 : k + 1;
      }
    }
  }

  /**
   * The lookup table as the last update() built it (for the kernel engine, which programs it into nftables): per
   * position the index into `dests` of its destination, -1 where empty. Views: do not modify.
   */
  table(): { lookup: Readonly<Int32Array>; dests: readonly Dest[] } {
    return { lookup: this.lookup, dests: this.list.dests };
  }

  private note(i: number, d: Dest): void {
    const ok = isEligible(d) ? 1 : 0;
    this.usable += ok - this.memberOk[i]!;
    this.memberOk[i] = ok;
  }

  changed(dest: Dest): void {
    const i = this.list.slotOf(dest);
    if (i >= 0 && this.member[i]) this.note(i, dest);
  }

  pick(flow: Flow): Dest | null {
    const M = this.tableSize;
    const addr = foldAddress(flow.clientHost, flow.family);
    const port = this.usePort ? flow.clientPort : 0;
    const ihash = mhHash(addr, port, HASH1, 0) % M;
    let at = this.lookup[ihash]!;
    if (at < 0) return null;
    let d = this.list.dests[at]!;
    if (isEligible(d)) return d;
    if (!this.fallback || this.usable === 0) return null;
    // ip_vs_mh_get_fallback: rehash with offsets starting from the original position.
    for (let offset = 0; offset < M; offset++) {
      const roffset = offset + ihash < M ? offset + ihash : offset + ihash - M;
      at = this.lookup[mhHash(addr, port, HASH1, roffset) % M]!;
      if (at < 0) break;
      d = this.list.dests[at]!;
      if (isEligible(d)) return d;
    }
    return null;
  }

  done(): void {
    this.list.set([]);
    this.lookup.fill(-1);
    this.lastWeight.clear();
    this.usable = 0;
  }
}

/** An mh factory for another CONFIG_IP_VS_MH_TAB_INDEX (8..17); 12 is the stock kernel's. */
export function mhScheduler(configIndex: number): SchedulerFactory {
  return (options) => new MaglevHashing(options, configIndex);
}

export const mh: SchedulerFactory = (options: SchedulerOptions) => new MaglevHashing(options);
