import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { foldAddress } from "../../scheduler/address.js";
import { dh } from "../../scheduler/dh.js";
import { MaglevHashing } from "../../scheduler/mh.js";
import { SH_TAB_SIZE, sh, shHash } from "../../scheduler/sh.js";
import { clientFlow, makeDests, makeOptions, type TestDest } from "../../scheduler/testing.js";
import type { Dest } from "../../scheduler/types.js";
import { hashBuckets, MH_KERNEL_CONFIG_INDEX, MH_KERNEL_TABLE_SIZE, maglevPositions, ranges } from "./tables.js";

const names = (t: readonly (TestDest | null)[]) => t.map((d) => d?.name ?? "-");

/** Weights and states of up to 8 destinations: weight 0..4, some unavailable or overloaded. */
const destsArb = fc.array(fc.record({ weight: fc.integer({ min: 0, max: 4 }), available: fc.boolean(), overloaded: fc.boolean() }), { minLength: 1, maxLength: 8 });
const build = (spec: { weight: number; available: boolean; overloaded: boolean }[]) =>
  makeDests(spec.map((s) => s.weight)).map((d, i) => Object.assign(d, { available: spec[i]!.available || i === 0, overloaded: spec[i]!.overloaded && i > 0 }));

describe("sh and dh tables (ip_vs_sh.c, ip_vs_dh.c)", () => {
  it.each([
    { weights: [128, 64, 64], sched: "sh" as const, fallback: false, want: "0-127 A, 128-191 B, 192-255 C", what: "weights tile consecutive buckets in list order" },
    { weights: [1, 1, 1], sched: "sh" as const, fallback: false, want: "0 A, 1 B, 2 C, 3 A", what: "weight 1 each: one bucket each, cyclically" },
    { weights: [128, 0, 64], sched: "sh" as const, fallback: false, want: "0-127 A, 129-192 C, 193-255 A", what: "quiesced: keeps one bucket, which has no destination" },
    { weights: [128, 0, 64], sched: "sh" as const, fallback: true, want: "0-128 A, 129-192 C, 193-255 A", what: "sh-fallback: bucket 128 probes 2·128+k mod 256 → bucket 0 → A" },
    { weights: [5, 1], sched: "dh" as const, fallback: false, want: "0 A, 1 B, 2 A", what: "dh: one bucket each whatever the weight" },
  ])("$what", ({ weights, sched, fallback, want }) => {
    const list = makeDests(weights);
    const r = ranges(names(hashBuckets(list, sched, fallback)).map((n) => (n === "-" ? null : n)));
    const text = r.map((x) => `${x.from === x.to ? x.from : `${x.from}-${x.to}`} ${x.value}`).join(", ");
    expect(text.startsWith(want)).toBe(true);
  });

  it("an unavailable real server is out of the table: the others re-tile it (as a deleted destination)", () => {
    const list = makeDests([128, 64, 64]);
    list[1]!.available = false;
    expect(ranges(names(hashBuckets(list, "sh", false))).map((x) => `${x.from}-${x.to} ${x.value}`)).toEqual(["0-127 A", "128-191 C", "192-255 A"]);
  });

  it("sh: every client of a bucket gets what the userspace sh (the kernel's algorithm) gives it, fallback included", () => {
    fc.assert(
      fc.property(destsArb, fc.boolean(), fc.boolean(), (spec, fallback, port) => {
        const list = build(spec);
        const flags = [...(fallback ? (["sh-fallback"] as const) : []), ...(port ? (["sh-port"] as const) : [])];
        const s = sh(makeOptions({ flags: [...flags] }));
        s.update(list);
        const table = hashBuckets(list, "sh", fallback);
        for (let i = 0; i < 600; i++) {
          const f = clientFlow(i);
          const bucket = shHash(foldAddress(f.clientHost, 4), port ? f.clientPort : 0, 0);
          expect(table[bucket]?.name ?? null).toBe((s.pick(f) as TestDest | null)?.name ?? null);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("dh: every destination address of a bucket gets what the userspace dh gives it", () => {
    fc.assert(
      fc.property(destsArb, (spec) => {
        const list = build(spec);
        const s = dh(makeOptions());
        s.update(list);
        const table = hashBuckets(list, "dh", false);
        for (let i = 0; i < 300; i++) {
          const f = clientFlow(0, clientFlow(i).clientHost);
          expect(table[shHash(foldAddress(f.vHost, 4), 0, 0)]?.name ?? null).toBe((s.pick(f) as TestDest | null)?.name ?? null);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("has 256 buckets", () => {
    expect(hashBuckets(makeDests([1]), "sh", false)).toHaveLength(SH_TAB_SIZE);
  });
});

describe("mh table (ip_vs_mh.c) at the kernel's default size", () => {
  const table = (weights: number[], drop?: number, fallback = false, mutate?: (d: TestDest[]) => void) => {
    const m = new MaglevHashing(makeOptions({ flags: fallback ? ["mh-fallback"] : [] }), MH_KERNEL_CONFIG_INDEX);
    const list = makeDests(weights);
    m.update(list);
    if (mutate) {
      mutate(list);
      m.update(list);
    }
    if (drop !== undefined) m.update(list.filter((_, i) => i !== drop));
    return maglevPositions<TestDest>(m, fallback).map((d) => d?.address ?? null);
  };

  it("is M = 4093 positions (CONFIG_IP_VS_MH_TAB_INDEX=12), each server's share in proportion to its weight", () => {
    const t = table([1, 2, 3, 2]);
    expect(t).toHaveLength(MH_KERNEL_TABLE_SIZE);
    const list = makeDests([1, 2, 3, 2]);
    list.forEach((d, i) => {
      const share = t.filter((a) => a === d.address).length / MH_KERNEL_TABLE_SIZE;
      expect(Math.abs(share - [1, 2, 3, 2][i]! / 8)).toBeLessThan(0.01);
    });
  });

  it.each([3, 5, 10, 50, 200])("consistent hashing: removing one of %i servers moves its own ≈1/N of the positions and at most 3%% of the others'", (n) => {
    const weights = new Array<number>(n).fill(1);
    const before = table(weights);
    for (const j of [0, Math.floor(n / 2), n - 1]) {
      const after = table(weights, j);
      const gone = makeDests(weights)[j]!.address;
      let own = 0;
      let others = 0;
      before.forEach((a, b) => {
        if (a === gone) own++;
        else if (a !== after[b]) others++;
      });
      // Its own positions all move (nothing maps to a removed server) and were about 1/N of the table …
      expect(after).not.toContain(gone);
      expect(Math.abs(own / MH_KERNEL_TABLE_SIZE - 1 / n)).toBeLessThan(0.25 / n);
      // … and Maglev's refill disturbs only a few of the others' (measured: ≤ 2.6% up to N = 1000 at M = 4093),
      // where a re-tiled table (sh) moves most of them.
      expect(others / MH_KERNEL_TABLE_SIZE).toBeLessThan(0.03);
    }
  });

  it("sh for contrast: removing one of 10 re-tiles the table and moves most positions", () => {
    const list = makeDests(new Array(10).fill(1));
    const before = hashBuckets(list, "sh", false).map((d) => d?.address);
    const after = hashBuckets(list.slice(1), "sh", false).map((d) => d?.address);
    expect(before.filter((a, b) => a !== after[b]).length / SH_TAB_SIZE).toBeGreaterThan(0.8);
  });

  it("draining one of three with mh-fallback moves only that server's positions (last_weight keeps the table)", () => {
    const before = table([1, 1, 1], undefined, true);
    const after = table([1, 1, 1], undefined, true, (l) => {
      l[1]!.weight = 0;
    });
    const drained = makeDests([1, 1, 1])[1]!.address;
    let moved = 0;
    before.forEach((a, b) => {
      if (a === drained) {
        expect(after[b]).not.toBe(drained);
        expect(after[b]).not.toBeNull();
        moved++;
      } else expect(after[b]).toBe(a);
    });
    expect(Math.abs(moved / MH_KERNEL_TABLE_SIZE - 1 / 3)).toBeLessThan(0.01);
    // The drained server's positions spread over both others.
    const to = new Set(after.filter((_, b) => before[b] === drained));
    expect(to.size).toBe(2);
  });

  it("without mh-fallback a drained server's positions have no destination (IPVS returns NULL)", () => {
    const after = table([1, 1, 1], undefined, false, (l) => {
      l[1]!.weight = 0;
    });
    expect(after.filter((a) => a === null).length / MH_KERNEL_TABLE_SIZE).toBeCloseTo(1 / 3, 2);
  });
});

describe("ranges", () => {
  it("compresses runs and leaves out positions without a value", () => {
    expect(ranges(["a", "a", null, "b", "b", "a"])).toEqual([
      { from: 0, to: 1, value: "a" },
      { from: 3, to: 4, value: "b" },
      { from: 5, to: 5, value: "a" },
    ]);
    expect(ranges<Dest>([null, null])).toEqual([]);
  });
});
