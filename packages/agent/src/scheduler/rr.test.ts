import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RrReference } from "./kernel-reference.js";
import { rr } from "./rr.js";
import { makeDests, makeFlow, makeOptions, pickSequence, renumber } from "./testing.js";

describe("rr", () => {
  it.each([
    { weights: [1, 1, 1], n: 7, want: "A B C A B C A", why: "one each, in turn" },
    { weights: [5, 1, 3], n: 6, want: "A B C A B C", why: "weights other than 0 do not matter" },
    { weights: [1, 0, 1], n: 4, want: "A C A C", why: "weight 0 is stepped over" },
    { weights: [0, 0], n: 2, want: "- -", why: "nothing eligible" },
    { weights: [], n: 1, want: "-", why: "empty service" },
  ])("$why: $want", ({ weights, n, want }) => {
    const s = rr(makeOptions());
    s.update(makeDests(weights));
    expect(pickSequence(s, n)).toBe(want);
  });

  it("steps over overloaded and unavailable servers without losing its place", () => {
    const list = makeDests([1, 1, 1, 1]);
    const s = rr(makeOptions());
    s.update(list);
    expect(pickSequence(s, 1)).toBe("A");
    list[1]!.overloaded = true;
    s.changed(list[1]!);
    list[2]!.available = false;
    s.update(list);
    expect(pickSequence(s, 3)).toBe("D A D");
    list[1]!.overloaded = false;
    s.changed(list[1]!);
    expect(pickSequence(s, 2)).toBe("A B");
  });

  it("continues after a removed server with the one that followed it (ip_vs_rr_del_dest)", () => {
    const list = makeDests([1, 1, 1, 1]);
    const s = rr(makeOptions());
    s.update(list);
    expect(pickSequence(s, 2)).toBe("A B");
    s.update(renumber([list[0]!, list[2]!, list[3]!]));
    expect(pickSequence(s, 3)).toBe("C D A");
  });

  it("keeps its place when a server is added", () => {
    const list = makeDests([1, 1, 1, 1]);
    const s = rr(makeOptions());
    s.update(list.slice(0, 3));
    expect(pickSequence(s, 2)).toBe("A B");
    s.update(list);
    expect(pickSequence(s, 4)).toBe("C D A B");
  });

  it("equals the kernel's loop while overload flags churn", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 10 }), fc.array(fc.nat({ max: 40 }), { maxLength: 80 }), (weights, flips) => {
        const list = makeDests(weights);
        const s = rr(makeOptions());
        const ref = new RrReference();
        s.update(list);
        ref.update(list);
        for (const f of flips) {
          const d = list[f % list.length]!;
          if (f >= 20) {
            d.overloaded = !d.overloaded;
            s.changed(d);
          }
          expect(s.pick(makeFlow())).toBe(ref.pick());
        }
      }),
    );
  });
});
