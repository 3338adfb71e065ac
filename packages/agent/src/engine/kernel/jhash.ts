/**
 * The hash nftables' `jhash` expression computes (net/netfilter/nft_hash.c, nft_jhash_eval), in TypeScript, so
 * the agent can say where the kernel will send a flow without sending one (the simulator the tests and a console
 * "where would this client go?" use), and so two directors can be checked to agree.
 *
 *   bucket = reciprocal_scale(jhash(key, len, seed), mod) = (jhash × mod) >> 32
 *
 * jhash is Bob Jenkins' lookup3 as include/linux/jhash.h has it (initial value 0xdeadbeef + len + seed). The key is
 * the nft registers the expression reads: `ip saddr` is the 4 address bytes in network order (len 4);
 * `ip saddr . tcp sport` is the address, then the port in network order padded to a 32-bit register with zeros
 * (len 8). Words are read little-endian, as on the x86/arm64 directors this runs on (for keys of at most 12
 * bytes, all we hash, the kernel reads them byte-wise in that order on every CPU).
 *
 * FNV-1a (32 bit) derives each virtual service's fixed seed from its key ("tcp/10.0.0.1:80"): two directors with
 * the same configuration hash every client to the same bucket.
 */

const rol = (x: number, k: number) => (x << k) | (x >>> (32 - k));

/** Linux jhash(key, length, initval) for the byte string `k`. */
export function jhash(k: Uint8Array, initval: number): number {
  let length = k.length;
  let a = (0xdeadbeef + length + initval) | 0;
  let b = a;
  let c = a;
  let o = 0;
  while (length > 12) {
    a = (a + (k[o]! | (k[o + 1]! << 8) | (k[o + 2]! << 16) | (k[o + 3]! << 24))) | 0;
    b = (b + (k[o + 4]! | (k[o + 5]! << 8) | (k[o + 6]! << 16) | (k[o + 7]! << 24))) | 0;
    c = (c + (k[o + 8]! | (k[o + 9]! << 8) | (k[o + 10]! << 16) | (k[o + 11]! << 24))) | 0;
    // __jhash_mix
    a = (a - c) | 0;
    a ^= rol(c, 4);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rol(a, 6);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rol(b, 8);
    b = (b + a) | 0;
    a = (a - c) | 0;
    a ^= rol(c, 16);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rol(a, 19);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rol(b, 4);
    b = (b + a) | 0;
    length -= 12;
    o += 12;
  }
  if (length === 0) return c >>> 0;
  const at = (i: number, shift: number) => (i < length ? k[o + i]! << shift : 0);
  c = (c + (at(8, 0) | at(9, 8) | at(10, 16) | at(11, 24))) | 0;
  b = (b + (at(4, 0) | at(5, 8) | at(6, 16) | at(7, 24))) | 0;
  a = (a + (at(0, 0) | at(1, 8) | at(2, 16) | at(3, 24))) | 0;
  // __jhash_final
  c ^= b;
  c = (c - rol(b, 14)) | 0;
  a ^= c;
  a = (a - rol(c, 11)) | 0;
  b ^= a;
  b = (b - rol(a, 25)) | 0;
  c ^= b;
  c = (c - rol(b, 16)) | 0;
  a ^= c;
  a = (a - rol(c, 4)) | 0;
  b ^= a;
  b = (b - rol(a, 14)) | 0;
  c ^= b;
  c = (c - rol(b, 24)) | 0;
  return c >>> 0;
}

/** nft's `jhash KEY mod M seed S`: the bucket in [0, M). */
export function nftJhash(key: Uint8Array, mod: number, seed: number): number {
  return Number((BigInt(jhash(key, seed)) * BigInt(mod)) >> 32n);
}

/** The register bytes of `ip saddr` (port undefined) or `ip saddr . <proto> sport`. */
export function flowKey(host: string, port?: number): Uint8Array {
  const parts = host.split(".").map(Number);
  const k = new Uint8Array(port === undefined ? 4 : 8);
  k.set(parts, 0);
  if (port !== undefined) {
    k[4] = port >> 8;
    k[5] = port & 0xff;
  }
  return k;
}

/** 32-bit FNV-1a of a string's UTF-8 bytes. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(s)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
