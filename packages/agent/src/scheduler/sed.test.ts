import { describe, expect, it } from "vitest";
import { sedScan } from "./kernel-reference.js";
import { expectMatchesScan } from "./scan-equivalence.js";
import { sed } from "./sed.js";
import { heldSequence, makeDests, makeFlow, makeOptions } from "./testing.js";

describe("sed", () => {
  it.each([
    { weights: [3, 2, 1], n: 9, want: "A B A A B C A B A", why: "(active + 1)/weight, ties to the first" },
    { weights: [1, 3], n: 4, want: "B B A B", why: "unlike wlc, the heavier server takes the first connection" },
  ])("$why: $want", ({ weights, n, want }) => {
    const s = sed(makeOptions());
    s.update(makeDests(weights));
    expect(heldSequence(s, n)).toBe(want);
  });

  it("ignores inactive connections", () => {
    const list = makeDests([1, 1]);
    list[0]!.inactiveConns = 1000;
    const s = sed(makeOptions());
    s.update(list);
    expect(s.pick(makeFlow())).toBe(list[0]);
  });

  it("equals the kernel's linear scan under random churn", () => {
    expectMatchesScan(sed, (d) => sedScan(d));
  });
});
