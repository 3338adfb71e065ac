import { type VirtualServiceInput, VirtualServiceSpec } from "@director/model";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeDests, makeFlow, makeOptions } from "../../scheduler/testing.js";
import { wrr } from "../../scheduler/wrr.js";
import { VirtualService } from "../../state/virtual-service.js";
import { newServiceState, planService, type ServiceState } from "./plan.js";
import { emptyState, netmask, renderBatch, type TableState, WRR_MAX_SLOTS, WRR_SMALL_ROUND, wrrRuns, wrrSlots } from "./ruleset.js";
import { destinationOf, shares } from "./simulate.js";

const RS = ["10.1.0.1:80", "10.1.0.2:80", "10.1.0.3:80"];
const svc = (over: Partial<VirtualServiceInput>, weights: number[] = [1, 1, 1]) =>
  new VirtualService(
    VirtualServiceSpec.parse({ address: "10.0.0.1:80", engine: "kernel", realServers: weights.map((weight, i) => ({ address: RS[i]!, weight })), ...over }),
    { now: () => 0, random: Math.random },
  );

/** Renders services as the engine does; returns the batch's lines and the state after it. */
function render(services: VirtualService[], prev: TableState = emptyState(), opts: { states?: Map<VirtualService, ServiceState>; expireQuiescent?: boolean } = {}) {
  const states = opts.states ?? new Map<VirtualService, ServiceState>();
  const plans = services.map((vs) => {
    if (!states.has(vs)) states.set(vs, newServiceState());
    return planService(vs, states.get(vs)!, opts.expireQuiescent ?? false);
  });
  const { script, next } = renderBatch(plans, prev);
  return { lines: script === null ? [] : script.trimEnd().split("\n"), next, plans, states };
}
const rulesIn = (lines: string[], chain: string) => lines.filter((l) => l.startsWith(`add rule ip director ${chain} `)).map((l) => l.slice(`add rule ip director ${chain} `.length));

const A = "10.1.0.1 . 80";
const B = "10.1.0.2 . 80";
const C = "10.1.0.3 . 80";
const M = "meta l4proto tcp";
const S = "s_tcp_10_0_0_1_80";

describe("kernel ruleset: one rule per service in services, a refusal in input", () => {
  it.each([
    { what: "wrr 2:1:1: slots by weight / gcd", input: { scheduler: "wrr" }, weights: [2, 1, 1], dnat: [`${M} dnat ip to numgen inc mod 4 map { 0-1 : ${A}, 2 : ${B}, 3 : ${C} }`] },
    { what: "wrr 4:2:2: the gcd is divided out", input: { scheduler: "wrr" }, weights: [4, 2, 2], dnat: [`${M} dnat ip to numgen inc mod 4 map { 0-1 : ${A}, 2 : ${B}, 3 : ${C} }`] },
    { what: "rr ignores weights other than 0 (ip_vs_rr.c)", input: { scheduler: "rr" }, weights: [2, 1, 0], dnat: [`${M} dnat ip to numgen inc mod 2 map { 0 : ${A}, 1 : ${B} }`] },
    { what: "nothing eligible: no DNAT rule, the input rule refuses", input: { scheduler: "rr" }, weights: [0, 0, 0], dnat: [] },
    {
      what: "sh: jhash of the client address over the 256-bucket table, ranges by weight",
      input: { scheduler: "sh" },
      weights: [128, 64, 64],
      dnat: [`${M} dnat ip to jhash ip saddr mod 256 seed 0xf417514d map { 0-127 : ${A}, 128-191 : ${B}, 192-255 : ${C} }`],
    },
    {
      what: "sh without sh-fallback: a quiesced server's bucket is left out (refused)",
      input: { scheduler: "sh" },
      weights: [128, 0, 64],
      dnat: [`${M} dnat ip to jhash ip saddr mod 256 seed 0xf417514d map { 0-127 : ${A}, 129-192 : ${C}, 193-255 : ${A} }`],
    },
    {
      what: "sh-fallback: the quiesced server's bucket goes where the kernel's probe goes",
      input: { scheduler: "sh", schedulerFlags: ["sh-fallback"] },
      weights: [128, 0, 64],
      dnat: [`${M} dnat ip to jhash ip saddr mod 256 seed 0xf417514d map { 0-128 : ${A}, 129-192 : ${C}, 193-255 : ${A} }`],
    },
    {
      what: "sh-port: the client port is part of the key",
      input: { scheduler: "sh", schedulerFlags: ["sh-port"] },
      weights: [128, 128],
      dnat: [`${M} dnat ip to jhash ip saddr . tcp sport mod 256 seed 0xf417514d map { 0-127 : ${A}, 128-255 : ${B} }`],
    },
    {
      what: "sh-port on UDP",
      input: { scheduler: "sh", schedulerFlags: ["sh-port"], protocol: "udp", address: "10.0.0.1:53" },
      weights: [256],
      dnat: [`meta l4proto udp dnat ip to jhash ip saddr . udp sport mod 256 seed 0xab40243d map { 0-255 : ${A} }`],
    },
    {
      what: "dh: jhash of the destination address, one bucket each",
      input: { scheduler: "dh" },
      weights: [3, 1],
      dnat: [`${M} dnat ip to jhash ip daddr mod 256 seed 0xf417514d map { ${Array.from({ length: 256 }, (_, b) => `${b} : ${b % 2 ? B : A}`).join(", ")} }`],
    },
    { what: "mh: jhash over a named map of 4093 positions", input: { scheduler: "mh" }, weights: [1, 1, 1], dnat: [`${M} dnat ip to jhash ip saddr mod 4093 seed 0xf417514d map @h_tcp_10_0_0_1_80`] },
    { what: "mh-port", input: { scheduler: "mh", schedulerFlags: ["mh-port"] }, weights: [1], dnat: [`${M} dnat ip to jhash ip saddr . tcp sport mod 4093 seed 0xf417514d map @h_tcp_10_0_0_1_80`] },
    { what: "wlc, no connections yet: numgen random in proportion to weight", input: { scheduler: "wlc" }, weights: [3, 1, 0], dnat: [`${M} dnat ip to numgen random mod 4 map { 0-2 : ${A}, 3 : ${B} }`] },
    { what: "lc, no connections yet: even (16 picks, ties to the first)", input: { scheduler: "lc" }, weights: [5, 1, 1], dnat: [`${M} dnat ip to numgen random mod 16 map { 0-5 : ${A}, 6-10 : ${B}, 11-15 : ${C} }`] },
  ] satisfies { what: string; input: Partial<VirtualServiceInput>; weights: number[]; dnat: string[] }[])("$what", ({ input, weights, dnat }) => {
    const vs = svc(input, weights);
    const { lines } = render([vs]);
    const key = `${vs.host} . ${vs.spec.protocol} . ${vs.port}`;
    const chain = `s_${vs.spec.protocol}_10_0_0_1_${vs.port}`;
    expect(rulesIn(lines, chain)).toEqual(dnat);
    expect(rulesIn(lines, "services")).toEqual([`ip daddr . meta l4proto . th dport vmap { ${key} : jump ${chain} }`]);
    expect(rulesIn(lines, "input")).toEqual([`ip daddr . meta l4proto . th dport { ${key} } reject`]);
    expect(rulesIn(lines, "prerouting")).toEqual(["jump services"]);
    expect(rulesIn(lines, "output")).toEqual(["jump services"]);
  });

  it("counts through three counter maps per service; weight changes leave them, real servers coming and going rewrite only their elements", () => {
    const vs = svc({ scheduler: "wrr" }, [1, 1]);
    const first = render([vs]);
    expect(first.lines).toContain("add counter ip director c_tcp_10_0_0_1_80__10_1_0_1_80");
    const orig = "meta l4proto tcp ct original ip daddr 10.0.0.1 ct original proto-dst 80";
    expect(rulesIn(first.lines, "forward")).toEqual([
      `${orig} ct direction original ct state new counter name ip daddr . tcp dport map @cm_tcp_10_0_0_1_80`,
      `${orig} ct direction original counter name ip daddr . tcp dport map @im_tcp_10_0_0_1_80`,
      `${orig} ct direction reply counter name ip saddr . tcp sport map @om_tcp_10_0_0_1_80`,
    ]);
    expect(first.lines).toContain("add map ip director cm_tcp_10_0_0_1_80 { type ipv4_addr . inet_service : counter; }");
    expect(first.lines).toContain(
      `add element ip director cm_tcp_10_0_0_1_80 { ${A} : "c_tcp_10_0_0_1_80__10_1_0_1_80", ${B} : "c_tcp_10_0_0_1_80__10_1_0_2_80" }`,
    );
    // The counters exist before the map elements that name them, and those before the rules that look them up.
    const at = (prefix: string) => first.lines.findIndex((l) => l.startsWith(prefix));
    expect(at("add counter")).toBeLessThan(at("add element ip director cm_"));
    expect(at("add element ip director om_")).toBeLessThan(at("add rule ip director forward"));
    vs.realServers[0]!.spec = { ...vs.realServers[0]!.spec, weight: 3 };
    vs.realServers[0]!.refresh();
    const second = render([vs], first.next);
    expect(second.lines.filter((l) => l.startsWith("flush"))).toEqual([`flush chain ip director ${S}`]);
    expect(second.lines.some((l) => l.includes("counter"))).toBe(false);
    expect(rulesIn(second.lines, S)).toEqual([`${M} dnat ip to numgen inc mod 4 map { 0-2 : ${A}, 3 : ${B} }`]);
    // A real server removed: its elements go from the maps, then its counters; the forward rules stay as they are.
    const one = svc({ scheduler: "wrr" }, [3]);
    const third = render([one], second.next);
    expect(rulesIn(third.lines, "forward")).toEqual([]);
    expect(third.lines).toContain(`add element ip director cm_tcp_10_0_0_1_80 { ${A} : "c_tcp_10_0_0_1_80__10_1_0_1_80" }`);
    expect(third.lines.indexOf("flush map ip director cm_tcp_10_0_0_1_80")).toBeLessThan(third.lines.indexOf("delete counter ip director c_tcp_10_0_0_1_80__10_1_0_2_80"));
    // The service gone: rules first, then its maps, then its counters.
    const fourth = render([], third.next);
    expect(fourth.lines.indexOf("flush chain ip director forward")).toBeLessThan(fourth.lines.indexOf("delete map ip director cm_tcp_10_0_0_1_80"));
    expect(fourth.lines.indexOf("delete map ip director om_tcp_10_0_0_1_80")).toBeLessThan(fourth.lines.indexOf("delete counter ip director o_tcp_10_0_0_1_80__10_1_0_1_80"));
  });

  it("sends nothing when nothing changed, and a change to one service rewrites that service's chain only", () => {
    const a = svc({ scheduler: "rr" });
    const b = svc({ scheduler: "wlc", address: "10.0.0.2:80" });
    const first = render([a, b]);
    expect(renderBatch(first.plans, first.next).script).toBeNull();
    const w = b.realServers[2]!;
    w.spec = { ...w.spec, weight: 0 };
    w.refresh();
    const { lines } = render([a, b], first.next);
    expect(lines.filter((l) => l.startsWith("flush") || l.startsWith("add rule"))).toEqual([
      "flush chain ip director s_tcp_10_0_0_2_80",
      `add rule ip director s_tcp_10_0_0_2_80 ${M} dnat ip to numgen random mod 2 map { 0 : ${A}, 1 : ${B} }`,
    ]);
  });

  it("deletes the chain of a service that is gone, after the verdict map no longer jumps to it", () => {
    const a = svc({ scheduler: "rr" });
    const b = svc({ scheduler: "rr", address: "10.0.0.2:80" });
    const first = render([a, b]);
    const { lines } = render([a], first.next);
    const at = (l: string) => lines.indexOf(l);
    expect(at("flush chain ip director services")).toBeGreaterThanOrEqual(0);
    expect(at("delete chain ip director s_tcp_10_0_0_2_80")).toBeGreaterThan(at("flush chain ip director services"));
    expect(lines).toContain("delete counter ip director c_tcp_10_0_0_2_80__10_1_0_1_80");
  });

  it("creates the table and its base chains in the first batch only (re-adding a base chain is a commit of its own)", () => {
    const a = svc({ scheduler: "rr" });
    const first = render([a]);
    expect(first.lines[0]).toBe("add table ip director");
    expect(first.lines).toContain("add chain ip director prerouting { type nat hook prerouting priority dstnat; policy accept; }");
    const r = a.realServers[0]!;
    r.spec = { ...r.spec, weight: 0 };
    r.refresh();
    const second = render([a], first.next, { states: first.states });
    expect(second.lines.length).toBeGreaterThan(0);
    expect(second.lines.filter((l) => l.startsWith("add table") || l.startsWith("add chain"))).toEqual([]);
  });
});

describe("kernel ruleset: full NAT", () => {
  it("source-NATs connections to fullnat real servers only, in nat postrouting; none without them", () => {
    const mixed = new VirtualService(
      VirtualServiceSpec.parse({
        address: "10.0.0.1:80",
        engine: "kernel",
        realServers: [{ address: RS[0]! }, { address: RS[1]!, forward: "fullnat" }, { address: RS[2]!, forward: "fullnat" }],
      }),
      { now: () => 0, random: Math.random },
    );
    const { lines, next } = render([mixed]);
    expect(lines).toContain("add chain ip director postrouting { type nat hook postrouting priority srcnat; policy accept; }");
    expect(rulesIn(lines, "postrouting")).toEqual([`${M} ct original ip daddr 10.0.0.1 ct original proto-dst 80 ct status dnat ip daddr . tcp dport { ${B}, ${C} } masquerade`]);
    // Back to plain NAT for all: the postrouting chain is emptied.
    const plain = svc({}, [1, 1, 1]);
    const after = render([plain], next);
    expect(after.lines).toContain("flush chain ip director postrouting");
    expect(rulesIn(after.lines, "postrouting")).toEqual([]);
    expect(rulesIn(render([svc({}, [1, 1, 1])]).lines, "postrouting")).toEqual([]);
  });
});

describe("kernel ruleset: mh's named map gets only the positions that moved", () => {
  it("loads all positions once, then deletes and adds only the moved ones", () => {
    const vs = svc({ scheduler: "mh", schedulerFlags: ["mh-fallback"] }, [1, 1, 1]);
    const first = render([vs]);
    expect(first.lines).toContain("add map ip director h_tcp_10_0_0_1_80 { typeof numgen inc mod 2 : ip daddr . tcp dport; }");
    const adds = first.lines.filter((l) => l.startsWith("add element ip director h_tcp_10_0_0_1_80 "));
    expect(adds).toHaveLength(1);
    expect(adds[0]!.split(" : ")).toHaveLength(4094); // 4093 positions
    expect(first.lines.some((l) => l.startsWith("delete element") || l.startsWith("flush map"))).toBe(false);

    // Nothing changed: nothing sent for the map.
    const same = render([vs], first.next, { states: first.states });
    expect(same.lines.some((l) => l.includes("element"))).toBe(false);

    // Drain B: with mh-fallback only B's positions move, each one deleted and added again.
    const b = vs.realServers[1]!;
    b.spec = { ...b.spec, adminState: "draining" };
    b.refresh();
    vs.schedulerUpdate();
    first.states.get(vs)!.maglev!.update(vs.realServers);
    const drained = render([vs], first.next, { states: first.states });
    const del = drained.lines.find((l) => l.startsWith("delete element"))!;
    const add = drained.lines.find((l) => l.startsWith("add element"))!;
    const moved = del.slice(del.indexOf("{") + 2, -2).split(", ");
    expect(moved.length / 4093).toBeCloseTo(1 / 3, 1);
    expect(add).not.toContain(B);
    expect(add.split(" : ")).toHaveLength(moved.length + 1);
  });

  it("keeps a previous agent's objects it is told to adopt, and deletes them once it is not", () => {
    const vs = svc({ scheduler: "rr" });
    const prev = emptyState();
    for (const c of ["s_tcp_10_0_0_2_80", "persist_pre"]) prev.chains.set(c, null);
    prev.templates.add("p_tcp_10_0_0_2_80_300_24");
    prev.positions.set("h_tcp_10_0_0_2_80", null);
    prev.counters.add("c_tcp_10_0_0_2_80__10_1_0_1_80");
    const names = new Set(["s_tcp_10_0_0_2_80", "persist_pre", "p_tcp_10_0_0_2_80_300_24", "h_tcp_10_0_0_2_80", "c_tcp_10_0_0_2_80__10_1_0_1_80"]);
    const kept = renderBatch([planService(vs, newServiceState(), false)], prev, names);
    expect(kept.script!.split("\n").filter((l) => l.startsWith("delete"))).toEqual([]);
    expect(kept.next.templates.has("p_tcp_10_0_0_2_80_300_24")).toBe(true);
    const later = renderBatch([planService(vs, newServiceState(), false)], kept.next);
    expect(later.script!.split("\n").filter((l) => l.startsWith("delete"))).toEqual([
      "delete chain ip director s_tcp_10_0_0_2_80",
      "delete chain ip director persist_pre",
      "delete map ip director h_tcp_10_0_0_2_80",
      "delete map ip director p_tcp_10_0_0_2_80_300_24",
      "delete counter ip director c_tcp_10_0_0_2_80__10_1_0_1_80",
    ]);
  });

  it("flushes and reloads a map whose contents are unknown (a previous agent's), and deletes maps no longer used", () => {
    const vs = svc({ scheduler: "mh" });
    const prev = emptyState();
    prev.positions.set("h_tcp_10_0_0_1_80", null);
    prev.positions.set("h_tcp_10_9_9_9_80", null);
    const { lines } = render([vs], prev);
    expect(lines).toContain("flush map ip director h_tcp_10_0_0_1_80");
    expect(lines.at(-1)).toBe("delete map ip director h_tcp_10_9_9_9_80");
  });
});

describe("kernel ruleset: persistence templates", () => {
  const P = "p_tcp_10_0_0_1_80_300_24";
  const orig = "meta l4proto tcp ct original ip daddr 10.0.0.1 ct original proto-dst 80";

  it("a dynamic map, a template DNAT before the scheduler, and check / record / refresh right after DNAT", () => {
    const vs = svc({ scheduler: "rr", persistence: { timeout: 300, prefixLength: 24 } });
    const { lines } = render([vs]);
    expect(lines).toContain(`add map ip director ${P} { type ipv4_addr : ipv4_addr . inet_service; flags dynamic,timeout; timeout 300s; size 1048576; }`);
    expect(rulesIn(lines, S)).toEqual([`${M} dnat ip to ip saddr & 255.255.255.0 map @${P}`, `${M} dnat ip to numgen inc mod 3 map { 0 : ${A}, 1 : ${B}, 2 : ${C} }`]);
    const H = `{ ${A}, ${B}, ${C} }`;
    expect(rulesIn(lines, "persist")).toEqual([
      `${orig} ct status dnat ct status ! confirmed ip daddr . tcp dport != ${H} delete @${P} { ip saddr & 255.255.255.0 : ip daddr . tcp dport }`,
      `${orig} ct status dnat ct status ! confirmed ip daddr . tcp dport != ${H} drop`,
      `${orig} ct direction original ip daddr . tcp dport ${H} update @${P} { ip saddr & 255.255.255.0 : ip daddr . tcp dport }`,
    ]);
  });

  it.each([
    { what: "draining keeps its templates", state: "draining" as const, expire: false, honoured: [A, B, C] },
    { what: "draining with expire_quiescent_template loses them", state: "draining" as const, expire: true, honoured: [A, C] },
    { what: "maintenance loses them", state: "maintenance" as const, expire: false, honoured: [A, C] },
  ])("$what", ({ state, expire, honoured }) => {
    const vs = svc({ scheduler: "rr", persistence: { timeout: 300, prefixLength: 24 } });
    const b = vs.realServers[1]!;
    b.spec = { ...b.spec, adminState: state };
    b.refresh();
    const { lines, plans } = render([vs], emptyState(), { expireQuiescent: expire });
    expect(plans[0]!.templates!.honoured.map((r) => `${r.host} . ${r.port}`)).toEqual(honoured);
    expect(rulesIn(lines, "persist_pre")).toEqual(["jump persist"]);
    expect(rulesIn(lines, "persist_out")).toEqual(["jump persist"]);
    expect(rulesIn(lines, "persist")[2]).toContain(`ip daddr . tcp dport { ${honoured.join(", ")} } update`);
    // Either way the scheduler no longer picks B.
    expect(rulesIn(lines, S)[1]).not.toContain(B);
  });

  it("prefix /32 keys on the address itself; nothing honoured, no template rules", () => {
    const vs = svc({ scheduler: "rr", persistence: { timeout: 60, prefixLength: 32 } }, [1]);
    expect(rulesIn(render([vs]).lines, S)[0]).toBe(`${M} dnat ip to ip saddr map @p_tcp_10_0_0_1_80_60_32`);
    const r = vs.realServers[0]!;
    r.spec = { ...r.spec, adminState: "maintenance" };
    r.refresh();
    const { lines } = render([vs]);
    expect(rulesIn(lines, S)).toEqual([]);
    expect(rulesIn(lines, "persist")).toEqual([]);
    expect(lines.some((l) => l.includes("persist_pre"))).toBe(false);
  });

  it("the hooked persistence chains exist only while a service has templates", () => {
    const first = render([svc({ scheduler: "rr", persistence: { timeout: 300, prefixLength: 24 } })]);
    expect(first.lines).toContain("add chain ip director persist_pre { type filter hook prerouting priority -90; policy accept; }");
    const { lines } = render([svc({ scheduler: "rr" })], first.next);
    expect(lines).toContain("delete chain ip director persist_pre");
    expect(lines).toContain("delete chain ip director persist_out");
    expect(lines).toContain("delete map ip director p_tcp_10_0_0_1_80_300_24");
  });

  it("a changed timeout or prefix is a new map; the old one is deleted", () => {
    const first = render([svc({ scheduler: "rr", persistence: { timeout: 300, prefixLength: 24 } })]);
    const { lines } = render([svc({ scheduler: "rr", persistence: { timeout: 60, prefixLength: 24 } })], first.next);
    expect(lines).toContain("delete map ip director p_tcp_10_0_0_1_80_300_24");
    expect(lines.some((l) => l.startsWith("add map ip director p_tcp_10_0_0_1_80_60_24 "))).toBe(true);
  });

  it.each([
    [0, "0.0.0.0"],
    [8, "255.0.0.0"],
    [24, "255.255.255.0"],
    [31, "255.255.255.254"],
    [32, "255.255.255.255"],
  ])("netmask(/%i) = %s", (len, mask) => {
    expect(netmask(len)).toBe(mask);
  });
});

describe("kernel engine simulator", () => {
  it("answers where a client goes under sh, consistently with the table, and shares under numgen", () => {
    const vs = svc({ scheduler: "sh" }, [1, 1, 1]);
    const { plans } = render([vs]);
    const d = plans[0]!.dispatch;
    const seen = new Set<string>();
    for (let i = 1; i < 40; i++) {
      const to = destinationOf(d, { clientHost: `10.211.0.${i}`, vHost: vs.host });
      expect(to).toBeTruthy();
      expect(destinationOf(d, { clientHost: `10.211.0.${i}`, vHost: vs.host })).toBe(to);
      seen.add(to!.address);
    }
    expect(seen.size).toBe(3);
    const wrr = render([svc({ scheduler: "wrr" }, [2, 1, 1])]).plans[0]!.dispatch;
    expect(destinationOf(wrr, { clientHost: "10.211.0.1", vHost: "10.0.0.1" })).toBeUndefined();
    expect(Object.fromEntries(shares(wrr))).toEqual({ "10.1.0.1:80": 0.5, "10.1.0.2:80": 0.25, "10.1.0.3:80": 0.25 });
  });
});

describe("kernel wrr: a round's slots in IPVS wrr's order", () => {
  it.each([
    { weights: [4, 3, 2], want: `0-1 : ${A}, 2 : ${B}, 3 : ${A}, 4 : ${B}, 5 : ${C}, 6 : ${A}, 7 : ${B}, 8 : ${C}`, mod: 9, why: "A A B A B C A B C" },
    { weights: [4, 0, 2], want: `0-1 : ${A}, 2 : ${C}`, mod: 3, why: "weight 0 has no slot; gcd 2: A A C" },
    { weights: [1, 1, 1], want: `0 : ${A}, 1 : ${B}, 2 : ${C}`, mod: 3, why: "equal weights: rr" },
    { weights: [1, 5, 1], want: `0-3 : ${B}, 4 : ${A}, 5 : ${B}, 6 : ${C}`, mod: 7, why: "the heaviest alone for cw 5..2, then all" },
  ])("$why", ({ weights, want, mod }) => {
    const { lines } = render([svc({ scheduler: "wrr" }, weights)]);
    expect(rulesIn(lines, S)).toEqual([`${M} dnat ip to numgen inc mod ${mod} map { ${want} }`]);
  });

  it("expanded, a round is exactly the userspace wrr's (the kernel's algorithm) first Σ weight / gcd picks", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 12 }), (weights) => {
        const runs = wrrRuns(weights)!;
        const expanded = runs.flatMap((r) => Array<number>(r.n).fill(r.index));
        const s = wrr(makeOptions());
        s.update(makeDests(weights));
        const picks = expanded.map(() => s.pick(makeFlow())!.index);
        expect(expanded).toEqual(picks);
        // Runs are maximal: no two neighbours name the same server.
        for (let i = 1; i < runs.length; i++) expect(runs[i]!.index).not.toBe(runs[i - 1]!.index);
      }),
      { numRuns: 300 },
    );
  });

  it("a large round goes in a named map, a slot an element; a weight change then sends the few slots that move", () => {
    const big = (weights: number[]) =>
      new VirtualService(
        VirtualServiceSpec.parse({
          address: "10.0.0.1:80",
          engine: "kernel",
          scheduler: "wrr",
          realServers: weights.map((weight, i) => ({ address: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}:80`, weight })),
        }),
        { now: () => 0, random: Math.random },
      );
    const weights = Array.from({ length: 400 }, (_, i) => 1 + (i % 3)); // W = 799 > WRR_SMALL_ROUND
    const vs = big(weights);
    const states = new Map<VirtualService, ServiceState>();
    const first = render([vs], emptyState(), { states });
    expect(first.lines).toContain("add map ip director w_tcp_10_0_0_1_80 { typeof numgen inc mod 2 : ip daddr . tcp dport; }");
    expect(rulesIn(first.lines, S)).toEqual([`${M} dnat ip to numgen inc mod 799 map @w_tcp_10_0_0_1_80`]);
    const added = first.lines.find((l) => l.startsWith("add element ip director w_tcp_10_0_0_1_80"))!;
    expect(added.match(/ : /g)).toHaveLength(799);
    // One server's weight 1 → 2: the rule (mod 800) and one element.
    vs.realServers[0]!.spec = { ...vs.realServers[0]!.spec, weight: 2 };
    vs.realServers[0]!.refresh();
    const second = render([vs], first.next, { states });
    expect(rulesIn(second.lines, S)).toEqual([`${M} dnat ip to numgen inc mod 800 map @w_tcp_10_0_0_1_80`]);
    expect(second.lines.filter((l) => l.includes("element"))).toEqual(["add element ip director w_tcp_10_0_0_1_80 { 799 : 10.1.0.1 . 80 }"]);
    // And back: the slot past the end goes, nothing else moves.
    vs.realServers[0]!.spec = { ...vs.realServers[0]!.spec, weight: 1 };
    vs.realServers[0]!.refresh();
    const third = render([vs], second.next, { states });
    expect(third.lines.filter((l) => l.includes("element"))).toEqual(["delete element ip director w_tcp_10_0_0_1_80 { 799 }"]);
    expect(WRR_SMALL_ROUND).toBeLessThan(799);
    expect(WRR_MAX_SLOTS).toBeGreaterThan(800);
  });

  it("wrrSlots: shares exact after any change, and a change of one weight by d moves at most 3·|d| slots", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 2, maxLength: 40 }),
        fc.nat(),
        fc.integer({ min: -5, max: 5 }),
        (weights, at, d) => {
          const k = at % weights.length;
          const targets = weights.map((_, i) => `t${i}`);
          const want = (ws: number[]) => ws.map((n, i) => ({ target: targets[i]!, n }));
          const before = wrrSlots(want(weights), null);
          const after = [...weights];
          after[k] = Math.max(1, after[k]! + d);
          const slots = wrrSlots(want(after), before);
          expect(slots).toHaveLength(after.reduce((a, b) => a + b, 0));
          for (const [i, n] of after.entries()) expect(slots.filter((x) => x === targets[i]).length).toBe(n);
          let moved = 0;
          for (let i = 0; i < Math.max(slots.length, before.length); i++) if (slots[i] !== before[i]) moved++;
          expect(moved).toBeLessThanOrEqual(3 * Math.abs(after[k]! - weights[k]!));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("wrrSlots: a server back from weight 0 gets its slots spread over the round, not in one burst", () => {
    const longestRun = (slots: string[], t: string) => {
      let best = 0;
      let run = 0;
      for (const x of slots) {
        run = x === t ? run + 1 : 0;
        best = Math.max(best, run);
      }
      return best;
    };
    const want = (ws: number[]) => ws.map((n, i) => ({ target: `r${i}`, n }));
    const weights = Array.from({ length: 40 }, (_, i) => 100 + i);
    const fresh = wrrSlots(want(weights), null);
    expect(longestRun(fresh, "r39")).toBe(1);
    const gone = wrrSlots(want([...weights.slice(0, 39), 0]), fresh);
    const back = wrrSlots(want(weights), gone);
    expect(back.filter((x) => x === "r39")).toHaveLength(139);
    expect(longestRun(back, "r39")).toBeLessThanOrEqual(2);
  });
});

describe("kernel full NAT source", () => {
  const fullnat = (localAddresses?: string[]) =>
    new VirtualService(
      VirtualServiceSpec.parse({
        address: "10.0.0.1:80",
        engine: "kernel",
        scheduler: "rr",
        ...(localAddresses ? { localAddresses } : {}),
        realServers: [{ address: RS[0], forward: "fullnat" }, { address: RS[1] }],
      }),
      { now: () => 0, random: Math.random },
    );
  const post = "meta l4proto tcp ct original ip daddr 10.0.0.1 ct original proto-dst 80 ct status dnat ip daddr . tcp dport { 10.1.0.1 . 80 }";
  it.each([
    { local: undefined, to: "masquerade", why: "the interface's address (masquerade)" },
    { local: ["10.9.0.1"], to: "snat ip to 10.9.0.1", why: "one local address" },
    { local: ["10.9.0.1", "10.9.0.2", "10.9.0.3"], to: "snat ip to numgen inc mod 3 map { 0 : 10.9.0.1, 1 : 10.9.0.2, 2 : 10.9.0.3 }", why: "local addresses in turn" },
  ])("$why, for the fullnat real servers only", ({ local, to }) => {
    expect(rulesIn(render([fullnat(local)]).lines, "postrouting")).toEqual([`${post} ${to}`]);
  });
});

