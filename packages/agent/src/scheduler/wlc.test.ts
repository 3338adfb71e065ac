import { describe, expect, it } from "vitest";
import { wlcScan } from "./kernel-reference.js";
import { expectMatchesScan } from "./scan-equivalence.js";
import { heldSequence, makeDests, makeFlow, makeOptions } from "./testing.js";
import { wlc } from "./wlc.js";

describe("wlc", () => {
  it.each([
    { weights: [3, 2, 1], n: 9, want: "A B C A B A A B C", why: "every connection held open: overhead/weight, ties to the first" },
    { weights: [1, 1, 1], n: 6, want: "A B C A B C", why: "equal weights behave like rr while connections stay open" },
    { weights: [0, 2, 1], n: 6, want: "B C B B C B", why: "weight 0 is quiesced" },
    { weights: [65535, 1], n: 5, want: "A B A A A", why: "an idle server wins, then weight decides" },
  ])("$why: $want", ({ weights, n, want }) => {
    const s = wlc(makeOptions());
    s.update(makeDests(weights));
    expect(heldSequence(s, n)).toBe(want);
  });

  it("counts an active connection as 256 inactive ones", () => {
    const [a, b] = makeDests([1, 1]);
    a!.inactiveConns = 255;
    b!.activeConns = 1;
    const s = wlc(makeOptions());
    s.update([a!, b!]);
    expect(s.pick(makeFlow())).toBe(a);
    a!.inactiveConns = 256;
    s.changed(a!);
    expect(s.pick(makeFlow())).toBe(a); // 256/1 vs 256/1: tie, first
    a!.inactiveConns = 257;
    s.changed(a!);
    expect(s.pick(makeFlow())).toBe(b);
  });

  it("compares exactly where products pass 2^53", () => {
    // A: (3·2^51 + 2)/3, B: (2^52 + 1)/2. Cross products 3·2^52 + 4 and 3·2^52 + 3: A is more loaded by one,
    // but as doubles both round to 3·2^52 + 4, which would make it a tie and pick A.
    const [a, b] = makeDests([3, 2]);
    a!.inactiveConns = 3 * 2 ** 51 + 2;
    b!.inactiveConns = 2 ** 52 + 1;
    expect(a!.inactiveConns * 2).toBe(b!.inactiveConns * 3);
    const s = wlc(makeOptions());
    s.update([a!, b!]);
    expect(s.pick(makeFlow())).toBe(b);
    expect(wlcScan([a!, b!])).toBe(b);
  });

  it("equals the kernel's linear scan under random churn", () => {
    expectMatchesScan(wlc, (d) => wlcScan(d), 400);
  });
});
