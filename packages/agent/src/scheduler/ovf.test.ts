import { describe, expect, it } from "vitest";
import { ovfScan } from "./kernel-reference.js";
import { ovf } from "./ovf.js";
import { expectMatchesScan } from "./scan-equivalence.js";
import { heldSequence, makeDests, makeOptions } from "./testing.js";

describe("ovf", () => {
  it.each([
    { weights: [2, 3], n: 8, want: "B B B B A A A -", why: "the heaviest until activeConns > weight, then overflow" },
    { weights: [3, 3], n: 5, want: "A A A A B", why: "ties to the first" },
    { weights: [0, 1], n: 3, want: "B B -", why: "weight 0 takes nothing" },
  ])("$why: $want", ({ weights, n, want }) => {
    const s = ovf(makeOptions());
    s.update(makeDests(weights));
    expect(heldSequence(s, n)).toBe(want);
  });

  it("equals the kernel's linear scan under random churn", () => {
    expectMatchesScan(ovf, (d) => ovfScan(d));
  });
});
