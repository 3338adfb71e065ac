import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WrrReference } from "./kernel-reference.js";
import { makeDests, makeFlow, makeOptions, pickSequence, renumber, type TestDest } from "./testing.js";
import { wrr } from "./wrr.js";

describe("wrr", () => {
  it.each([
    { weights: [4, 3, 2], n: 18, want: "A A B A B C A B C A A B A B C A B C", why: "passes of cw = 4, 3, 2, 1" },
    { weights: [4, 0, 2], n: 6, want: "A A C A A C", why: "gcd 2: cw = 3, 1 (the di step)" },
    { weights: [1, 1, 1], n: 4, want: "A B C A", why: "equal weights are rr" },
    { weights: [6, 3], n: 6, want: "A A B A A B", why: "gcd 3: two passes" },
    { weights: [0, 0], n: 2, want: "- -", why: "all quiesced (mw = 0)" },
    { weights: [], n: 1, want: "-", why: "empty service" },
  ])("$why: $want", ({ weights, n, want }) => {
    const s = wrr(makeOptions());
    s.update(makeDests(weights));
    expect(pickSequence(s, n)).toBe(want);
  });

  it("steps over overloaded servers and returns none when all are", () => {
    const list = makeDests([4, 3, 2]);
    const s = wrr(makeOptions());
    s.update(list);
    list[0]!.overloaded = true;
    s.changed(list[0]!);
    expect(pickSequence(s, 5)).toBe("B B C B C");
    for (const d of list) {
      d.overloaded = true;
      s.changed(d);
    }
    expect(pickSequence(s, 2)).toBe("- -");
    list[2]!.overloaded = false;
    s.changed(list[2]!);
    expect(pickSequence(s, 2)).toBe("C C");
  });

  it("restarts from the head with cw pulled into range after a change (ip_vs_wrr_dest_changed)", () => {
    const list = makeDests([4, 3, 2]);
    const s = wrr(makeOptions());
    s.update(list);
    expect(pickSequence(s, 4)).toBe("A A B A"); // now in the cw = 2 pass, after A
    s.update(renumber([list[0]!, list[2]!])); // B removed: di 2, mw 3, cw = (2/2)·2 + 1 = 3
    expect(pickSequence(s, 3)).toBe("A A C");
  });

  it("one heavy server among light ones costs no scans of empty passes", () => {
    const list = makeDests([65535, ...Array.from({ length: 999 }, () => 1)]);
    const s = wrr(makeOptions());
    s.update(list);
    const picks = new Map<string, number>();
    for (let i = 0; i < 65535 + 999; i++) {
      const d = s.pick(makeFlow()) as TestDest;
      picks.set(d.name, (picks.get(d.name) ?? 0) + 1);
    }
    expect(picks.get("A")).toBe(65535);
    expect(picks.size).toBe(1000);
  });

  it("equals the kernel's loop, line for line, under overload churn and updates", () => {
    const weight = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 12 }), fc.constantFrom(60, 64, 96, 300));
    const op = fc.oneof(
      fc.constant({ t: "pick" as const }),
      fc.constant({ t: "pick" as const }),
      fc.record({ t: fc.constant("flag" as const), i: fc.nat(), on: fc.boolean() }),
      fc.record({ t: fc.constant("weight" as const), i: fc.nat(), w: weight }),
      fc.record({ t: fc.constant("available" as const), i: fc.nat(), on: fc.boolean() }),
      fc.record({ t: fc.constant("remove" as const), i: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(weight, { minLength: 1, maxLength: 8 }), fc.array(op, { maxLength: 150 }), (weights, ops) => {
        let list = makeDests(weights);
        const s = wrr(makeOptions());
        const ref = new WrrReference();
        s.update(list);
        ref.update(list);
        for (const o of ops) {
          const d = list.length ? list[(o.t === "pick" ? 0 : o.i) % list.length]! : undefined;
          if (o.t === "pick") {
            expect(s.pick(makeFlow())).toBe(ref.pick());
            continue;
          }
          if (!d) continue;
          if (o.t === "flag") {
            d.overloaded = o.on;
            s.changed(d);
            continue;
          }
          if (o.t === "weight") d.weight = o.w;
          if (o.t === "available") d.available = o.on;
          if (o.t === "remove") list = renumber(list.filter((x) => x !== d));
          s.update(list);
          ref.update(list);
        }
      }),
      { numRuns: 300 },
    );
  });
});
