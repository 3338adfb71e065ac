import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MaglevHashing, mh, mhScheduler } from "./mh.js";
import { clientFlow, makeDests, makeFlow, makeOptions, renumber, type TestDest } from "./testing.js";
import type { Dest, Scheduler } from "./types.js";

const FLOWS = 4000;
const snapshot = (s: Scheduler, n = FLOWS) => Array.from({ length: n }, (_, i) => s.pick(clientFlow(i)));
const shares = (s: Scheduler, list: readonly Dest[], n = 20_000) => {
  const counts = new Map<Dest | null, number>();
  for (let i = 0; i < n; i++) {
    const d = s.pick(clientFlow(i));
    counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  return list.map((d) => (counts.get(d) ?? 0) / n);
};

describe("mh", () => {
  it("uses the kernel's prime table size: 65521 here (CONFIG_IP_VS_MH_TAB_INDEX 16), 4093 for the stock kernel", () => {
    expect(new MaglevHashing(makeOptions()).tableSize).toBe(65521);
    expect(new MaglevHashing(makeOptions(), 12).tableSize).toBe(4093);
    expect(() => new MaglevHashing(makeOptions(), 7)).toThrow(RangeError);
  });

  it("gives every server a share of the table in proportion to its weight", () => {
    const list = makeDests([1, 2, 3, 2]);
    const s = mh(makeOptions());
    s.update(list);
    const got = shares(s, list);
    [1 / 8, 2 / 8, 3 / 8, 2 / 8].forEach((want, i) => {
      expect(Math.abs(got[i]! - want)).toBeLessThan(0.02);
    });
  });

  it("is deterministic: two directors with the same servers send each client to the same server", () => {
    const a = mh(makeOptions());
    const b = mhScheduler(16)(makeOptions({ flags: ["mh-fallback"] }));
    a.update(makeDests([1, 1, 2, 5, 1]));
    const other = makeDests([1, 1, 2, 5, 1]); // distinct objects, same addresses and weights
    b.update(other);
    const left = snapshot(a).map((d) => d?.address);
    const right = snapshot(b).map((d) => d?.address);
    expect(left).toEqual(right);
  });

  it("removing one of N servers remaps about 1/N of the clients, not more", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 60 }), fc.nat(), (weights, k) => {
        const list = makeDests(weights);
        const s = mh(makeOptions());
        s.update(list);
        const before = snapshot(s);
        const gone = list[k % list.length]!;
        s.update(renumber(list.filter((d) => d !== gone)));
        const after = snapshot(s);
        let ownMoved = 0;
        let othersMoved = 0;
        let own = 0;
        before.forEach((d, i) => {
          if (d === gone) {
            own++;
            if (after[i] !== gone) ownMoved++;
          } else if (after[i] !== d) othersMoved++;
        });
        expect(ownMoved).toBe(own); // all of its clients move …
        expect(othersMoved / FLOWS).toBeLessThan(0.015); // … and hardly anyone else (Maglev's small extra churn)
      }),
      { numRuns: 40 },
    );
  });

  it("quiescing keeps the table (last_weight): without fallback its clients get none, others stay", () => {
    const list = makeDests([1, 1, 1, 1]);
    const s = mh(makeOptions());
    s.update(list);
    const before = snapshot(s);
    list[2]!.weight = 0;
    s.update(list);
    snapshot(s).forEach((d, i) => {
      expect(d).toBe(before[i] === list[2] ? null : before[i]);
    });
  });

  it("with mh-fallback, a quiesced or overloaded server's clients, and only they, move elsewhere", () => {
    const list = makeDests([1, 2, 1, 1]);
    const s = mh(makeOptions({ flags: ["mh-fallback"] }));
    s.update(list);
    const before = snapshot(s);
    list[1]!.weight = 0;
    s.update(list);
    list[3]!.overloaded = true;
    s.changed(list[3]!);
    snapshot(s).forEach((d, i) => {
      if (before[i] === list[1] || before[i] === list[3]) expect([list[0], list[2]]).toContain(d);
      else expect(d).toBe(before[i]);
    });
    for (const d of list) {
      d.overloaded = true;
      s.changed(d);
    }
    expect(s.pick(makeFlow())).toBeNull();
  });

  it("a server added with weight 0 gets no table positions", () => {
    const list = makeDests([1, 1, 0]);
    const s = mh(makeOptions({ flags: ["mh-fallback"] }));
    s.update(list);
    list[2]!.weight = 1; // now it has a last_weight: the table is rebuilt with it
    const quiet = shares(s, list);
    expect(quiet[2]).toBe(0);
    s.update(list);
    expect(shares(s, list)[2]).toBeGreaterThan(0.25);
  });

  it("hashes the client port too with mh-port", () => {
    const list = makeDests([1, 1, 1, 1]);
    const plain = mh(makeOptions());
    const port = mh(makeOptions({ flags: ["mh-port"] }));
    plain.update(list);
    port.update(list);
    const seenPlain = new Set<Dest | null>();
    const seenPort = new Set<Dest | null>();
    for (let p = 1024; p < 1124; p++) {
      seenPlain.add(plain.pick(makeFlow("192.0.2.1", p)));
      seenPort.add(port.pick(makeFlow("192.0.2.1", p)));
    }
    expect(seenPlain.size).toBe(1);
    expect(seenPort.size).toBe(4);
  });

  it("hashes IPv6 clients by the XOR of their four words", () => {
    const list = makeDests([1, 1, 1]);
    const s = mh(makeOptions());
    s.update(list);
    const v6 = (host: string) => ({ ...makeFlow(), family: 6 as const, clientHost: host });
    // 2001:db8::1 and ::2001:db8:0:1 fold to the same 32-bit key.
    expect(s.pick(v6("2001:db8::1"))).toBe(s.pick(v6("::2001:db8:0:1")));
    expect(s.pick(v6("2001:db8::1"))).not.toBeNull();
  });

  it("refuses more servers than table positions, as the kernel's -EINVAL", () => {
    const s = mhScheduler(8)(makeOptions());
    expect(() => s.update(makeDests(Array.from({ length: 252 }, () => 1)))).toThrow(RangeError);
  });

  it("leaves unavailable servers out, and brings them back on update", () => {
    const list = makeDests([1, 1, 1]);
    const s = mh(makeOptions());
    list[0]!.available = false;
    s.update(list);
    expect(shares(s, list)[0]).toBe(0);
    list[0]!.available = true;
    s.update(list);
    expect((shares(s, list)[0] as number) > 0.25).toBe(true);
    expect((s.pick(makeFlow()) as TestDest).available).toBe(true);
  });
});
