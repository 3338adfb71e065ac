/**
 * The kernel's hsiphash() of one 32-bit word, as a 64-bit kernel computes it (lib/siphash.c): on 64-bit
 * machines HalfSipHash-1-3 "is actually SipHash-1-3", keyed with two unsigned longs, and returns the low 32 bits
 * of v0^v1^v2^v3. mh hashes 4-byte values only, so the message is one final block: b = 4 << 56 | value.
 * (A 32-bit kernel runs the real HalfSipHash-1-3 and builds different mh tables; we follow 64-bit kernels.)
 *
 * 64-bit lanes are held as pairs of unsigned 32-bit halves, so the hot path needs no BigInt.
 */

/** SipHash state after the key is mixed in: [v0 hi, v0 lo, v1 hi, v1 lo, v2 hi, v2 lo, v3 hi, v3 lo]. */
export type HsipKey = readonly number[];

/** The preamble for key {k0, k1}, each an unsigned 64-bit value given as a non-negative integer < 2^53. */
export function hsipKey(k0: number, k1: number): HsipKey {
  const k0h = Math.floor(k0 / 2 ** 32) >>> 0;
  const k0l = k0 >>> 0;
  const k1h = Math.floor(k1 / 2 ** 32) >>> 0;
  const k1l = k1 >>> 0;
  return [
    (0x736f6d65 ^ k0h) >>> 0,
    (0x70736575 ^ k0l) >>> 0,
    (0x646f7261 ^ k1h) >>> 0,
    (0x6e646f6d ^ k1l) >>> 0,
    (0x6c796765 ^ k0h) >>> 0,
    (0x6e657261 ^ k0l) >>> 0,
    (0x74656462 ^ k1h) >>> 0,
    (0x79746573 ^ k1l) >>> 0,
  ];
}

/** hsiphash(&value, 4, key) on a 64-bit kernel: SipHash-1-3 of the little-endian bytes of a u32. */
export function hsiphash32(value: number, key: HsipKey): number {
  let v0h = key[0]!;
  let v0l = key[1]!;
  let v1h = key[2]!;
  let v1l = key[3]!;
  let v2h = key[4]!;
  let v2l = key[5]!;
  let v3h = key[6]!;
  let v3l = key[7]!;
  const bh = 0x04000000; // length 4 in the top byte
  const bl = value >>> 0;
  v3h = (v3h ^ bh) >>> 0;
  v3l = (v3l ^ bl) >>> 0;
  let s: number;
  let th: number;
  let tl: number;
  // One compression round, then v0 ^= b, v2 ^= 0xff, then three finalization rounds.
  for (let round = 0; round < 4; round++) {
    if (round === 1) {
      v0h = (v0h ^ bh) >>> 0;
      v0l = (v0l ^ bl) >>> 0;
      v2l = (v2l ^ 0xff) >>> 0;
    }
    // v0 += v1; v1 = rol(v1, 13); v1 ^= v0; v0 = rol(v0, 32)
    s = v0l + v1l;
    v0l = s >>> 0;
    v0h = (v0h + v1h + (s > 0xffffffff ? 1 : 0)) >>> 0;
    th = ((v1h << 13) | (v1l >>> 19)) >>> 0;
    tl = ((v1l << 13) | (v1h >>> 19)) >>> 0;
    v1h = (th ^ v0h) >>> 0;
    v1l = (tl ^ v0l) >>> 0;
    th = v0h;
    v0h = v0l;
    v0l = th;
    // v2 += v3; v3 = rol(v3, 16); v3 ^= v2
    s = v2l + v3l;
    v2l = s >>> 0;
    v2h = (v2h + v3h + (s > 0xffffffff ? 1 : 0)) >>> 0;
    th = ((v3h << 16) | (v3l >>> 16)) >>> 0;
    tl = ((v3l << 16) | (v3h >>> 16)) >>> 0;
    v3h = (th ^ v2h) >>> 0;
    v3l = (tl ^ v2l) >>> 0;
    // v0 += v3; v3 = rol(v3, 21); v3 ^= v0
    s = v0l + v3l;
    v0l = s >>> 0;
    v0h = (v0h + v3h + (s > 0xffffffff ? 1 : 0)) >>> 0;
    th = ((v3h << 21) | (v3l >>> 11)) >>> 0;
    tl = ((v3l << 21) | (v3h >>> 11)) >>> 0;
    v3h = (th ^ v0h) >>> 0;
    v3l = (tl ^ v0l) >>> 0;
    // v2 += v1; v1 = rol(v1, 17); v1 ^= v2; v2 = rol(v2, 32)
    s = v2l + v1l;
    v2l = s >>> 0;
    v2h = (v2h + v1h + (s > 0xffffffff ? 1 : 0)) >>> 0;
    th = ((v1h << 17) | (v1l >>> 15)) >>> 0;
    tl = ((v1l << 17) | (v1h >>> 15)) >>> 0;
    v1h = (th ^ v2h) >>> 0;
    v1l = (tl ^ v2l) >>> 0;
    th = v2h;
    v2h = v2l;
    v2l = th;
  }
  return (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
}
