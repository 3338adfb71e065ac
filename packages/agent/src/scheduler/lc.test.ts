import { describe, expect, it } from "vitest";
import { lcScan } from "./kernel-reference.js";
import { lc } from "./lc.js";
import { expectMatchesScan } from "./scan-equivalence.js";
import { heldSequence, makeDests, makeFlow, makeOptions } from "./testing.js";

describe("lc", () => {
  it.each([
    { weights: [3, 2, 1], n: 6, want: "A B C A B C", why: "weights other than 0 do not matter" },
    { weights: [1, 0, 1], n: 4, want: "A C A C", why: "weight 0 is quiesced" },
  ])("$why: $want", ({ weights, n, want }) => {
    const s = lc(makeOptions());
    s.update(makeDests(weights));
    expect(heldSequence(s, n)).toBe(want);
  });

  it("prefers fewer inactive connections when active counts tie", () => {
    const list = makeDests([1, 1, 1]);
    list[0]!.inactiveConns = 2;
    list[1]!.inactiveConns = 1;
    list[2]!.inactiveConns = 1;
    const s = lc(makeOptions());
    s.update(list);
    expect(s.pick(makeFlow())).toBe(list[1]);
  });

  it("equals the kernel's linear scan under random churn", () => {
    expectMatchesScan(lc, (d) => lcScan(d));
  });
});
