import { describe, expect, it } from "vitest";
import { lblc, type LocalityLeastConnection } from "./lblc.js";
import { CHECK_EXPIRE_INTERVAL_MS, COUNT_FOR_FULL_EXPIRATION, DEFAULT_EXPIRATION_MS, ENTRY_TIMEOUT_MS, MAX_ENTRIES } from "./locality.js";
import { makeClock, makeDest, makeDests, makeFlow, makeOptions, pickAndHold, renumber, type TestDest } from "./testing.js";

const to = (vHost: string) => makeFlow("192.0.2.1", 40000, vHost);

function setup(weights: number[]) {
  const clock = makeClock(0);
  const list = makeDests(weights);
  const s = lblc(makeOptions({ now: clock.now })) as LocalityLeastConnection;
  s.update(list);
  return { clock, list, s };
}

describe("lblc", () => {
  it("sends each destination address to the server first chosen for it by wlc, whatever the load", () => {
    const { list, s } = setup([1, 1, 1]);
    const seq = ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.1", "198.51.100.1", "198.51.100.2"];
    const got = seq.map((v) => (pickAndHold(s, to(v)) as TestDest).name).join(" ");
    expect(got).toBe("A B C A A B");
    expect(list[0]!.activeConns).toBe(3); // above its weight, but nobody is below half of theirs
    expect(s.entries).toBe(3);
  });

  it("moves an address when its server has active > weight and some server has active < weight/2", () => {
    const { list, s } = setup([2, 4]);
    const v = to("198.51.100.1");
    expect(pickAndHold(s, v)).toBe(list[0]);
    list[1]!.activeConns = 2; // 2·2 < 4 is false: nobody is half idle
    s.changed(list[1]!);
    expect(pickAndHold(s, v)).toBe(list[0]);
    expect(pickAndHold(s, v)).toBe(list[0]); // A: 3 > 2, but is_overloaded needs a half-idle server
    list[1]!.activeConns = 1; // 1·2 < 4: B is half idle
    s.changed(list[1]!);
    expect(pickAndHold(s, v)).toBe(list[1]);
    expect(pickAndHold(s, v)).toBe(list[1]); // the address now lives on B
  });

  it("passes over a remembered server that is quiesced, overloaded or unavailable", () => {
    const { list, s } = setup([1, 1]);
    const v = to("198.51.100.1");
    expect(s.pick(v)).toBe(list[0]);
    list[0]!.overloaded = true; // the kernel keeps using it here; we never pick an overloaded server
    s.changed(list[0]!);
    expect(s.pick(v)).toBe(list[1]);
    list[1]!.weight = 0;
    list[0]!.overloaded = false;
    s.update(list);
    s.changed(list[0]!);
    expect(s.pick(v)).toBe(list[0]);
    list[0]!.available = false;
    s.update(list);
    expect(s.pick(v)).toBeNull();
  });

  it("comes back to a server removed and added again with the same address", () => {
    const { list, s } = setup([1, 1]);
    const v = to("198.51.100.9");
    expect(s.pick(v)).toBe(list[0]);
    s.update(renumber([list[1]!]));
    expect(s.pick(v)).toBe(list[1]);
    const again = makeDest(0, 1);
    s.update(renumber([again, list[1]!]));
    expect(s.pick(v)).toBe(list[1]); // the entry was moved to B when A went away
  });

  it("forgets addresses unused for 24 hours at the full checks, every 30 ticks of 60 s from creation", () => {
    const { clock, s } = setup([1, 1]);
    const fullCheckEvery = CHECK_EXPIRE_INTERVAL_MS * COUNT_FOR_FULL_EXPIRATION;
    s.pick(to("198.51.100.1")); // used at 0
    clock.set(fullCheckEvery - 1);
    s.pick(to("198.51.100.2")); // used at 29:59.999
    clock.set(DEFAULT_EXPIRATION_MS - 1);
    s.expire();
    expect(s.entries).toBe(2); // the check at 23:30 finds nothing 24 h old
    clock.set(DEFAULT_EXPIRATION_MS);
    s.expire();
    expect(s.entries).toBe(1); // the check at 24:00 drops the first
    clock.set(DEFAULT_EXPIRATION_MS + fullCheckEvery - 1);
    s.expire();
    expect(s.entries).toBe(1);
    clock.set(DEFAULT_EXPIRATION_MS + fullCheckEvery);
    s.expire();
    expect(s.entries).toBe(0); // … and the one at 24:30 the second
  });

  it("keeps the full checks in phase across a long quiet spell", () => {
    const { clock, s } = setup([1]);
    s.pick(to("198.51.100.1"));
    clock.set(10 * DEFAULT_EXPIRATION_MS - 1);
    s.pick(to("198.51.100.2")); // replays only the last hour of ticks; the first entry is long gone
    expect(s.entries).toBe(1);
    clock.set(11 * DEFAULT_EXPIRATION_MS - 1);
    s.expire();
    expect(s.entries).toBe(1); // used at 240 h − 1 ms: the 264 h check is 1 ms too early
    clock.set(11 * DEFAULT_EXPIRATION_MS);
    s.expire();
    expect(s.entries).toBe(0);
  });

  it("runs due checks lazily from pick(), and a used entry is not expired", () => {
    const { clock, list, s } = setup([1, 1]);
    expect(s.pick(to("198.51.100.1"))).toBe(list[0]);
    for (let h = 1; h <= 48; h++) {
      clock.set(h * 3600_000);
      expect(s.pick(to("198.51.100.1"))).toBe(list[0]);
    }
    expect(s.pick(to("198.51.100.2"))).toBe(list[0]);
    expect(s.entries).toBe(2);
  });

  it("past 16,384 entries, drops entries unused for 6 minutes at each tick", () => {
    const { clock, s } = setup([1]);
    for (let i = 0; i < MAX_ENTRIES + 600; i++) s.pick(to(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
    clock.set(ENTRY_TIMEOUT_MS - 1);
    s.expire();
    expect(s.entries).toBe(MAX_ENTRIES + 600); // nothing is 6 minutes old yet
    clock.set(ENTRY_TIMEOUT_MS + CHECK_EXPIRE_INTERVAL_MS - 1);
    s.expire();
    expect(s.entries).toBe(MAX_ENTRIES + 600 - 800); // goal = 600 × 4/3
  });

  it("done() flushes the table and stops remembering", () => {
    const { list, s } = setup([1, 1]);
    s.pick(to("198.51.100.1"));
    s.done();
    expect(s.entries).toBe(0);
    s.update(list);
    s.pick(to("198.51.100.1"));
    expect(s.entries).toBe(0);
  });
});
