import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { twosScan } from "./kernel-reference.js";
import { expectMatchesScan } from "./scan-equivalence.js";
import { makeDests, makeFlow, makeOptions, seededRandom, type TestDest } from "./testing.js";
import { twos } from "./twos.js";

/** A random() that returns these values in turn. */
const scripted = (values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

describe("twos", () => {
  it.each([
    // A=1 B=1: total = 3, r = ⌊x·3⌋; r 0 and 1 both land on A, r 2 on B.
    { weights: [1, 1], loadA: 0, randoms: [0.0, 0.99], want: "A", why: "equal load: the first choice stays" },
    { weights: [1, 1], loadA: 1, randoms: [0.0, 0.99], want: "B", why: "the second choice is strictly less loaded" },
    { weights: [1, 1], loadA: 1, randoms: [0.99, 0.0], want: "B", why: "the first choice is kept when not beaten" },
    { weights: [1, 1], loadA: 1, randoms: [0.4, 0.5], want: "A", why: "r = 1 and r = 0 both give the first server" },
    { weights: [1, 3], loadA: 0, randoms: [0.5, 0.5], want: "B", why: "total 5, r = 2: past A's weight of 1" },
  ])("$why", ({ weights, loadA, randoms, want }) => {
    const list = makeDests(weights);
    list[0]!.activeConns = loadA;
    const s = twos(makeOptions({ random: scripted(randoms) }));
    s.update(list);
    expect((s.pick(makeFlow()) as TestDest).name).toBe(want);
  });

  it("draws two random numbers per pick, and none when nothing is eligible", () => {
    let calls = 0;
    const random = () => {
      calls++;
      return 0.5;
    };
    const list = makeDests([1, 2, 3]);
    const s = twos(makeOptions({ random }));
    s.update(list);
    s.pick(makeFlow());
    expect(calls).toBe(2);
    for (const d of list) {
      d.overloaded = true;
      s.changed(d);
    }
    expect(s.pick(makeFlow())).toBeNull();
    expect(calls).toBe(2);
  });

  it("spreads in proportion to weight on an idle service", () => {
    const list = makeDests([1, 2, 7]);
    const s = twos(makeOptions({ random: seededRandom(7) }));
    s.update(list);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[(s.pick(makeFlow()) as TestDest).index]!++;
    // Both draws are weight-proportional and the first wins ties, so shares follow the draws of choice 1.
    expect(counts[0]! / 30_000).toBeCloseTo(2 / 11, 1);
    expect(counts[2]! / 30_000).toBeCloseTo(7 / 11, 1);
  });

  it("the Fenwick search picks what the kernel's subtraction loop picks, for the same random numbers", () => {
    expectMatchesScan(twos, (dests, random) => twosScan(dests, random), 400);
  });

  it("agrees with the loop at 1,000 servers", () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const list = makeDests(Array.from({ length: 1000 }, (_, i) => (i * 7919) % 13));
        const s = twos(makeOptions({ random: seededRandom(seed) }));
        s.update(list);
        const ref = seededRandom(seed);
        for (let i = 0; i < 200; i++) {
          const d = s.pick(makeFlow()) as TestDest;
          expect(d).toBe(twosScan(list, ref));
          d.activeConns++;
          s.changed(d);
        }
      }),
      { numRuns: 20 },
    );
  });
});
