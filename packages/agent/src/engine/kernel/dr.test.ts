import { type VirtualServiceInput, VirtualServiceSpec } from "@director/model";
import { describe, expect, it } from "vitest";
import type { RealServer } from "../../state/real-server.js";
import { VirtualService } from "../../state/virtual-service.js";
import { type DrLink, type DrPlan, type DrServiceState, drRules, emptyDrState, newDrState, planDr, renderDrBatch } from "./dr.js";
import { follow, newServiceState, planService, type ServiceState } from "./plan.js";

const RS = ["10.1.0.1:80", "10.1.0.2:80", "10.1.0.3:80"];
const MAC: Record<string, string> = { "10.1.0.1": "02:00:00:00:01:01", "10.1.0.2": "02:00:00:00:01:02", "10.1.0.3": "02:00:00:00:01:03", "10.1.0.4": "02:00:00:00:01:04" };
const LINK: DrLink = { in: "eth0", out: "eth0", mac: "02:00:00:00:00:fe" };
const T = 900;

const svc = (over: Partial<VirtualServiceInput> = {}, addresses = RS) =>
  new VirtualService(
    VirtualServiceSpec.parse({
      address: "10.0.0.1:80",
      engine: "kernel",
      scheduler: "mh",
      schedulerFlags: ["mh-fallback"],
      realServers: addresses.map((address) => ({ address, forward: "dr" })),
      ...over,
    }),
    { now: () => 0, random: Math.random },
  );

/** A service with its engine state, re-planned as the engine does at each change. */
function setup(over: Partial<VirtualServiceInput> = {}, addresses = RS) {
  const vs = svc(over, addresses);
  const st: ServiceState = newServiceState();
  const dr: DrServiceState = newDrState();
  const unknown = new Set<string>();
  const macOf = (rs: RealServer) => (unknown.has(rs.host) ? undefined : MAC[rs.host]);
  const plan = (now: number) => {
    follow(vs, st);
    const { dispatch } = planService(vs, st, false, (rs) => macOf(rs) !== undefined);
    if (dispatch.kind !== "jhash") throw new Error("not a hash");
    return planDr(vs, dr, LINK, dispatch, macOf, T, now);
  };
  const edit = (i: number, change: { weight?: number; adminState?: "active" | "draining" | "maintenance" }) => {
    const rs = vs.realServers[i]!;
    rs.spec = { ...rs.spec, ...change };
    rs.refresh();
    vs.schedulerUpdate();
  };
  return { vs, st, dr, plan, edit, unknown };
}

const owners = (p: DrPlan) => p.table.map((m) => (m === null ? "-" : Object.entries(MAC).find(([, v]) => v === m)![0]));
const count = <T>(xs: T[], x: T) => xs.filter((y) => y === x).length;

describe("VS/DR transitions: no change of the table moves an established connection", () => {
  it("steady state: every position has its owner's MAC, nothing in transition", () => {
    const s = setup();
    const { plan, settleAt } = s.plan(0);
    expect(plan.size).toBe(4093);
    expect(plan.moved.size).toBe(0);
    expect(settleAt).toBeUndefined();
    expect(new Set(owners(plan))).toEqual(new Set(["10.1.0.1", "10.1.0.2", "10.1.0.3"]));
    expect(plan.servers.map((x) => x.mac)).toEqual([MAC["10.1.0.1"], MAC["10.1.0.2"], MAC["10.1.0.3"]]);
  });

  it("drain (weight 0, mh-fallback): the drained server's positions go to the others and are in transition, keeping it as previous owner", () => {
    const s = setup();
    const before = owners(s.plan(0).plan);
    s.edit(1, { adminState: "draining" });
    const { plan, settleAt } = s.plan(1000);
    const after = owners(plan);
    expect(after).not.toContain("10.1.0.2");
    const movedPositions = before.flatMap((o, p) => (o === "10.1.0.2" ? [p] : []));
    expect([...plan.moved.keys()].sort((a, b) => a - b)).toEqual(movedPositions);
    for (const mac of plan.moved.values()) expect(mac).toBe(MAC["10.1.0.2"]);
    // Maglev keeps a quiesced server's positions: only those moved.
    before.forEach((o, p) => {
      if (o !== "10.1.0.2") expect(after[p]).toBe(o);
    });
    expect(settleAt).toBe(1000 + T * 1000);
    // Its counters stay: a drained server still carries connections.
    expect(plan.servers.map((x) => x.rs.address)).toEqual(RS);
  });

  it("without mh-fallback the drained positions have no destination, and still keep their previous owner for older connections", () => {
    const s = setup({ schedulerFlags: [] });
    s.plan(0);
    s.edit(0, { weight: 0 });
    const { plan } = s.plan(5);
    const nulls = plan.table.flatMap((m, p) => (m === null ? [p] : []));
    expect(nulls.length).toBeGreaterThan(1000);
    expect([...plan.moved.keys()].sort((a, b) => a - b)).toEqual(nulls);
  });

  it("maintenance or a failed check (unavailable: Maglev rebuilds without it): every moved position keeps its previous owner", () => {
    const s = setup();
    const before = owners(s.plan(0).plan);
    s.edit(0, { adminState: "maintenance" });
    const { plan } = s.plan(1);
    const after = owners(plan);
    expect(after).not.toContain("10.1.0.1");
    const changed = before.flatMap((o, p) => (o !== after[p] ? [p] : []));
    expect([...plan.moved.keys()].sort((a, b) => a - b)).toEqual(changed);
    for (const p of changed) expect(plan.moved.get(p)).toBe(MAC[before[p]!]);
  });

  it("the transition ends timeouts.tcp after the change; activating the server again before that ends it at once", () => {
    const s = setup();
    s.plan(0);
    s.edit(2, { adminState: "draining" });
    expect(s.plan(10_000).plan.moved.size).toBeGreaterThan(0);
    expect(s.plan(10_000 + T * 1000 - 1).plan.moved.size).toBeGreaterThan(0);
    const ended = s.plan(10_000 + T * 1000);
    expect(ended.plan.moved.size).toBe(0);
    expect(ended.settleAt).toBeUndefined();

    const t = setup();
    t.plan(0);
    t.edit(2, { adminState: "draining" });
    expect(t.plan(1).plan.moved.size).toBeGreaterThan(0);
    t.edit(2, { adminState: "active" });
    const back = t.plan(2);
    expect(back.plan.moved.size).toBe(0);
    expect(owners(back.plan)).toEqual(owners(setup().plan(0).plan));
  });

  it("a position changed again during its transition keeps its first previous owner", () => {
    const s = setup({}, [...RS, "10.1.0.4:80"]);
    const first = owners(s.plan(0).plan);
    s.edit(1, { adminState: "draining" });
    const second = owners(s.plan(100).plan);
    // Now drain the server that took some of 10.1.0.2's positions.
    const p = first.findIndex((o, i) => o === "10.1.0.2" && second[i] !== "10.1.0.2");
    const taker = second[p]!;
    s.edit(RS.concat("10.1.0.4:80").indexOf(`${taker}:80`), { adminState: "draining" });
    const { plan } = s.plan(200);
    expect(owners(plan)[p]).not.toBe(taker);
    expect(plan.moved.get(p)).toBe(MAC["10.1.0.2"]);
    // The taker's own positions are in transition from the later change, with the taker as previous owner.
    const own = first.indexOf(taker);
    expect(plan.moved.get(own)).toBe(MAC[taker]);
  });

  it("a new real server takes positions without moving the connections already there", () => {
    const s = setup();
    const before = owners(s.plan(0).plan);
    s.vs.addRealServer(VirtualServiceSpec.parse({ address: "10.0.0.1:80", realServers: [{ address: "10.1.0.4:80", forward: "dr" }] }).realServers[0]!);
    const { plan } = s.plan(50);
    const after = owners(plan);
    const taken = after.flatMap((o, p) => (o === "10.1.0.4" ? [p] : []));
    expect(taken.length).toBeGreaterThan(500);
    for (const p of taken) expect(plan.moved.get(p)).toBe(MAC[before[p]!]);
  });

  it("a real server removed from the service ends its positions' transitions at once", () => {
    const s = setup();
    s.plan(0);
    s.edit(1, { adminState: "draining" });
    expect(s.plan(1).plan.moved.size).toBeGreaterThan(0);
    s.vs.removeRealServer(s.vs.realServers[1]!);
    const { plan } = s.plan(2);
    expect(owners(plan)).not.toContain("10.1.0.2");
    expect([...plan.moved.values()]).not.toContain(MAC["10.1.0.2"]);
    // Rebuilt without it, Maglev's table also moves a few positions between the others: those are protected.
    expect(plan.moved.size).toBeLessThan(20);
  });

  it("a real server whose MAC address is unknown has no positions (no destination without fallback)", () => {
    const s = setup({ schedulerFlags: [] });
    s.unknown.add("10.1.0.3");
    const { plan } = s.plan(0);
    expect(owners(plan)).not.toContain("10.1.0.3");
    expect(count(owners(plan), "-")).toBeGreaterThan(1000);
    expect(plan.servers.map((x) => x.rs.address)).toEqual(RS.slice(0, 2));
    // With mh-fallback it counts as unavailable: its positions fall back to the others.
    const f = setup();
    f.unknown.add("10.1.0.3");
    const fell = owners(f.plan(0).plan);
    expect(count(fell, "-")).toBe(0);
    expect(new Set(fell)).toEqual(new Set(["10.1.0.1", "10.1.0.2"]));
  });

  it("a change of the hash (scheduler) starts afresh: positions mean something else", () => {
    const s = setup();
    s.plan(0);
    s.edit(1, { adminState: "draining" });
    expect(s.plan(1).plan.moved.size).toBeGreaterThan(0);
    s.vs.spec = { ...s.vs.spec, scheduler: "sh", schedulerFlags: ["sh-port"] };
    const { plan } = s.plan(2);
    expect(plan.size).toBe(256);
    expect(plan.key).toBe("ip saddr . tcp sport");
    expect(plan.moved.size).toBe(0);
  });

  it("a previous agent's transitions are taken over (recovered from its dre map)", () => {
    const s = setup();
    s.edit(1, { adminState: "draining" });
    follow(s.vs, s.st);
    const { dispatch } = planService(s.vs, s.st, false);
    if (dispatch.kind !== "jhash") throw new Error("not a hash");
    const recovered = new Map([
      [7, MAC["10.1.0.2"]!],
      [8, "02:00:00:00:09:09"], // a MAC no real server has any more: nothing to keep
    ]);
    const { plan } = planDr(s.vs, s.dr, LINK, dispatch, (rs) => MAC[rs.host], T, 5, { moved: recovered });
    expect(plan.moved.get(7)).toBe(MAC["10.1.0.2"]);
    expect(plan.moved.has(8)).toBe(false);
  });

  it("a restarted agent whose table differs from the kernel's starts transitions where they differ (drc read back)", () => {
    const s = setup();
    const { plan: mine } = s.plan(0);
    // The kernel's table, as a previous agent left it: two positions elsewhere.
    const kernel = new Map(mine.table.map((m, p) => [p, m!] as const));
    const other = (m: string) => (m === MAC["10.1.0.1"] ? MAC["10.1.0.2"]! : MAC["10.1.0.1"]!);
    kernel.set(10, other(mine.table[10]!));
    kernel.set(20, other(mine.table[20]!));
    const t = setup();
    follow(t.vs, t.st);
    const { dispatch } = planService(t.vs, t.st, false);
    if (dispatch.kind !== "jhash") throw new Error("not a hash");
    const { plan } = planDr(t.vs, t.dr, LINK, dispatch, (rs) => MAC[rs.host], T, 5, { table: kernel });
    expect([...plan.moved]).toEqual([
      [10, kernel.get(10)],
      [20, kernel.get(20)],
    ]);
    expect(plan.table).toEqual(mine.table);
  });

  it("mh: an agent started while a server drains builds the table of one that saw the drain begin (two directors agree)", () => {
    const running = setup();
    running.plan(0);
    running.edit(1, { adminState: "draining" });
    const seen = owners(running.plan(1).plan);
    const started = setup();
    started.edit(1, { adminState: "draining" }); // before its first plan: the Maglev table is new
    const fresh = owners(started.plan(1).plan);
    expect(fresh).toEqual(seen);
  });
});

describe("VS/DR ruleset (netdev director)", () => {
  const flow = "ip saddr . tcp sport";
  const P = (seed: string) => `jhash ip saddr mod 4093 seed ${seed}`;

  it("a service: the ingress chain on its interface, its chain in the documented order, counters and fwd", () => {
    const s = setup();
    const { plan } = s.plan(0);
    const { script } = renderDrBatch([plan], emptyDrState());
    const lines = script!.trimEnd().split("\n");
    const seed = `0x${plan.seed.toString(16).padStart(8, "0")}`;
    const n = "tcp_10_0_0_1_80";
    expect(lines).toContain(`add chain netdev director in_eth0 { type filter hook ingress device "eth0" priority filter; policy accept; }`);
    expect(lines).toContain(`add map netdev director drc_${n} { typeof numgen inc mod 2 : ether daddr; }`);
    expect(lines).toContain(`add map netdev director dre_${n} { typeof numgen inc mod 2 : ether daddr; }`);
    expect(lines).toContain(`add map netdev director drf_${n} { typeof ip saddr . tcp sport : ether daddr; flags dynamic,timeout; size 1048576; }`);
    expect(lines).toContain(`add rule netdev director in_eth0 ip daddr . meta l4proto . th dport vmap { 10.0.0.1 . tcp . 80 : jump dr_${n} }`);
    const record = `update @drf_${n} { ${flow} timeout 900s : ether daddr }`;
    const rules = lines.filter((l) => l.startsWith(`add rule netdev director dr_${n} `)).map((l) => l.slice(`add rule netdev director dr_${n} `.length));
    expect(rules).toEqual([
      `tcp flags & (syn | ack) == syn delete @drf_${n} { ${flow} : ether daddr }`,
      `tcp flags & (syn | ack) != syn ether daddr set ${flow} map @drf_${n} ${record} goto dro_${n}`,
      `tcp flags & (syn | ack) == syn ${P(seed)} @dre_${n} ether daddr set ${P(seed)} map @drc_${n} ${record} goto dro_${n}`,
      `tcp flags & (syn | ack) != syn ether daddr set ${P(seed)} map @dre_${n} ${record} goto dro_${n}`,
      `tcp flags & (syn | ack) != syn ether daddr set ${P(seed)} map @dre_${n} goto dro_${n}`,
      `ether daddr set ${P(seed)} map @drc_${n} goto dro_${n}`,
      "reject with icmp port-unreachable",
    ]);
    const out = lines.filter((l) => l.startsWith(`add rule netdev director dro_${n} `)).map((l) => l.slice(`add rule netdev director dro_${n} `.length));
    expect(out).toEqual([
      `tcp flags & (syn | ack) == syn counter name ether daddr map { 02:00:00:00:01:01 : "c_${n}__10_1_0_1_80", 02:00:00:00:01:02 : "c_${n}__10_1_0_2_80", 02:00:00:00:01:03 : "c_${n}__10_1_0_3_80" }`,
      `counter name ether daddr map { 02:00:00:00:01:01 : "i_${n}__10_1_0_1_80", 02:00:00:00:01:02 : "i_${n}__10_1_0_2_80", 02:00:00:00:01:03 : "i_${n}__10_1_0_3_80" }`,
      `ether saddr set 02:00:00:00:00:fe fwd to "eth0"`,
    ]);
    // Every position of the table, in slices of 1,024.
    const elems = lines.filter((l) => l.startsWith(`add element netdev director drc_${n} `));
    expect(elems).toHaveLength(4);
    expect(elems.join(" ").match(/ : 02:00:00:00:01:0\d/g)).toHaveLength(4093);
    expect(lines.some((l) => l.includes(`element netdev director dre_${n}`))).toBe(false);
  });

  it("a drain sends only the moved positions (drc) and their previous owner (dre); the chains stay", () => {
    const s = setup();
    const first = renderDrBatch([s.plan(0).plan], emptyDrState());
    s.edit(1, { adminState: "draining" });
    const { plan } = s.plan(1);
    const { script, next } = renderDrBatch([plan], first.next);
    const lines = script!.trimEnd().split("\n");
    expect(lines.filter((l) => l.startsWith("add rule") || l.startsWith("flush chain"))).toEqual([]);
    const del = lines.filter((l) => l.startsWith("delete element netdev director drc_")).join(" ");
    const moved = [...plan.moved.keys()];
    expect(del.match(/\d+(?=,| })/g)!.map(Number).sort((a, b) => a - b)).toEqual(moved.sort((a, b) => a - b));
    const dre = lines.filter((l) => l.startsWith("add element netdev director dre_")).join(" ");
    expect(dre.match(/ : 02:00:00:00:01:02/g)).toHaveLength(moved.length);
    // Nothing more to send when nothing changed.
    expect(renderDrBatch([plan], next).script).toBeNull();
    // The transition's end: dre emptied, drc untouched.
    const ended = s.plan(1 + T * 1000).plan;
    const end = renderDrBatch([ended], next).script!.trimEnd().split("\n");
    expect(end.filter((l) => l.includes("drc_"))).toEqual([]);
    expect(end.filter((l) => l.startsWith("delete element netdev director dre_")).join(" ").match(/\d+(?=,| })/g)).toHaveLength(moved.length);
  });

  it("a changed MAC address rewrites the counters' rule and the positions, nothing else", () => {
    const s = setup();
    const first = renderDrBatch([s.plan(0).plan], emptyDrState());
    const was = MAC["10.1.0.3"]!;
    MAC["10.1.0.3"] = "02:00:00:00:02:03";
    try {
      const lines = renderDrBatch([s.plan(1).plan], first.next).script!.trimEnd().split("\n");
      expect(lines.filter((l) => l.startsWith("flush chain"))).toEqual(["flush chain netdev director dro_tcp_10_0_0_1_80"]);
      expect(lines.filter((l) => l.startsWith("add element")).join(" ")).not.toContain("02:00:00:00:01:0");
    } finally {
      MAC["10.1.0.3"] = was;
    }
  });

  it("two services on one interface share its ingress chain; removing one deletes its objects after the rules that use them", () => {
    const a = setup();
    const b = setup({ address: "10.0.0.2:80" });
    const both = renderDrBatch([a.plan(0).plan, b.plan(0).plan], emptyDrState());
    expect(both.script).toContain(
      "add rule netdev director in_eth0 ip daddr . meta l4proto . th dport vmap { 10.0.0.1 . tcp . 80 : jump dr_tcp_10_0_0_1_80, 10.0.0.2 . tcp . 80 : jump dr_tcp_10_0_0_2_80 }",
    );
    const lines = renderDrBatch([a.plan(1).plan], both.next).script!.trimEnd().split("\n");
    const at = (l: string) => lines.indexOf(l);
    const n = "tcp_10_0_0_2_80";
    expect(at(`flush chain netdev director in_eth0`)).toBeLessThan(at(`flush chain netdev director dr_${n}`));
    expect(at(`flush chain netdev director dr_${n}`)).toBeLessThan(at(`delete chain netdev director dr_${n}`));
    expect(at(`delete chain netdev director dr_${n}`)).toBeLessThan(at(`delete chain netdev director dro_${n}`));
    expect(at(`delete chain netdev director dro_${n}`)).toBeLessThan(at(`delete map netdev director drc_${n}`));
    for (const o of [`map netdev director dre_${n}`, `map netdev director drf_${n}`, `counter netdev director c_${n}__10_1_0_1_80`]) expect(lines).toContain(`delete ${o}`);
    // Kept (a previous agent's objects, adopted) instead of deleted:
    const kept = renderDrBatch([a.plan(2).plan], both.next, new Set([`dr_${n}`, `dro_${n}`, `drc_${n}`, `dre_${n}`, `drf_${n}`]));
    expect(kept.script).not.toContain(`delete chain netdev director dr_${n}`);
    expect(kept.script).not.toContain(`delete map netdev director drf_${n}`);
  });

  it("an interface other than the real servers' one: hooked on the first, forwarded out of the second", () => {
    const s = setup();
    const { plan } = s.plan(0);
    const rules = drRules({ ...plan, link: { in: "ext.7", out: "lan0", mac: "02:00:00:00:00:aa" } });
    expect(rules.out.at(-1)).toBe(`ether saddr set 02:00:00:00:00:aa fwd to "lan0"`);
    const { script } = renderDrBatch([{ ...plan, link: { in: "ext.7", out: "lan0", mac: "02:00:00:00:00:aa" } }], emptyDrState());
    expect(script).toContain(`add chain netdev director in_ext_7 { type filter hook ingress device "ext.7" priority filter; policy accept; }`);
  });

  it("UDP: every flow is recorded on its first datagram and follows its record; a flow without one is new: the table decides and counts it", () => {
    const s = setup({ protocol: "udp", address: "10.0.0.1:53" }, ["10.1.0.1:53", "10.1.0.2:53", "10.1.0.3:53"]);
    const { plan } = s.plan(0);
    const { chain, out } = drRules(plan);
    const P = chain[1]!.match(/jhash [^@]+ map @drc_udp_10_0_0_1_53/)?.[0];
    expect(P).toBeDefined();
    expect(chain[0]).toBe(
      "ether daddr set ip saddr . udp sport map @drf_udp_10_0_0_1_53 update @drf_udp_10_0_0_1_53 { ip saddr . udp sport timeout 900s : ether daddr } goto dro_udp_10_0_0_1_53",
    );
    expect(chain[1]).toMatch(/update @drf_udp_10_0_0_1_53 \{ ip saddr \. udp sport timeout 900s : ether daddr \} counter name ether daddr map \{ 02:00:00:00:01:01 : "c_udp_10_0_0_1_53__10_1_0_1_53", .* goto dro_udp/);
    expect(chain.some((r) => r.includes("tcp"))).toBe(false);
    expect(out.some((r) => r.includes("c_udp"))).toBe(false); // new flows are counted in the chain, once
    const { script } = renderDrBatch([plan], emptyDrState());
    expect(script).toContain("add map netdev director drf_udp_10_0_0_1_53 { typeof ip saddr . udp sport : ether daddr; flags dynamic,timeout; size 1048576; }");
    expect(script).toMatch(/10\.0\.0\.1 \. udp \. 53 : jump dr_udp_10_0_0_1_53/);
  });
});

