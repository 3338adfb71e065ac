/**
 * Integer load arithmetic shared by the least-connection family, as the kernel does it: no division, compare
 * `overhead_a * weight_b` with `overhead_b * weight_a` (include/net/ip_vs.h, ip_vs_wlc.c).
 *
 * Products can leave the exact range of a double: an overhead of 2^31 active connections × 256 times a weight
 * of 65535 is about 2^55. `productLess` is exact for all non-negative integers: when both products are at most
 * 2^53 - 1 they were computed exactly (a rounded product of integers is ≥ 2^53 whenever the exact one is), when
 * only one is larger the answer is known, and only when both are larger does it fall back to BigInt — a path
 * that needs hundreds of millions of connections on one real server to be reached.
 */
import type { Dest } from "./types.js";

const MAX_EXACT = Number.MAX_SAFE_INTEGER;

/** ip_vs_dest_conn_overhead(): an active connection costs 256 inactive ones. Used by lc, wlc, lblc, lblcr, twos. */
export function connOverhead(d: Dest): number {
  return d.activeConns * 256 + d.inactiveConns;
}

/** The overhead sed and nq use: active connections plus the one being scheduled. */
export function sedOverhead(d: Dest): number {
  return d.activeConns + 1;
}

/** a·b < c·d, exactly, for non-negative integers. */
export function productLess(a: number, b: number, c: number, d: number): boolean {
  const p = a * b;
  const q = c * d;
  if (p <= MAX_EXACT) return q > MAX_EXACT || p < q;
  if (q <= MAX_EXACT) return false;
  if (!Number.isInteger(a) || !Number.isInteger(b) || !Number.isInteger(c) || !Number.isInteger(d)) return p < q;
  return BigInt(a) * BigInt(b) < BigInt(c) * BigInt(d);
}

/** Greatest common divisor of two positive integers. */
export function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}
