/**
 * The property the indexed schedulers are built on, for their tests: under any churn of counters, overload
 * flags, weights, availability and list changes, pick() returns exactly the destination the kernel's linear
 * scan (kernel-reference.ts) returns. Counters include values whose cross products pass 2^53.
 */
import fc from "fast-check";
import { expect } from "vitest";
import { makeDest, makeDests, makeFlow, makeOptions, renumber, seededRandom, type TestDest } from "./testing.js";
import type { Dest, SchedulerFactory } from "./types.js";

type Op =
  | { t: "check" }
  | { t: "hold" }
  | { t: "release"; i: number }
  | { t: "counts"; i: number; active: number; inactive: number }
  | { t: "flag"; i: number; overloaded: boolean }
  | { t: "weight"; i: number; weight: number }
  | { t: "available"; i: number; available: boolean }
  | { t: "remove"; i: number }
  | { t: "add"; weight: number };

const weight = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 65535 }));
const count = fc.oneof(
  fc.integer({ min: 0, max: 5 }),
  fc.integer({ min: 0, max: 100_000 }),
  fc.constantFrom(2 ** 31 - 1, 2 ** 40, 2 ** 44 + 1, 2 ** 45 - 3),
);
const slot = fc.nat({ max: 63 });

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ t: "check" } as const) },
  { weight: 6, arbitrary: fc.constant({ t: "hold" } as const) },
  { weight: 3, arbitrary: slot.map((i) => ({ t: "release", i }) as const) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("counts" as const), i: slot, active: count, inactive: count }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("flag" as const), i: slot, overloaded: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("weight" as const), i: slot, weight }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("available" as const), i: slot, available: fc.boolean() }) },
  { weight: 1, arbitrary: slot.map((i) => ({ t: "remove", i }) as const) },
  { weight: 1, arbitrary: weight.map((w) => ({ t: "add", weight: w }) as const) },
);

/** Runs random churn and asserts after every step that the scheduler and the scan agree. */
export function expectMatchesScan(
  factory: SchedulerFactory,
  scan: (dests: readonly Dest[], random: () => number) => Dest | null,
  numRuns = 300,
): void {
  fc.assert(
    fc.property(fc.array(weight, { minLength: 1, maxLength: 12 }), fc.array(op, { maxLength: 120 }), fc.integer(), (weights, ops, seed) => {
      const oursRandom = seededRandom(seed);
      const scanRandom = seededRandom(seed);
      const s = factory(makeOptions({ random: oursRandom }));
      let list: TestDest[] = makeDests(weights);
      let added = list.length;
      s.update(list);
      const at = (i: number) => list[i % list.length];
      const flow = makeFlow();
      const check = () => expect(s.pick(flow)).toBe(scan(list, scanRandom));
      for (const o of ops) {
        switch (o.t) {
          case "check":
            break;
          case "hold": {
            const ours = s.pick(flow) as TestDest | null;
            expect(ours).toBe(scan(list, scanRandom));
            if (ours) {
              ours.activeConns++;
              s.changed(ours);
            }
            break;
          }
          case "release": {
            const d = at(o.i);
            if (d && d.activeConns > 0) {
              d.activeConns--;
              d.inactiveConns++;
              s.changed(d);
            }
            break;
          }
          case "counts": {
            const d = at(o.i);
            if (d) {
              d.activeConns = o.active;
              d.inactiveConns = o.inactive;
              s.changed(d);
            }
            break;
          }
          case "flag": {
            const d = at(o.i);
            if (d) {
              d.overloaded = o.overloaded;
              s.changed(d);
            }
            break;
          }
          case "weight": {
            const d = at(o.i);
            if (d) {
              d.weight = o.weight;
              s.update(list);
            }
            break;
          }
          case "available": {
            const d = at(o.i);
            if (d) {
              d.available = o.available;
              s.update(list);
            }
            break;
          }
          case "remove": {
            if (list.length === 0) break;
            const gone = at(o.i)!;
            list = renumber(list.filter((d) => d !== gone));
            s.update(list);
            // The connection table still reports the removed server's counters; they must not matter.
            gone.activeConns = 0;
            s.changed(gone);
            break;
          }
          case "add": {
            list = renumber([...list, makeDest(added++, o.weight)]);
            s.update(list);
            break;
          }
        }
        check();
      }
    }),
    { numRuns },
  );
}
