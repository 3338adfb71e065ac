import { describe, expect, it } from "vitest";
import { lblcr, type LocalityLeastConnectionReplicated } from "./lblcr.js";
import { DEFAULT_EXPIRATION_MS } from "./locality.js";
import { makeClock, makeDests, makeFlow, makeOptions, pickAndHold, type TestDest } from "./testing.js";

const to = (vHost: string) => makeFlow("192.0.2.1", 40000, vHost);

function setup(weights: number[]) {
  const clock = makeClock(0);
  const list = makeDests(weights);
  const s = lblcr(makeOptions({ now: clock.now })) as LocalityLeastConnectionReplicated;
  s.update(list);
  return { clock, list, s };
}

describe("lblcr", () => {
  it("starts each address on the wlc choice, and adds a server once its member exceeds its weight", () => {
    const { s } = setup([1, 1, 1]);
    const got = ["198.51.100.1", "198.51.100.2", "198.51.100.1", "198.51.100.1", "198.51.100.1"].map(
      (v) => (pickAndHold(s, to(v)) as TestDest).name,
    );
    // Third pick: A holds 1 = its weight, still fine. Fourth: A 2 > 1 and C is idle (0·2 < 1), so wlc's
    // choice C joins the set {C, A}; fifth: C is the least loaded member.
    expect(got.join(" ")).toBe("A B A C C");
    expect(s.entries).toBe(2);
  });

  it("replicates under load: adds the wlc choice to the set, then uses the least loaded member", () => {
    const { list, s } = setup([2, 2, 8]);
    const v = to("198.51.100.1");
    list[2]!.activeConns = 5; // C is busy but below its weight; not half idle
    s.changed(list[2]!);
    expect(pickAndHold(s, v)?.name).toBe("A");
    expect(pickAndHold(s, v)?.name).toBe("A");
    expect(pickAndHold(s, v)?.name).toBe("A"); // A 3 > 2, but nobody has active·2 < weight
    // A 3 > 2 and B is idle (0·2 < 2): A is_overloaded, so wlc's choice B joins the set {B, A}.
    expect(pickAndHold(s, v)?.name).toBe("B");
    // The least loaded member is B (256/2 vs 768/2); it reaches 3 > 2 after two more.
    expect(pickAndHold(s, v)?.name).toBe("B");
    expect(pickAndHold(s, v)?.name).toBe("B");
    // B 3 > 2, but nobody is half idle yet (A 3, C 5·2 ≥ 8): B stays.
    expect(pickAndHold(s, v)?.name).toBe("B");
    list[2]!.activeConns = 3; // C half idle (6 < 8) → B overloaded → wlc: C (768/8 < A 768/2, B 1024/2)
    s.changed(list[2]!);
    expect(pickAndHold(s, v)?.name).toBe("C");
  });

  it("shrinks a set unchanged for 24 hours by its most loaded member", () => {
    const { clock, list, s } = setup([1, 1]);
    const v = to("198.51.100.1");
    list[0]!.activeConns = 2;
    s.changed(list[0]!);
    expect((s.pick(v) as TestDest | null)?.name).toBe("B"); // set {B}
    list[1]!.activeConns = 3; // B overloaded; A (2 > 1) too, but nobody half idle …
    list[0]!.activeConns = 0; // … now A is idle: B is_overloaded → wlc A joins: set {A, B}
    s.changed(list[1]!);
    s.changed(list[0]!);
    expect((s.pick(v) as TestDest | null)?.name).toBe("A");
    list[0]!.activeConns = 1;
    s.changed(list[0]!);
    clock.set(DEFAULT_EXPIRATION_MS + 1);
    // More than 24 h since the set changed: the most loaded member (B) is dropped, A is used.
    expect((s.pick(v) as TestDest | null)?.name).toBe("A");
    list[0]!.overloaded = true; // A unusable: set {A} has no usable member → wlc → B re-added
    s.changed(list[0]!);
    expect((s.pick(v) as TestDest | null)?.name).toBe("B");
  });

  it("skips overloaded, quiesced and unavailable members", () => {
    const { list, s } = setup([1, 1, 1]);
    const v = to("198.51.100.1");
    expect(s.pick(v)).toBe(list[0]);
    list[0]!.weight = 0;
    s.update(list);
    expect(s.pick(v)).toBe(list[1]);
    list[1]!.available = false;
    s.update(list);
    expect(s.pick(v)).toBe(list[2]);
    list[2]!.overloaded = true;
    s.changed(list[2]!);
    expect(s.pick(v)).toBeNull();
  });

  it("expires sets unused for 24 hours", () => {
    const { clock, s } = setup([1]);
    s.pick(to("198.51.100.1"));
    clock.set(DEFAULT_EXPIRATION_MS + 30 * 60_000);
    s.expire();
    expect(s.entries).toBe(0);
  });
});
