import { describe, expect, it } from "vitest";
import { parseIPv4 } from "./address.js";
import { dh } from "./dh.js";
import { makeDests, makeFlow, makeOptions, type TestDest } from "./testing.js";

/** ip_vs_dh_hashkey, computed independently in 64-bit arithmetic. */
const bucket = (vHost: string) => Number((BigInt(parseIPv4(vHost)) * 2654435761n) & 255n);

describe("dh", () => {
  const vips = ["198.51.100.1", "198.51.100.2", "203.0.113.77", "10.9.8.7", "255.255.255.255", "0.0.0.0"];

  it.each(vips)("maps %s to bucket (addr × 2654435761) mod 256 of a one-bucket-each table", (vHost) => {
    const list = makeDests([1, 100, 3]); // dh's table ignores weights
    const s = dh(makeOptions());
    s.update(list);
    expect(s.pick(makeFlow("192.0.2.1", 1, vHost))).toBe(list[bucket(vHost) % 3]);
  });

  it("ignores the client: every client of one destination address goes to one server", () => {
    const list = makeDests([1, 1, 1, 1]);
    const s = dh(makeOptions());
    s.update(list);
    const first = s.pick(makeFlow("192.0.2.1", 1000));
    for (let i = 2; i < 50; i++) expect(s.pick(makeFlow(`192.0.2.${i}`, 1000 + i))).toBe(first);
  });

  it("returns none when the bucket's server is quiesced, overloaded or unavailable (no fallback)", () => {
    const list = makeDests([1, 1]);
    const s = dh(makeOptions());
    s.update(list);
    const flow = makeFlow("192.0.2.1", 1, "198.51.100.1");
    const d = s.pick(flow) as TestDest;
    d.overloaded = true;
    s.changed(d);
    expect(s.pick(flow)).toBeNull();
    d.overloaded = false;
    d.weight = 0;
    s.update(list);
    expect(s.pick(flow)).toBeNull();
  });

  it("leaves unavailable servers out of the table", () => {
    const list = makeDests([1, 1, 1]);
    list[1]!.available = false;
    const s = dh(makeOptions());
    s.update(list);
    for (const v of vips) expect(s.pick(makeFlow("192.0.2.1", 1, v))).toBe([list[0], list[2]][bucket(v) % 2]);
  });
});
