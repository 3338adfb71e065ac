import { describe, expect, it } from "vitest";
import { fo } from "./fo.js";
import { foScan } from "./kernel-reference.js";
import { expectMatchesScan } from "./scan-equivalence.js";
import { makeDests, makeFlow, makeOptions, type TestDest } from "./testing.js";

describe("fo", () => {
  it.each([
    { weights: [2, 5, 5, 1], down: [], want: "B", why: "highest weight, first on ties" },
    { weights: [2, 5, 5, 1], down: [1], want: "C", why: "the next of equal weight takes over" },
    { weights: [2, 5, 5, 1], down: [1, 2], want: "A", why: "then the next heaviest" },
    { weights: [2, 5, 5, 1], down: [0, 1, 2, 3], want: "-", why: "none left" },
    { weights: [0, 0], down: [], want: "-", why: "all quiesced" },
  ])("$why", ({ weights, down, want }) => {
    const list = makeDests(weights);
    const s = fo(makeOptions());
    s.update(list);
    for (const i of down) {
      list[i]!.overloaded = true;
      s.changed(list[i]!);
    }
    expect((s.pick(makeFlow()) as TestDest | null)?.name ?? "-").toBe(want);
  });

  it("ignores connection counts", () => {
    const list = makeDests([1, 2]);
    list[1]!.activeConns = 1e6;
    const s = fo(makeOptions());
    s.update(list);
    expect(s.pick(makeFlow())).toBe(list[1]);
  });

  it("equals the kernel's linear scan under random churn", () => {
    expectMatchesScan(fo, (d) => foScan(d));
  });
});
