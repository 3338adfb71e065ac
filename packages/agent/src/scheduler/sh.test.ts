import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseIPv4 } from "./address.js";
import { sh } from "./sh.js";
import { clientFlow, makeDests, makeFlow, makeOptions, renumber, type TestDest } from "./testing.js";
import type { Dest, Scheduler } from "./types.js";

/** ip_vs_sh_hashkey in 64-bit arithmetic, as the kernel computes it. */
const hash = (addr: number, port: number, offset: number) =>
  Number((BigInt(offset) + ((BigInt(port) + BigInt(addr)) & 0xffffffffn) * 2654435761n) & 255n);

/** The kernel's table for these weights: each server `weight` consecutive buckets (at least one), cyclically. */
function kernelTable(weights: number[]): number[] {
  const table: number[] = [];
  let p = 0;
  let c = 0;
  while (table.length < 256) {
    table.push(p);
    if (++c >= weights[p]!) {
      p = (p + 1) % weights.length;
      c = 0;
    }
  }
  return table;
}

const moved = (before: Map<number, Dest | null>, s: Scheduler, n: number) => {
  let count = 0;
  for (let i = 0; i < n; i++) if (s.pick(clientFlow(i)) !== before.get(i)) count++;
  return count;
};

describe("sh", () => {
  it.each([
    { weights: [1, 1, 1], why: "one bucket each, in turn" },
    { weights: [2, 1], why: "A A B A A B …" },
    { weights: [3, 0, 5], why: "weight 0 still holds one bucket" },
    { weights: [300, 1], why: "a weight past 256 fills the table" },
  ])("tiles the 256-bucket table as the kernel does: $why", ({ weights }) => {
    const list = makeDests(weights);
    const s = sh(makeOptions());
    s.update(list);
    const table = kernelTable(weights);
    for (let i = 0; i < 2000; i++) {
      const f = clientFlow(i);
      const d = list[table[hash(parseIPv4(f.clientHost), 0, 0)]!]!;
      expect(s.pick(f)).toBe(d.weight > 0 ? d : null);
    }
  });

  it("hashes the client port too with sh-port", () => {
    const list = makeDests([1, 1, 1, 1, 1]);
    const s = sh(makeOptions({ flags: ["sh-port"] }));
    s.update(list);
    const table = kernelTable([1, 1, 1, 1, 1]);
    const seen = new Set<Dest | null>();
    for (let port = 1000; port < 1100; port++) {
      const f = makeFlow("192.0.2.1", port);
      const d = s.pick(f);
      expect(d).toBe(list[table[hash(parseIPv4(f.clientHost), port, 0)]!]);
      seen.add(d);
    }
    expect(seen.size).toBe(5);
  });

  it("without sh-fallback, a quiesced or overloaded server's clients get no server", () => {
    const list = makeDests([1, 1]);
    const s = sh(makeOptions());
    s.update(list);
    const f = makeFlow("192.0.2.1");
    const d = s.pick(f) as TestDest;
    d.overloaded = true;
    s.changed(d);
    expect(s.pick(f)).toBeNull();
  });

  it("with sh-fallback, probes offsets from the original hash (ip_vs_sh_get_fallback)", () => {
    const list = makeDests([1, 1, 1, 1]);
    const s = sh(makeOptions({ flags: ["sh-fallback"] }));
    s.update(list);
    list[0]!.overloaded = true;
    s.changed(list[0]!);
    list[1]!.weight = 0;
    s.update(list);
    const table = kernelTable([1, 0, 1, 1]);
    for (let i = 0; i < 500; i++) {
      const f = clientFlow(i);
      const addr = parseIPv4(f.clientHost);
      const ihash = hash(addr, 0, 0);
      let want: Dest | null = null;
      for (let off = -1; off < 256 && !want; off++) {
        const at = table[off < 0 ? ihash : hash(addr, 0, (off + ihash) % 256)]!;
        if (at >= 2) want = list[at]!;
      }
      expect(s.pick(f)).toBe(want);
    }
  });

  it("with sh-fallback, quiescing one of N weight-1 servers moves only its own clients", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 40 }), fc.nat(), (n, k) => {
        const list = makeDests(Array.from({ length: n }, () => 1));
        const s = sh(makeOptions({ flags: ["sh-fallback"] }));
        s.update(list);
        const quiet = list[k % n]!;
        const before = new Map<number, Dest | null>();
        for (let i = 0; i < 2000; i++) before.set(i, s.pick(clientFlow(i)));
        quiet.weight = 0;
        s.update(list);
        for (let i = 0; i < 2000; i++) {
          const now = s.pick(clientFlow(i));
          if (before.get(i) === quiet) expect(now).not.toBe(quiet);
          else expect(now).toBe(before.get(i));
        }
      }),
      { numRuns: 50 },
    );
  });

  it("is not consistent: removing a server re-tiles the table and moves most clients, as in the kernel", () => {
    const list = makeDests(Array.from({ length: 10 }, () => 1));
    const s = sh(makeOptions());
    s.update(list);
    const before = new Map<number, Dest | null>();
    for (let i = 0; i < 2000; i++) before.set(i, s.pick(clientFlow(i)));
    s.update(renumber(list.filter((_, i) => i !== 3)));
    expect(moved(before, s, 2000) / 2000).toBeGreaterThan(0.5);
  });
});
