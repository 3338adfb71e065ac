import { describe, expect, it } from "vitest";
import { nqScan } from "./kernel-reference.js";
import { nq } from "./nq.js";
import { expectMatchesScan } from "./scan-equivalence.js";
import { heldSequence, makeDests, makeFlow, makeOptions } from "./testing.js";

describe("nq", () => {
  it.each([
    { weights: [3, 2, 1], n: 9, want: "A B C A A B A B A", why: "idle servers first, in list order, then sed" },
    { weights: [1, 100], n: 3, want: "A B B", why: "an idle slow server beats a busy fast one" },
  ])("$why: $want", ({ weights, n, want }) => {
    const s = nq(makeOptions());
    s.update(makeDests(weights));
    expect(heldSequence(s, n)).toBe(want);
  });

  it("takes the first idle server even when a later one has a better sed score", () => {
    const list = makeDests([1, 1, 50]);
    list[0]!.activeConns = 5;
    list[2]!.activeConns = 0;
    list[1]!.activeConns = 0;
    const s = nq(makeOptions());
    s.update(list);
    expect(s.pick(makeFlow())).toBe(list[1]);
  });

  it("equals the kernel's linear scan under random churn", () => {
    expectMatchesScan(nq, (d) => nqScan(d));
  });
});
