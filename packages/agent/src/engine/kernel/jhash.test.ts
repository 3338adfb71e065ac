import { describe, expect, it } from "vitest";
import { flowKey, fnv1a32, jhash, nftJhash } from "./jhash.js";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("jhash (include/linux/jhash.h) and nft's jhash expression", () => {
  it.each([
    // Bob Jenkins' lookup3 driver's published values for hashlittle(), which Linux jhash() is.
    { key: "", seed: 0, want: 0xdeadbeef, what: "empty key" },
    { key: "", seed: 0xdeadbeef, want: 0xbd5b7dde, what: "empty key, seed" },
    { key: "Four score and seven years ago", seed: 0, want: 0x17770551, what: "30 bytes (two 12-byte rounds + tail)" },
    { key: "Four score and seven years ago", seed: 1, want: 0xcd628161, what: "30 bytes, seed 1" },
  ])("$what", ({ key, seed, want }) => {
    expect(jhash(bytes(key), seed)).toBe(want);
  });

  it.each([
    // Observed in a network namespace: a rule `jhash ip saddr [. udp sport] mod M seed 0xef2713da N` counted
    // the packet sent from that address (and port 5000) for exactly these N.
    { host: "10.9.0.1", mod: 256, want: 81 },
    { host: "10.9.0.2", mod: 256, want: 45 },
    { host: "10.9.0.3", mod: 256, want: 215 },
    { host: "10.9.0.1", port: 5000, mod: 4093, want: 1219 },
    { host: "10.9.0.2", port: 5000, mod: 4093, want: 2789 },
  ])("agrees with the kernel: $host $port mod $mod → $want", ({ host, port, mod, want }) => {
    expect(nftJhash(flowKey(host, port), mod, 0xef2713da)).toBe(want);
  });

  it("hashes the registers nft loads: the address in network order, the port padded to 32 bits", () => {
    expect([...flowKey("10.1.2.3")]).toEqual([10, 1, 2, 3]);
    expect([...flowKey("10.1.2.3", 0x1f90)]).toEqual([10, 1, 2, 3, 0x1f, 0x90, 0, 0]);
  });

  it("derives the service seed with FNV-1a: fixed, and different per service", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("tcp/10.201.0.1:80")).toBe(0xef2713da);
    expect(fnv1a32("tcp/10.201.0.1:81")).not.toBe(fnv1a32("tcp/10.201.0.1:80"));
  });

  it("spreads buckets evenly (reciprocal_scale of a 32-bit hash)", () => {
    const counts = new Array(256).fill(0);
    for (let i = 0; i < 256 * 200; i++) counts[nftJhash(flowKey(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`), 256, 12345)]++;
    expect(Math.min(...counts)).toBeGreaterThan(140);
    expect(Math.max(...counts)).toBeLessThan(260);
  });
});
