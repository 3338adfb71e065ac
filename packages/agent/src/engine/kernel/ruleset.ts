/**
 * The kernel engine's nftables ruleset for VS/NAT, rendered from per-service plans (plan.ts makes them) into one
 * atomic batch of what changed. In table `ip director`:
 *
 *   nat prerouting, nat output → services:  ip daddr . meta l4proto . th dport vmap { VIP . tcp . 80 : jump s_… }
 *   s_<service> (one chain per virtual service, rewritten only when its own rules change):
 *     [persistence]  dnat ip to ip saddr & MASK map @p_…          (a template's real server)
 *                    dnat ip to <dispatch>                        (the scheduler)
 *   filter input:      ip daddr . meta l4proto . th dport { VIP . tcp . 80, … } reject
 *                      (whatever the DNAT did not take: IPVS found no destination and refuses it, ICMP port
 *                      unreachable — also what a position without destination comes to)
 *   filter prerouting and output at priority -90 → persist (persistence only): right after DNAT, before routing,
 *                      templates are checked, recorded and refreshed (see below)
 *   filter forward:    named counters per real server (new connections, packets and bytes each way), reached
 *                      through three counter maps per service: a hash lookup per packet, not a rule per server
 *   nat postrouting:   full NAT (real servers with forward: fullnat): connections DNATed to them leave with the
 *                      director's address as source (masquerade: the address of the interface toward the real
 *                      server; or the service's localAddresses in turn: snat to numgen inc map), so replies come
 *                      back to the director without a route on the real server
 *
 * Dispatch, by scheduler:
 *   rr, wrr          numgen inc mod W map { slot ranges : RS . port }        rr: one slot each; wrr: weight / gcd,
 *                    or numgen inc mod W map @w_…                            in IPVS wrr's order (see below)
 *   lc wlc sed nq    numgen random mod K map { … }                           slots from reweight.ts
 *   sh, dh           jhash ip saddr | ip saddr . tcp sport | ip daddr mod 256 seed S map { bucket ranges : … }
 *   mh               jhash ip saddr [. tcp sport] mod 4093 seed S map @h_…  (a named map: a change sends only the
 *                                                                            positions that moved)
 * Positions without a destination are absent from the maps: the lookup misses, the packet is not DNATed and the
 * input rule refuses it. S is fixed per virtual service (FNV-1a of "tcp/VIP:port"), so two directors with the same
 * configuration send each flow to the same real server. The tables themselves are the kernel's (tables.ts).
 *
 * wrr: the W slots of a round hold the servers in the order ip_vs_wrr.c picks them (weights 4:3:2 give
 * A A B A B C A B C). Rounds of up to WRR_SMALL_ROUND slots are written in the rule, as runs of consecutive slots,
 * afresh at each change. Larger rounds (up to WRR_MAX_SLOTS) live in a named map, one element a slot: the first
 * layout is IPVS's order, and a change then moves only the slots it must (wrrSlots), so a weight change with
 * 1,000 servers is a few elements, not the round — the order inside the round drifts from IPVS's as it does.
 * Rounds larger still are written in the rule grouped (A A A A B B B C C). In every case the shares over a round
 * are exact. The round restarts at its first slot whenever the service's rule is rewritten (a change of W, or of
 * anything in that service's chain), where IPVS keeps its cursor.
 * A server that leaves the maps (weight 0, draining, maintenance, failed check) keeps its established connections:
 * conntrack already holds their mapping, exactly the quiesced semantics of IPVS weight 0.
 *
 * Full NAT (FULLNAT, Alibaba's IPVS patch; `--fullnat` in vsadm): conntrack keeps both translations, so each reply is
 * un-SNATed and un-DNATed on its way back. The real server sees the director's address instead of the client's
 * (no TOA option here; the userspace engine's PROXY protocol is the way to pass it). masquerade keeps the client's
 * source port unless it collides, so one director address carries about 64,000 concurrent connections per real
 * server address and port; `localAddresses` (IPVS FULLNAT's local addresses) multiplies that by their number.
 *
 * Persistence (IPVS templates, ip_vs_sched_persist): a dynamic map per service, client prefix → real server,
 * with the persistence timeout, type ipv4_addr : ipv4_addr . inet_service, at most 1,048,576 templates.
 *   - A new connection whose prefix has a template is DNATed to the template's real server (before the scheduler;
 *     a template also overrides overload, as in IPVS).
 *   - Right after DNAT (chain persist), each packet of the service in the original direction to an honoured real
 *     server runs `update @p_… { ip saddr & MASK : ip daddr . tcp dport }`: it creates the template on the flow's
 *     first packet (keeping the scheduler's choice) and restarts its timeout on every later packet.
 *   - Honoured = available, and not quiesced when expire_quiescent_template is on (ip_vs_check_template). nft
 *     cannot test a map lookup's result against a set, so the check happens after DNAT (and before routing, which
 *     a removed server's address may fail): the first packet of a flow DNATed to a server no longer honoured (a
 *     stale template) deletes the template and is dropped; its retransmission is scheduled afresh. The agent also deletes such templates right after each change that
 *     removes honoured servers (index.ts), so that path only catches the milliseconds in between.
 * How far this is from IPVS templates: IPVS restarts the timeout on each new connection and never expires a
 * template while it controls connections; here every forwarded packet restarts it, so a template lives until
 * `timeout` after the last packet of its connections — the same except for a connection idle longer than the
 * timeout. Two first connections of one prefix within the same instant may be scheduled to two servers (the first
 * record wins; IPVS serialises them). Templates are kept for forwarded and director-originated connections alike.
 */
import type { RealServer } from "../../state/real-server.js";
import type { VirtualService } from "../../state/virtual-service.js";
import { positionChanges, ranges } from "./tables.js";

export const TABLE = "director";
/** The most templates one service's map holds (IPVS has no limit; a full map schedules without persistence). */
export const TEMPLATE_MAP_SIZE = 1 << 20;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** The part of object names that names the service: "tcp_10_0_0_1_80". */
export function serviceId(vs: VirtualService): string {
  return `${vs.spec.protocol}_${vs.host.replaceAll(".", "_")}_${vs.port}`;
}

/** Counter names of one real server of one service (stable across updates: they are the table's objects). */
export function counterNames(vs: VirtualService, rsHost: string, rsPort: number): { conns: string; in: string; out: string } {
  const id = `${serviceId(vs)}__${rsHost.replaceAll(".", "_")}_${rsPort}`;
  return { conns: `c_${id}`, in: `i_${id}`, out: `o_${id}` };
}

export type Dispatch =
  /** numgen: each real server takes `n` consecutive slots of Σn. */
  | { kind: "numgen"; mode: "inc" | "random"; slots: readonly { rs: RealServer; n: number }[]; map?: string }
  /** jhash KEY mod table.length: per position its real server or null; in a named map when `map` is set. */
  | { kind: "jhash"; key: string; seed: number; table: readonly (RealServer | null)[]; map?: string };

export interface TemplatePlan {
  /** The map's name; it encodes timeout and prefix, so a changed definition is a new map, never a conflict. */
  map: string;
  /** The template key expression: `ip saddr` or `ip saddr & 255.255.255.0`. */
  key: string;
  timeout: number;
  /** Real servers whose templates are honoured, in list order. */
  honoured: readonly RealServer[];
}

export interface ServicePlan {
  vs: VirtualService;
  dispatch: Dispatch;
  templates?: TemplatePlan;
}

/** What the table holds, as far as later batches must know it. */
export interface TableState {
  counters: Set<string>;
  /** Chains and their rules as last applied (one per line); null = the chain exists, its rules are unknown. */
  chains: Map<string, string | null>;
  /** Position maps and their elements ("host . port" or null per position); null = contents unknown. */
  positions: Map<string, (string | null)[] | null>;
  /** Template maps. */
  templates: Set<string>;
  /** Counter maps (real server → its named counter) and their elements as last applied; null = unknown. */
  counterMaps: Map<string, string | null>;
}

export function emptyState(): TableState {
  return { counters: new Set(), chains: new Map(), positions: new Map(), templates: new Set(), counterMaps: new Map() };
}

/** "host . port" of a real server, as nft writes a concatenated map value. */
export const target = (rs: { host: string; port: number }): string => `${rs.host} . ${rs.port}`;

/** The netmask of an IPv4 prefix length, dotted. */
export function netmask(prefixLength: number): string {
  const m = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  return [24, 16, 8, 0].map((s) => (m >>> s) & 0xff).join(".");
}

/** The base chains, their hooks, and the order their rules are refilled in. */
const BASE: Record<string, string> = {
  prerouting: "type nat hook prerouting priority dstnat; policy accept;",
  output: "type nat hook output priority -100; policy accept;",
  input: "type filter hook input priority 0; policy accept;",
  forward: "type filter hook forward priority 0; policy accept;",
  postrouting: "type nat hook postrouting priority srcnat; policy accept;",
};
/** Right after the NAT hooks (-100), before routing: persistence templates. Only while some service has them. */
const PERSIST: Record<string, string> = {
  persist_pre: "type filter hook prerouting priority -90; policy accept;",
  persist_out: "type filter hook output priority -90; policy accept;",
};

interface Rendered {
  /** Rules per chain: the services' own chains (s_…) and the shared ones. */
  chains: Map<string, string[]>;
  /** Map definitions and element changes. */
  defs: string[];
  elems: string[];
  /** Entries of the services verdict map and of the refusal set. */
  jumps: string[];
  keys: string[];
  counters: string[];
  /** Counter maps: name → elements. */
  counterMaps: Map<string, string>;
  next: TableState;
}

function renderDispatch(d: Dispatch, prev: TableState, out: Rendered, proto: string): string | null {
  if (d.kind === "numgen") {
    const slots = d.slots.filter((s) => s.n > 0);
    if (slots.length === 0) return null;
    const g = slots.reduce((acc, s) => gcd(acc, s.n), 0);
    const w = slots.reduce((acc, s) => acc + s.n / g, 0);
    if (d.mode === "inc" && d.map !== undefined && w > WRR_SMALL_ROUND && w <= WRR_MAX_SLOTS) {
      // A large round in a named map, a slot an element: a change moves only the slots it must (wrrSlots).
      const before = prev.positions.get(d.map);
      const values = wrrSlots(
        slots.map((s) => ({ target: target(s.rs), n: s.n / g })),
        before ?? null,
      );
      return `numgen inc mod ${w} map @${namedMap(d.map, values, prev, out, proto)}`;
    }
    // A small round (rr, wrr) in IPVS wrr's order; random (lc family), or a round too large for one element a
    // slot: grouped, a run of slots per server.
    const runs = d.mode === "inc" && w <= WRR_SMALL_ROUND ? wrrRuns(slots.map((s) => s.n)) : slots.map((s, index) => ({ index, n: s.n / g }));
    let slot = 0;
    const entries = runs.map((r) => {
      const range = r.n === 1 ? `${slot}` : `${slot}-${slot + r.n - 1}`;
      slot += r.n;
      return `${range} : ${target(slots[r.index]!.rs)}`;
    });
    return `numgen ${d.mode} mod ${slot} map { ${entries.join(", ")} }`;
  }
  const hash = `jhash ${d.key} mod ${d.table.length} seed 0x${d.seed.toString(16).padStart(8, "0")}`;
  const values = d.table.map((rs) => (rs ? target(rs) : null));
  if (d.map === undefined) {
    const r = ranges(values);
    if (r.length === 0) return null;
    return `${hash} map { ${r.map((x) => `${x.from === x.to ? x.from : `${x.from}-${x.to}`} : ${x.value}`).join(", ")} }`;
  }
  return `${hash} map @${namedMap(d.map, values, prev, out, proto)}`;
}

/**
 * A named map of positions (numgen slots or jhash buckets) → real server: made when new, and sent only the
 * positions that changed (all of them when its contents are unknown: a previous agent's). Returns its name.
 */
function namedMap(name: string, values: readonly (string | null)[], prev: TableState, out: Rendered, proto: string): string {
  const t = `ip ${TABLE}`;
  const before = prev.positions.get(name);
  if (before === undefined) out.defs.push(`add map ${t} ${name} { typeof numgen inc mod 2 : ip daddr . ${proto} dport; }`);
  const { flush, del, add } = positionChanges(before, values);
  if (flush) out.elems.push(`flush map ${t} ${name}`);
  if (del.length) out.elems.push(`delete element ${t} ${name} { ${del.join(", ")} }`);
  if (add.length) out.elems.push(`add element ${t} ${name} { ${add.join(", ")} }`);
  out.next.positions.set(name, [...values]);
  return name;
}

/** Rounds of at most this many slots are written whole, in IPVS wrr's order (a few KB: the session takes them). */
export const WRR_SMALL_ROUND = 256;
/** Rounds of at most this many slots go in a named map, one element a slot; larger ones are written whole, grouped. */
export const WRR_MAX_SLOTS = 16_384;

/**
 * The slots of a large wrr round (`want`: each server's slot count, in configuration order): when the map's
 * contents are known, each slot keeps its server where it can — slots past the new round's end are dropped, a
 * server with more slots than it should have gives up its last ones, a server short of one takes a free slot,
 * and one short of several takes evenly spaced slots (their holders moving to the free ones), so that a server
 * back from weight 0 is not sent its whole share in one burst — so a weight change of one server moves a few
 * elements (at most about three per slot of change), not the round. The order inside the round then drifts from
 * IPVS's (the shares stay exact). Unknown contents: the round in IPVS wrr's order.
 */
export function wrrSlots(want: readonly { target: string; n: number }[], before: readonly (string | null)[] | null): string[] {
  const total = want.reduce((acc, x) => acc + x.n, 0);
  if (before === null) {
    // wrrRuns gives the round of the weights over their gcd; a larger common factor repeats it.
    const round = wrrRuns(want.map((x) => x.n)).flatMap((r) => Array<string>(r.n).fill(want[r.index]!.target));
    return Array.from({ length: total / round.length }, () => round).flat();
  }
  const quota = new Map(want.map((x) => [x.target, x.n]));
  const out: (string | null)[] = before.slice(0, total);
  while (out.length < total) out.push(null);
  const held = new Map<string, number>();
  for (let i = 0; i < total; i++) {
    const v = out[i];
    if (v === null || v === undefined) {
      out[i] = null;
      continue;
    }
    const h = held.get(v) ?? 0;
    if (h >= (quota.get(v) ?? 0)) out[i] = null;
    else held.set(v, h + 1);
  }
  const free = new Set<number>();
  for (let i = 0; i < total; i++) if (out[i] === null) free.add(i);
  const takeFree = (): number => {
    const f = free.values().next().value as number;
    free.delete(f);
    return f;
  };
  for (const x of want) {
    const need = x.n - (held.get(x.target) ?? 0);
    if (need === 1) out[takeFree()] = x.target;
    if (need <= 1) continue;
    // Several slots (a server back from weight 0, or raised): spread over the round as IPVS would, not in one
    // burst where slots happened to be free. Where a spot is another server's, that slot moves to a free one.
    for (let j = 0; j < need; j++) {
      let p = Math.floor(((j + 0.5) * total) / need);
      while (out[p] === x.target) p = (p + 1) % total;
      if (out[p] === null) free.delete(p);
      else out[takeFree()] = out[p]!;
      out[p] = x.target;
    }
  }
  return out as string[];
}

/**
 * One round of IPVS wrr (ip_vs_wrr.c) as runs of consecutive picks of one server: the current weight cw starts at
 * the largest weight and steps down by the gcd; each pass takes, in configuration order, the servers whose weight
 * is at least cw. A round is Σ weight / gcd picks. Passes where only the heaviest server qualifies are taken in one
 * step; a pass costs the servers it takes.
 */
export function wrrRuns(weights: readonly number[]): { index: number; n: number }[] {
  if (weights.length === 0) return [];
  const g = weights.reduce((acc, w) => gcd(acc, w), 0);
  const w = weights.map((x) => x / g);
  // Servers by weight, heaviest first (ties in configuration order); `eligible`: those with w ≥ cw, in order.
  const byWeight = w.map((_, i) => i).sort((a, b) => w[b]! - w[a]! || a - b);
  const eligible: number[] = [];
  let next = 0;
  const runs: { index: number; n: number }[] = [];
  const pick = (index: number, n: number): void => {
    const last = runs[runs.length - 1];
    if (last?.index === index) last.n += n;
    else runs.push({ index, n });
  };
  for (let cw = w[byWeight[0]!]!; cw >= 1; ) {
    while (next < byWeight.length && w[byWeight[next]!]! >= cw) {
      const i = byWeight[next++]!;
      let at = eligible.length;
      while (at > 0 && eligible[at - 1]! > i) at--;
      eligible.splice(at, 0, i);
    }
    // Until the next weight down, each pass takes the same servers; a lone one takes all those passes at once.
    const below = next < byWeight.length ? w[byWeight[next]!]! : 0;
    if (eligible.length === 1) {
      pick(eligible[0]!, cw - below);
      cw = below;
      continue;
    }
    for (const i of eligible) pick(i, 1);
    cw--;
  }
  return runs;
}

/**
 * The counting of a service: three rules in filter forward, whatever the number of its real servers, each looking
 * the packet's real server up in a counter map (real server address . port → its named counter): new connections
 * and packets/bytes toward the real servers by the destination, replies by the source. A packet costs one hash
 * lookup, not a rule per real server. Counters and map elements exist for every real server listed, eligible or
 * not (a drained one still carries its connections). Kept until the service's list of real servers changes.
 */
const counting = new WeakMap<VirtualService, { key: string; rules: string[]; counters: string[]; maps: Map<string, string> }>();

function countingRules(vs: VirtualService): { rules: string[]; counters: string[]; maps: Map<string, string> } {
  const proto = vs.spec.protocol;
  const key = `${proto} ${vs.realServers.map((r) => r.address).join(" ")}`;
  const hit = counting.get(vs);
  if (hit?.key === key) return hit;
  const id = serviceId(vs);
  const orig = `meta l4proto ${proto} ct original ip daddr ${vs.host} ct original proto-dst ${vs.port}`;
  const counters: string[] = [];
  const elems = { conns: [] as string[], in: [] as string[], out: [] as string[] };
  for (const r of vs.realServers) {
    const c = counterNames(vs, r.host, r.port);
    counters.push(c.conns, c.in, c.out);
    elems.conns.push(`${target(r)} : "${c.conns}"`);
    elems.in.push(`${target(r)} : "${c.in}"`);
    elems.out.push(`${target(r)} : "${c.out}"`);
  }
  const maps = new Map<string, string>();
  const rules: string[] = [];
  if (vs.realServers.length > 0) {
    maps.set(`cm_${id}`, elems.conns.join(", "));
    maps.set(`im_${id}`, elems.in.join(", "));
    maps.set(`om_${id}`, elems.out.join(", "));
    rules.push(`${orig} ct direction original ct state new counter name ip daddr . ${proto} dport map @cm_${id}`);
    rules.push(`${orig} ct direction original counter name ip daddr . ${proto} dport map @im_${id}`);
    rules.push(`${orig} ct direction reply counter name ip saddr . ${proto} sport map @om_${id}`);
  }
  const entry = { key, rules, counters, maps };
  counting.set(vs, entry);
  return entry;
}

function renderService(plan: ServicePlan, prev: TableState, out: Rendered): void {
  const { vs, templates } = plan;
  const proto = vs.spec.protocol;
  const chain = `s_${serviceId(vs)}`;
  const rules: string[] = [];
  const post = out.chains.get("persist")!;
  const forward = out.chains.get("forward")!;
  const postrouting = out.chains.get("postrouting")!;
  const orig = `meta l4proto ${proto} ct original ip daddr ${vs.host} ct original proto-dst ${vs.port}`;
  const counting = countingRules(vs);
  out.counters.push(...counting.counters);
  for (const [m, elements] of counting.maps) out.counterMaps.set(m, elements);
  forward.push(...counting.rules);
  const fullnat = vs.realServers.filter((r) => r.spec.forward === "fullnat");
  if (fullnat.length > 0) {
    // From the interface's address (masquerade), or from the service's local addresses in turn.
    const la = vs.spec.localAddresses;
    const source = !la
      ? "masquerade"
      : la.length === 1
        ? `snat ip to ${la[0]}`
        : `snat ip to numgen inc mod ${la.length} map { ${la.map((a, i) => `${i} : ${a}`).join(", ")} }`;
    postrouting.push(`${orig} ct status dnat ip daddr . ${proto} dport { ${fullnat.map(target).join(", ")} } ${source}`);
  }
  if (templates) {
    if (!prev.templates.has(templates.map))
      out.defs.push(
        `add map ip ${TABLE} ${templates.map} { type ipv4_addr : ipv4_addr . inet_service; flags dynamic,timeout; timeout ${templates.timeout}s; size ${TEMPLATE_MAP_SIZE}; }`,
      );
    out.next.templates.add(templates.map);
    if (templates.honoured.length > 0) {
      rules.push(`meta l4proto ${proto} dnat ip to ${templates.key} map @${templates.map}`);
      const dest = `ip daddr . ${proto} dport`;
      const honoured = `{ ${templates.honoured.map(target).join(", ")} }`;
      const record = `{ ${templates.key} : ${dest} }`;
      // The flow's first packet (conntrack confirms it only after postrouting), if DNATed (a refused flow is not:
      // the input rule rejects it).
      const first = `${orig} ct status dnat ct status ! confirmed ${dest} != ${honoured}`;
      post.push(`${first} delete @${templates.map} ${record}`, `${first} drop`);
      post.push(`${orig} ct direction original ${dest} ${honoured} update @${templates.map} ${record}`);
    }
  }
  const to = renderDispatch(plan.dispatch, prev, out, proto);
  if (to !== null) rules.push(`meta l4proto ${proto} dnat ip to ${to}`);
  out.chains.set(chain, rules);
  out.jumps.push(`${vs.host} . ${proto} . ${vs.port} : jump ${chain}`);
  out.keys.push(`${vs.host} . ${proto} . ${vs.port}`);
}

/**
 * One nft batch that brings the table from `prev` to the plans, or null when the table already is there. Only
 * what changed is sent: a chain is flushed and refilled when its rules changed (so a change to one service
 * leaves the others' chains, and their numgen round-robin positions, alone); counters and maps are table objects
 * created once and kept (counters keep counting, templates keep their clients, position maps get only their
 * changes); objects no longer wanted are deleted after the rules that used them are gone, except those named in
 * `keep` (a previous agent's, adopted while the services are opened again one by one). The kernel applies the
 * batch atomically. `next` is the state once it has.
 */
export function renderBatch(plans: Iterable<ServicePlan>, prev: TableState, keep: ReadonlySet<string> = new Set()): { script: string | null; next: TableState } {
  const next = emptyState();
  const chains = new Map<string, string[]>([
    ["prerouting", ["jump services"]],
    ["output", ["jump services"]],
    ["persist", []],
    ["forward", []],
    ["postrouting", []],
  ]);
  const r: Rendered = { chains, defs: [], elems: [], jumps: [], keys: [], counters: [], counterMaps: new Map(), next };
  for (const p of plans) renderService(p, prev, r);
  // The DNAT rules live once per service in a regular chain that both NAT hooks reach through one verdict map.
  chains.set("services", r.jumps.length ? [`ip daddr . meta l4proto . th dport vmap { ${r.jumps.join(", ")} }`] : []);
  chains.set("input", r.keys.length ? [`ip daddr . meta l4proto . th dport { ${r.keys.join(", ")} } reject`] : []);
  // Packets pass the persistence hooks only while some service has templates.
  const persist = chains.get("persist")!.length > 0;
  if (persist) for (const c of Object.keys(PERSIST)) chains.set(c, ["jump persist"]);
  next.counters = new Set(r.counters);
  const t = `ip ${TABLE}`;
  const body: string[] = [];
  // The table and its fixed chains, where not known to exist: re-adding an existing base chain is an update the
  // kernel commits (measured: ~10 ms more for every batch that carried them).
  const header: string[] = [];
  if (prev.chains.size === 0) header.push(`add table ${t}`);
  for (const [c, def] of Object.entries(BASE)) if (!prev.chains.has(c)) header.push(`add chain ${t} ${c} { ${def} }`);
  for (const c of ["services", "persist"]) if (!prev.chains.has(c)) header.push(`add chain ${t} ${c}`);
  for (const c of chains.keys()) if (c.startsWith("s_") && !prev.chains.has(c)) body.push(`add chain ${t} ${c}`);
  if (persist) for (const [c, def] of Object.entries(PERSIST)) if (!prev.chains.has(c)) body.push(`add chain ${t} ${c} { ${def} }`);
  body.push(...r.defs, ...r.elems);
  // New counters, then the counter maps that name them (rewritten whole when their real servers changed), before
  // the forward rules that look them up.
  body.push(...r.counters.filter((n) => !prev.counters.has(n)).map((n) => `add counter ${t} ${n}`));
  for (const [m, elements] of r.counterMaps) {
    next.counterMaps.set(m, elements);
    const was = prev.counterMaps.get(m);
    if (was === elements) continue;
    if (was === undefined) body.push(`add map ${t} ${m} { type ipv4_addr . inet_service : counter; }`);
    else body.push(`flush map ${t} ${m}`);
    body.push(`add element ${t} ${m} { ${elements} }`);
  }
  // Services' chains first, then the verdict map that jumps to them, then the hooks.
  const order = [...[...chains.keys()].filter((c) => c.startsWith("s_")), "services", "prerouting", "output", "input", "persist", ...(persist ? Object.keys(PERSIST) : []), "forward", "postrouting"];
  for (const c of order) {
    const rules = chains.get(c)!;
    const text = rules.join("\n");
    next.chains.set(c, text);
    if (prev.chains.get(c) === text) continue;
    body.push(`flush chain ${t} ${c}`, ...rules.map((rule) => `add rule ${t} ${c} ${rule}`));
  }
  for (const [c, rules] of prev.chains) {
    if (!(c.startsWith("s_") || c in PERSIST) || chains.has(c)) continue;
    if (keep.has(c)) next.chains.set(c, rules);
    else body.push(`flush chain ${t} ${c}`, `delete chain ${t} ${c}`);
  }
  for (const [m, elems] of prev.positions) {
    if (next.positions.has(m)) continue;
    if (keep.has(m)) next.positions.set(m, elems);
    else body.push(`delete map ${t} ${m}`);
  }
  for (const m of prev.templates) {
    if (next.templates.has(m)) continue;
    if (keep.has(m)) next.templates.add(m);
    else body.push(`delete map ${t} ${m}`);
  }
  for (const [m, elements] of prev.counterMaps) {
    if (next.counterMaps.has(m)) continue;
    if (keep.has(m)) next.counterMaps.set(m, elements);
    else body.push(`delete map ${t} ${m}`);
  }
  // Counters are named by the counter maps only, which the above made those of `next` (or deleted).
  for (const n of prev.counters) {
    if (next.counters.has(n)) continue;
    if (keep.has(n)) next.counters.add(n);
    else body.push(`delete counter ${t} ${n}`);
  }
  return { script: body.length ? `${[...header, ...body].join("\n")}\n` : null, next };
}
