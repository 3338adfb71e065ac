/**
 * Rules every registered scheduler obeys, run against each one: eligibility, null when nothing is eligible,
 * answers only from the given list, update() takes effect, and determinism under injected random and clock.
 */
import type { SchedulerFlag, SchedulerName } from "@director/model";
import { SCHEDULER_NAMES } from "@director/model";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createScheduler, schedulers } from "./registry.js";
import { clientFlow, makeClock, makeDest, makeDests, makeOptions, renumber, seededRandom, type TestDest } from "./testing.js";
import type { Dest, Flow, Scheduler } from "./types.js";
import { isEligible } from "./types.js";

/** Hashing schedulers may answer none for an eligible-looking service; fallback flags make them search. */
const FLAGS: Partial<Record<SchedulerName, SchedulerFlag[]>> = { sh: ["sh-fallback"], mh: ["mh-fallback"] };

/** Flows that vary everything the schedulers hash on: client, port, and destination address (lblc, dh). */
const flowAt = (n: number): Flow => clientFlow(n, `198.51.100.${n % 7}`);

interface Run {
  picks: (string | null)[];
}

/** A scripted life of a service: picks with connections opened and closed, flags, weight and list changes. */
function life(name: SchedulerName, seed: number, steps: number): Run {
  const clock = makeClock(1_000);
  const random = seededRandom(seed);
  const ops = seededRandom(seed ^ 0x5bd1e995);
  const s = createScheduler(name, makeOptions({ flags: FLAGS[name] ?? [], now: clock.now, random }));
  let list = makeDests([3, 1, 4, 1, 5, 9, 2, 6]);
  s.update(list);
  const open: TestDest[] = [];
  const picks: (string | null)[] = [];
  for (let i = 0; i < steps; i++) {
    clock.advance(Math.floor(ops() * 120_000));
    const r = ops();
    const d = list[Math.floor(ops() * list.length)];
    if (r < 0.6 || !d) {
      const got = s.pick(flowAt(Math.floor(ops() * 50))) as TestDest | null;
      picks.push(got?.address ?? null);
      if (got) {
        got.activeConns++;
        s.changed(got);
        open.push(got);
      }
    } else if (r < 0.75 && open.length) {
      const c = open.splice(Math.floor(ops() * open.length), 1)[0]!;
      c.activeConns--;
      c.inactiveConns++;
      s.changed(c);
    } else if (r < 0.85) {
      d.overloaded = !d.overloaded;
      s.changed(d);
    } else if (r < 0.93) {
      d.weight = Math.floor(ops() * 4);
      s.update(list);
    } else if (r < 0.97) {
      d.available = !d.available;
      s.update(list);
    } else {
      list = renumber(list.filter((x) => x !== d));
      if (list.length < 3) list = renumber([...list, makeDest(100 + i, 2)]);
      s.update(list);
    }
  }
  return { picks };
}

describe.each(SCHEDULER_NAMES.map((name) => ({ name })))("$name conformance", ({ name }) => {
  const make = (random = seededRandom(3), now = () => 0): Scheduler =>
    createScheduler(name, makeOptions({ flags: FLAGS[name] ?? [], random, now }));

  it("is registered under its own name", () => {
    expect(schedulers[name]).toBeTypeOf("function");
    expect(make().name).toBe(name);
  });

  it("never picks a quiesced, overloaded or unavailable server, nor one outside the list", () => {
    const state = fc.record({ weight: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5 })), overloaded: fc.boolean(), available: fc.boolean(), active: fc.nat(6) });
    fc.assert(
      fc.property(fc.array(state, { minLength: 1, maxLength: 10 }), fc.array(fc.nat(200), { minLength: 1, maxLength: 30 }), (states, flows) => {
        const list = makeDests(states.map((st) => st.weight));
        states.forEach((st, i) => {
          Object.assign(list[i]!, { overloaded: st.overloaded, available: st.available, activeConns: st.active });
        });
        const s = make();
        s.update(list);
        for (const f of flows) {
          const d = s.pick(flowAt(f));
          if (d) {
            expect(list).toContain(d);
            expect(isEligible(d)).toBe(true);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it("returns null when no server is eligible", () => {
    const list = makeDests([0, 3, 2, 1]);
    list[1]!.overloaded = true;
    list[2]!.available = false;
    list[3]!.overloaded = true;
    const s = make();
    s.update(list);
    for (let i = 0; i < 40; i++) expect(s.pick(flowAt(i))).toBeNull();
    s.update([]);
    expect(s.pick(flowAt(0))).toBeNull();
  });

  it("takes a changed list into effect, and never answers with a server that was removed", () => {
    const list = makeDests([1, 1, 1, 1]);
    const s = make();
    s.update(list);
    const seen = new Set<Dest>();
    for (let i = 0; i < 60; i++) {
      const d = s.pick(flowAt(i));
      if (d) seen.add(d);
    }
    expect(seen.size).toBeGreaterThan(0);
    // Replace everything by one new server: every flow must now go there.
    const only = makeDest(50, 1);
    s.update(renumber([only]));
    for (let i = 0; i < 60; i++) expect(s.pick(flowAt(i))).toBe(only);
    // The removed servers' connections still close and report; that must not bring them back.
    for (const d of list) {
      d.activeConns = 0;
      s.changed(d);
    }
    for (let i = 0; i < 10; i++) expect(s.pick(flowAt(i))).toBe(only);
    // Quiesce it: nothing is eligible any more.
    only.weight = 0;
    s.update([only]);
    expect(s.pick(flowAt(0))).toBeNull();
  });

  it("is deterministic given the injected random() and now()", () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        expect(life(name, seed, 300)).toEqual(life(name, seed, 300));
      }),
      { numRuns: 10 },
    );
  });

  it("survives done() and a fresh update()", () => {
    const s = make();
    s.update(makeDests([1, 2]));
    s.done();
    const list = makeDests([1]);
    s.update(list);
    const d = s.pick(flowAt(1));
    expect(d === null || d === list[0]).toBe(true);
  });
});
