/**
 * VS/DR in the kernel engine: direct routing with nftables at the netdev ingress hook, for services whose real
 * servers are all `forward: dr`. As IPVS's DR transmitter does, the director leaves the IP packet alone: a packet
 * for VIP:port arriving on the director's interface gets the chosen real server's MAC address as its Ethernet
 * destination and is sent out again on the real servers' segment (`fwd to`), before the director's IP stack sees
 * it. Its Ethernet source becomes the director's own address, as on a frame the director sent itself: a switch
 * learns source addresses per port, and a frame leaving the director's port with the client's (or the router's)
 * address would teach it to send the real server's replies to the director. Each real server holds the VIP on a
 * non-ARP device (lo, with arp_ignore=1 and arp_announce=2: scripts/dr-real-server.sh) and answers the client
 * directly, so the director sees only the inbound half of each connection. As with IPVS DR, the real servers must
 * share a segment with the director (a route without gateway: checked when the service opens, refused otherwise)
 * and listen on the VIP's own port (the packet keeps its destination port; IPVS cannot remap it for DR either, and
 * ipvsadm silently resets it: refused here).
 *
 *   table netdev director
 *     chain in_<dev>    hook ingress device <dev>: ip daddr . meta l4proto . th dport vmap { VIP . tcp . 80 : jump dr_<svc> }
 *     chain dr_<svc>    the rules below, in this order:
 *       1  SYN             delete @drf { client }                                (a new connection is scheduled afresh)
 *       2  not SYN         ether daddr set client map @drf, refresh the record    → dro   (recorded flows)
 *       3  SYN, moved      ether daddr set P map @drc, record it                  → dro   (new connection, new owner)
 *       4  not SYN         ether daddr set P map @dre, record it                  → dro   (older connection, previous owner)
 *       5  not SYN         ether daddr set P map @dre                             → dro   (the same when the flow map is full)
 *       6                  ether daddr set P map @drc                             → dro   (the table)
 *       7                  reject with icmp port-unreachable                             (no destination, as IPVS)
 *     chain dro_<svc>   named counters per real server (keyed by MAC), ether saddr set <own MAC>, fwd to <dev>
 *     map drc_<svc>     position → MAC: the scheduler's table (tables.ts: sh/dh 256 buckets, mh 4093 positions)
 *     map dre_<svc>     position → MAC, only for the positions in transition: their previous owner
 *     map drf_<svc>     client address . port → MAC, dynamic, per-record timeouts: connections recorded in transitions
 * where SYN is `tcp flags & (syn | ack) == syn`, client is `ip saddr . tcp sport`, P is `jhash ip saddr [. tcp sport]
 * | ip daddr mod M seed S` (S fixed per service, FNV-1a of its key, as for VS/NAT) and "moved" is `P @dre`.
 *
 * Scheduling is stateless: every packet of a connection hashes to the same position, so the director needs no
 * connection table, and two directors with the same configuration (same seed, same table) send every packet of a
 * connection to the same real server — when the client's route to the VIP moves from one director to the other,
 * established connections go on without any state being synchronised (IPVS needs its sync daemon for that). Only
 * sh, dh and mh are stateless; rr, wrr and the lc family would send each packet elsewhere and are refused, as is
 * persistence (below). UDP is handled apart (below).
 *
 * Quiesced real servers, and every other change of the table. IPVS keeps a connection on its real server whatever
 * happens to the scheduler afterwards (its connection entry decides, not the scheduler): a quiesced server (weight
 * 0, draining) takes no new connections and keeps its established ones. A stateless table alone cannot: when a
 * server is drained its positions pass to other servers (or to none), and every packet hashing there would go
 * with them, the drained server's established connections included. So a change opens a transition for the
 * positions it moved, remembering each one's previous owner (dre):
 *   - a SYN at a moved position is a new connection: it goes to the new owner and is recorded (flow → MAC);
 *   - every other packet of a recorded flow goes where its record says, and restarts the record's timeout;
 *   - any other packet of an unrecorded flow at a moved position belongs to a connection older than the change:
 *     it goes to the previous owner, and is recorded too;
 *   - everywhere else, and everywhere once the transition is over, the table decides.
 * A transition lasts `timeouts.tcp` (900 s) from the change; records expire `timeouts.tcp` after their flow's last
 * packet. Every connection older than the change that sends a packet during the transition is recorded by then, so
 * at its end the moved positions simply follow the table and the records carry the rest. Outside transitions
 * nothing is recorded: the flow map is empty and forwarding is stateless. A position changed again while in
 * transition keeps its first previous owner (the connections older than the first change are the ones still
 * unrecorded); a real server removed from the service ends its positions' transitions at once, and so does a
 * change of the hash itself (scheduler, -b flags: the positions mean something else). This covers weight 0 and
 * draining, maintenance, failed health checks, weight changes and new real servers alike: no change of the table
 * moves an established connection, as in IPVS.
 * How far this is from IPVS:
 *   - a connection older than a change that stays silent through the whole transition (longer than
 *     `timeouts.tcp`) moves to the new owner; IPVS would have expired it after the same idle time;
 *   - records are not shortened after FIN or RST (IPVS: `tcpfin`), and "new" means a SYN without ACK (a client
 *     reusing a 4-tuple with a fresh SYN is scheduled afresh, as IPVS's conn_reuse_mode does);
 *   - the records are this director's own: when the client's route moves to another director during a transition,
 *     connections that began after the change at a moved position (recorded here only) are sent to the previous
 *     owner there and break; those older than the change, and all connections outside transitions, go on;
 *   - the transition state is the agent's: a restarted agent reads the kernel's drc and dre back and starts a
 *     transition wherever they disagree with its own plan (records survive in the kernel);
 *   - a real server removed from the service: its recorded connections keep going to it until their records
 *     expire, its unrecorded ones move at once (IPVS keeps them all unless expire_nodest_conn);
 *   - persistence (a template map per client prefix) is refused with VS/DR in this version;
 *   - the flow map holds at most 1,048,576 records per service; when full, packets go unrecorded (SYNs to the
 *     new owner, others to the previous one until the transition ends);
 *   - the director forwards the frame without routing it, so the TTL is not decremented (IPVS DR routes it);
 *   - activeConns/inactiveConns stay 0 (no connection table); per real server, new connections (SYNs) and
 *     inbound packets and bytes are counted, outbound ones never pass the director.
 *
 * UDP has no SYN, so new and established flows cannot be told apart by a packet: every UDP flow is recorded on its
 * first datagram, as IPVS makes a connection entry for it, and follows its record afterwards (each datagram
 * restarts it; it lasts `timeouts.udp`, 300 s). The chain is then:
 *       1  ether daddr set client map @drf, refresh the record     → dro   (a flow seen within the timeout)
 *       2  ether daddr set P map @drc, record it, count it as new   → dro   (a new flow: the table decides)
 *       3  ether daddr set P map @drc, count it as new              → dro   (the same when the flow map is full)
 *       4  reject with icmp port-unreachable
 * so no change of the table moves a flow seen within the timeout, and transitions (dre) are not needed for UDP.
 * It costs a record per flow and a dynamic-map update per datagram (IPVS: a connection lookup per packet). Records
 * are this director's: a flow moving to another director is scheduled there by the table, which is the same except
 * at positions that changed since the flow began. Differences from IPVS: a record is refreshed by every datagram,
 * also when its server has failed (IPVS drops the packets of an unavailable destination's entries and lets them
 * expire), so a client that never pauses keeps its failed server; only first fragments match `udp sport`, so the
 * later fragments of a large datagram are not forwarded (IPVS reassembles); with the flow map full, new flows go
 * unrecorded (rule 3) and each datagram counts as new.
 *
 * MAC addresses come from the kernel's neighbour table (links.ts; the engine keeps them current, index.ts). A real
 * server whose MAC address is not known (yet), or that is not on the director's segment, counts as unavailable in
 * the table: its positions have no destination, or with sh-fallback / mh-fallback the fallback's.
 */
import type { RealServer } from "../../state/real-server.js";
import type { VirtualService } from "../../state/virtual-service.js";
import { counterNames, serviceId } from "./ruleset.js";
import { positionChanges } from "./tables.js";

export const DR_TABLE = "director";
/** The most connections one service's flow map records (see the header). */
export const FLOW_MAP_SIZE = 1 << 20;

/** Where a service's packets come in and go out, and the outgoing interface's own MAC address. */
export interface DrLink {
  in: string;
  out: string;
  mac: string;
}

/** Per-service transition state (kept by the engine with the service's other state). */
export interface DrServiceState {
  link?: DrLink;
  /** What the link was derived from (the interface asked for, the real servers' hosts): a change derives it again. */
  linkFrom?: string;
  /** Real servers that cannot be forwarded to (not on the segment): they get no positions. */
  excluded: Set<string>;
  /** The hash the positions refer to (key, size, seed); a change restarts the state. */
  hash?: string;
  /** Per position: the real server (address) the table gave it when its transition began, or its current one. */
  prev: (string | null)[];
  /** Positions in transition, and since when (ms). */
  movedAt: Map<number, number>;
}

export function newDrState(): DrServiceState {
  return { excluded: new Set(), prev: [], movedAt: new Map() };
}

export interface DrPlan {
  vs: VirtualService;
  link: DrLink;
  /** The hash: key expression, table size, seed. */
  key: string;
  size: number;
  seed: number;
  /** MAC per position (null: no destination). */
  table: (string | null)[];
  /** Positions in transition → the previous owner's MAC. */
  moved: Map<number, string>;
  /** Real servers with a known MAC, in list order (counters), the first of each MAC. */
  servers: { rs: RealServer; mac: string }[];
  /** Seconds a record lives after its flow's last packet, and a transition after its change. */
  timeout: number;
}

/**
 * Moves the transition state on to the service's current table (`table`: real server per position, from plan.ts)
 * at `now`, and returns the plan to render and when the next transition ends (ms), if any.
 *  - `macOf`: a real server's MAC address, undefined while unknown (such a server has no positions);
 *  - `recovered`: a previous agent's drc and dre (position → MAC), read back at the first change after a restart:
 *    where the kernel's table sent a position elsewhere than the new plan does, that position starts a transition
 *    with the previous agent's owner (its own previous owner when it was in transition already).
 */
export function planDr(
  vs: VirtualService,
  st: DrServiceState,
  link: DrLink,
  hash: { key: string; seed: number; table: readonly (RealServer | null)[] },
  macOf: (rs: RealServer) => string | undefined,
  timeout: number,
  now: number,
  recovered?: { table?: ReadonlyMap<number, string>; moved?: ReadonlyMap<number, string> },
): { plan: DrPlan; settleAt: number | undefined } {
  const size = hash.table.length;
  const servers: { rs: RealServer; mac: string }[] = [];
  const byMac = new Map<string, RealServer>();
  for (const rs of vs.realServers) {
    const mac = macOf(rs);
    if (mac === undefined || byMac.has(mac)) continue;
    byMac.set(mac, rs);
    servers.push({ rs, mac });
  }
  const usable = (rs: RealServer | null) => (rs !== null && macOf(rs) !== undefined ? rs : null);
  const cur = hash.table.map(usable);
  const sig = `${hash.key}|${size}|${hash.seed}`;
  if (st.hash !== sig) {
    st.hash = sig;
    st.prev = cur.map((rs) => rs?.address ?? null);
    st.movedAt = new Map();
    if (recovered) {
      // The previous agent's owners, in transition from now (we do not know when its transitions began).
      for (let p = 0; p < size; p++) {
        const mac = recovered.moved?.get(p) ?? recovered.table?.get(p);
        const rs = mac === undefined ? undefined : byMac.get(mac);
        if (rs && rs !== cur[p]) {
          st.prev[p] = rs.address;
          st.movedAt.set(p, now);
        }
      }
    }
  }
  const listed = vs.byAddress;
  const ms = timeout * 1000;
  let settleAt: number | undefined;
  const moved = new Map<number, string>();
  for (let p = 0; p < size; p++) {
    const c = cur[p]?.address ?? null;
    let e = st.prev[p] ?? null;
    // Nothing to keep: no owner before, or one no longer in the service.
    if (e === null || !listed.has(e)) e = c;
    if (e === c) {
      st.movedAt.delete(p);
    } else {
      const since = st.movedAt.get(p);
      if (since === undefined) st.movedAt.set(p, now);
      else if (now >= since + ms) {
        e = c;
        st.movedAt.delete(p);
      }
    }
    st.prev[p] = e;
    if (e === c) continue;
    const mac = macOf(listed.get(e!)!);
    if (mac !== undefined) moved.set(p, mac);
    const end = st.movedAt.get(p)! + ms;
    if (settleAt === undefined || end < settleAt) settleAt = end;
  }
  const table = cur.map((rs) => (rs ? macOf(rs)! : null));
  return { plan: { vs, link, key: hash.key, size, seed: hash.seed, table, moved, servers, timeout }, settleAt };
}

/** What the netdev table holds, as far as later batches must know it. */
export interface DrTableState {
  /** Chains and their rules as last applied; null = the chain exists, its rules are unknown. */
  chains: Map<string, string | null>;
  /** drc maps: MAC per position; dre maps: position → MAC. null = contents unknown. */
  tables: Map<string, (string | null)[] | null>;
  moved: Map<string, Map<number, string> | null>;
  /** Flow maps (kept as they are: their records are the connections). */
  flows: Set<string>;
  counters: Set<string>;
}

export function emptyDrState(): DrTableState {
  return { chains: new Map(), tables: new Map(), moved: new Map(), flows: new Set(), counters: new Set() };
}

/** Object names of one service. */
export function drNames(vs: VirtualService) {
  const id = serviceId(vs);
  return { chain: `dr_${id}`, out: `dro_${id}`, table: `drc_${id}`, moved: `dre_${id}`, flows: `drf_${id}` };
}

/** The base chain of an ingress interface. */
export const ingressChain = (dev: string) => `in_${dev.replace(/[^\w]/g, "_")}`;

const SYN = "tcp flags & (syn | ack) == syn";
const NOT_SYN = "tcp flags & (syn | ack) != syn";

/** The rules of a service's two chains. */
export function drRules(plan: DrPlan): { chain: string[]; out: string[] } {
  const n = drNames(plan.vs);
  const proto = plan.vs.spec.protocol;
  const flow = `ip saddr . ${proto} sport`;
  const P = `jhash ${plan.key} mod ${plan.size} seed 0x${plan.seed.toString(16).padStart(8, "0")}`;
  const record = `update @${n.flows} { ${flow} timeout ${plan.timeout}s : ether daddr }`;
  const names = plan.servers.map(({ rs, mac }) => ({ mac, c: counterNames(plan.vs, rs.host, rs.port) }));
  const newFlows = names.length > 0 ? ` counter name ether daddr map { ${names.map((x) => `${x.mac} : "${x.c.conns}"`).join(", ")} }` : "";
  const chain =
    proto === "udp"
      ? [
          // UDP: every flow is recorded on its first datagram (IPVS's connection entry), so a change of the table
          // moves no flow that was seen within the timeout; a flow without record is new and the table decides.
          `ether daddr set ${flow} map @${n.flows} ${record} goto ${n.out}`,
          `ether daddr set ${P} map @${n.table} ${record}${newFlows} goto ${n.out}`,
          `ether daddr set ${P} map @${n.table}${newFlows} goto ${n.out}`, // the flow map full: unrecorded
          "reject with icmp port-unreachable",
        ]
      : [
          `${SYN} delete @${n.flows} { ${flow} : ether daddr }`,
          `${NOT_SYN} ether daddr set ${flow} map @${n.flows} ${record} goto ${n.out}`,
          `${SYN} ${P} @${n.moved} ether daddr set ${P} map @${n.table} ${record} goto ${n.out}`,
          `${NOT_SYN} ether daddr set ${P} map @${n.moved} ${record} goto ${n.out}`,
          `${NOT_SYN} ether daddr set ${P} map @${n.moved} goto ${n.out}`,
          `ether daddr set ${P} map @${n.table} goto ${n.out}`,
          "reject with icmp port-unreachable",
        ];
  const out: string[] = [];
  if (names.length > 0) {
    // Separate rules: a flow recorded for a server no longer listed has no counter, and must still be forwarded.
    // New connections: a SYN (TCP); for UDP the chain counted the new flow already.
    if (proto === "tcp") out.push(`${SYN}${newFlows}`);
    out.push(`counter name ether daddr map { ${names.map((x) => `${x.mac} : "${x.c.in}"`).join(", ")} }`);
  }
  out.push(`ether saddr set ${plan.link.mac} fwd to "${plan.link.out}"`);
  return { chain, out };
}

/**
 * One nft batch (or null) that brings the netdev table from `prev` to the plans, sending only what changed: a
 * chain is refilled when its rules changed (a new MAC address, interface or timeout), the position maps get only
 * the positions that changed, flow maps and counters are created once and kept. Objects of services no longer
 * planned are deleted after the rules using them, except those in `keep` (a previous agent's, see index.ts). The
 * table itself is removed by the caller when no DR service is left.
 */
export function renderDrBatch(plans: readonly DrPlan[], prev: DrTableState, keep: ReadonlySet<string> = new Set()): { script: string | null; next: DrTableState } {
  const t = `netdev ${DR_TABLE}`;
  const next = emptyDrState();
  const defs: string[] = [];
  const elems: string[] = [];
  const fill: string[] = [];
  const jumps = new Map<string, { dev: string; entries: string[] }>();
  const serviceChains: [string, string[]][] = [];
  for (const plan of plans) {
    const n = drNames(plan.vs);
    const { chain, out } = drRules(plan);
    for (const c of [n.chain, n.out]) if (!prev.chains.has(c)) defs.push(`add chain ${t} ${c}`);
    // The positions (typeof: a 32-bit integer key, as jhash's result) and their MAC addresses.
    for (const m of [n.table, n.moved]) if (!prev.tables.has(m) && !prev.moved.has(m)) defs.push(`add map ${t} ${m} { typeof numgen inc mod 2 : ether daddr; }`);
    if (!prev.flows.has(n.flows))
      defs.push(`add map ${t} ${n.flows} { typeof ip saddr . ${plan.vs.spec.protocol} sport : ether daddr; flags dynamic,timeout; size ${FLOW_MAP_SIZE}; }`);
    next.flows.add(n.flows);
    for (const { rs } of plan.servers) {
      const c = counterNames(plan.vs, rs.host, rs.port);
      for (const name of [c.conns, c.in]) {
        if (!prev.counters.has(name) && !next.counters.has(name)) defs.push(`add counter ${t} ${name}`);
        next.counters.add(name);
      }
    }
    // drc: per position.
    const { flush, del, add } = positionChanges(prev.tables.get(n.table), plan.table);
    if (flush) elems.push(`flush map ${t} ${n.table}`);
    pushElements(elems, t, n.table, del, add);
    next.tables.set(n.table, [...plan.table]);
    // dre: only the positions in transition.
    const wasMoved = prev.moved.get(n.moved);
    const mdel: number[] = [];
    const madd: string[] = [];
    if (wasMoved === undefined || wasMoved === null) {
      if (wasMoved === null) elems.push(`flush map ${t} ${n.moved}`);
      for (const [p, mac] of plan.moved) madd.push(`${p} : ${mac}`);
    } else {
      for (const [p, mac] of wasMoved) if (plan.moved.get(p) !== mac) mdel.push(p);
      for (const [p, mac] of plan.moved) if (wasMoved.get(p) !== mac) madd.push(`${p} : ${mac}`);
    }
    pushElements(elems, t, n.moved, mdel, madd);
    next.moved.set(n.moved, new Map(plan.moved));
    serviceChains.push([n.out, out], [n.chain, chain]);
    const base = ingressChain(plan.link.in);
    if (!jumps.has(base)) jumps.set(base, { dev: plan.link.in, entries: [] });
    jumps.get(base)!.entries.push(`${plan.vs.host} . ${plan.vs.spec.protocol} . ${plan.vs.port} : jump ${n.chain}`);
  }
  // The table and the base chains, where not known to exist (re-adding an existing base chain is an update the
  // kernel commits: ~10 ms more per batch).
  const header = prev.chains.size === 0 ? [`add table ${t}`] : [];
  for (const [base, { dev }] of jumps)
    if (!prev.chains.has(base)) header.push(`add chain ${t} ${base} { type filter hook ingress device "${dev}" priority filter; policy accept; }`);
  const body: string[] = [...defs, ...elems];
  const refill = (c: string, rules: string[]) => {
    const text = rules.join("\n");
    next.chains.set(c, text);
    if (prev.chains.get(c) === text) return;
    fill.push(`flush chain ${t} ${c}`, ...rules.map((r) => `add rule ${t} ${c} ${r}`));
  };
  // Out chains before the chains that go to them, those before the base chains that jump to them.
  for (const [c, rules] of serviceChains) refill(c, rules);
  for (const [base, { entries }] of jumps) refill(base, [`ip daddr . meta l4proto . th dport vmap { ${entries.join(", ")} }`]);
  body.push(...fill);
  // Deletions: base chains first (they jump to service chains), then service chains (dr before dro), then maps, counters.
  const gone = (name: string) => !keep.has(name);
  const dropChains = [...prev.chains.keys()].filter((c) => !next.chains.has(c));
  const order = (c: string) => (c.startsWith("in_") ? 0 : c.startsWith("dr_") ? 1 : 2);
  dropChains.sort((a, b) => order(a) - order(b));
  for (const c of dropChains) if (gone(c)) body.push(`flush chain ${t} ${c}`);
  for (const c of dropChains) {
    if (gone(c)) body.push(`delete chain ${t} ${c}`);
    else next.chains.set(c, prev.chains.get(c) ?? null);
  }
  for (const [m, v] of prev.tables) {
    if (next.tables.has(m)) continue;
    if (gone(m)) body.push(`delete map ${t} ${m}`);
    else next.tables.set(m, v);
  }
  for (const [m, v] of prev.moved) {
    if (next.moved.has(m)) continue;
    if (gone(m)) body.push(`delete map ${t} ${m}`);
    else next.moved.set(m, v);
  }
  for (const m of prev.flows) {
    if (next.flows.has(m)) continue;
    if (gone(m)) body.push(`delete map ${t} ${m}`);
    else next.flows.add(m);
  }
  for (const c of prev.counters) {
    if (next.counters.has(c)) continue;
    if (gone(c)) body.push(`delete counter ${t} ${c}`);
    else next.counters.add(c);
  }
  return { script: body.length ? `${[...header, ...body].join("\n")}\n` : null, next };
}

function pushElements(out: string[], t: string, map: string, del: number[], add: string[]) {
  // Large maps in slices, so that no single command line grows without bound.
  for (let i = 0; i < del.length; i += 1024) out.push(`delete element ${t} ${map} { ${del.slice(i, i + 1024).join(", ")} }`);
  for (let i = 0; i < add.length; i += 1024) out.push(`add element ${t} ${map} { ${add.slice(i, i + 1024).join(", ")} }`);
}
