/**
 * The agent's status as ipvsadm prints it. Pure functions, status → text, so the layouts are golden-tested.
 *
 * Every layout is ipvsadm's printf formats (ipvsadm.c v1.31: list_all, print_title, print_service_entry,
 * print_largenum, print_sched_flags, list_conn/print_conn, list_timeout), reproduced column for column,
 * trailing padding included, so scripts that parse `ipvsadm -L -n` parse `vsadm -L -n`. Addresses are always
 * numeric (ipvsadm without -n would resolve names). Choices where Director has more to say than IPVS:
 *  - Weight is the weight the scheduler uses (effectiveWeight): 0 while a server drains, as a quiesced
 *    server reads in ipvsadm, and 0 while it is unavailable (maintenance, or a failed check), as keepalived's
 *    inhibit_on_failure leaves it; -S saves the configured weight.
 *  - Admin state and health appear only with --admin, as one extra trailing column, so the default layout
 *    stays byte-compatible.
 *  - Services and servers are sorted by family, protocol, address, port (libipvs ipvs_cmp_services /
 *    ipvs_cmp_dests) unless --nosort, comparing addresses as unsigned numbers (the C code subtracts them
 *    into an int, which misorders addresses more than 2^31 apart).
 */
import type { ConnectionEntry, RealServerStatus, Timeouts, VirtualServiceStatus } from "@director/model";
import { parseEndpoint } from "@director/model";
import type { Layout } from "./parse.js";

/** The IPVS version ipvsadm reports for every kernel since 2.6 (IP_VS_VERSION_CODE 0x010201). */
export const IPVS_VERSION = "1.2.1";
/**
 * The "size=" of the header: the kernel's connection hash table size (CONFIG_IP_VS_TAB_BITS=12). Director's
 * connection table is not a fixed-size hash, so this is the kernel default, kept for scripts that read it.
 */
export const CONN_TABLE_SIZE = 4096;

export interface ListFormat {
  layout: Layout;
  /** --exact: full numbers instead of K/M/G/T. */
  exact: boolean;
  /** Sort services and servers (ipvsadm's default; --nosort keeps the agent's order). */
  sort: boolean;
  /** --admin: a trailing State column in the default layout. */
  admin: boolean;
  /** The "IP Virtual Server version" line: printed by list_all, not when one service is listed (-L -t). */
  header: boolean;
}

export const DEFAULT_FORMAT: ListFormat = { layout: "default", exact: false, sort: true, admin: false, header: true };

/** ipvsadm's names; "FullNat" as Alibaba's FULLNAT ipvsadm prints it. */
const FORWARD_NAME = { nat: "Masq", dr: "Route", tun: "Tunnel", fullnat: "FullNat" } as const;

/** printf %-Ns */
const left = (s: string | number, width: number) => String(s).padEnd(width);
/** printf %Ns */
const right = (s: string | number, width: number) => String(s).padStart(width);
/** Counters and rates are unsigned integers in IPVS; the estimator's rates arrive fractional here. */
const u = (n: number) => Math.max(0, Math.round(n));

/** print_largenum: %9llu, or 8 digits and a K/M/G/T suffix from 100 million up; --exact widens instead. */
export function largenum(n: number, exact: boolean): string {
  const i = u(n);
  if (exact) {
    const s = String(i);
    return right(s, s.length <= 8 ? 9 : s.length + 1);
  }
  if (i < 1e8) return right(i, 9);
  if (i < 1e9) return `${right(Math.floor(i / 1e3), 8)}K`;
  if (i < 1e11) return `${right(Math.floor(i / 1e6), 8)}M`;
  if (i < 1e14) return `${right(Math.floor(i / 1e9), 8)}G`;
  return `${right(Math.floor(i / 1e12), 8)}T`;
}

/** print_title */
export function formatTitle(layout: Layout, admin = false): string {
  const prot = left("Prot LocalAddress:Port", 33);
  switch (layout) {
    case "stats":
      return `${prot} ${["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"].map((h) => right(h, 8)).join(" ")}\n  -> RemoteAddress:Port\n`;
    case "rate":
      return `${prot} ${["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"].map((h) => right(h, 8)).join(" ")}\n  -> RemoteAddress:Port\n`;
    case "thresholds":
      return `${prot} ${["Uthreshold", "Lthreshold", "ActiveConn", "InActConn"].map((h) => left(h, 10)).join(" ")}\n  -> RemoteAddress:Port\n`;
    case "persistent-conn":
      return `${prot} ${left("Weight", 9)} ${left("PersistConn", 11)} ${left("ActiveConn", 10)} ${left("InActConn", 10)}\n  -> RemoteAddress:Port\n`;
    case "default":
      return `Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn${admin ? " State" : ""}\n`;
  }
}

/** "TCP  10.0.0.1:80": protocol padded to 4, cut at 33 characters for IPv4 as print_service_entry does. */
function serviceName(vs: VirtualServiceStatus): string {
  const name = `${left(vs.protocol.toUpperCase(), 4)} ${vs.address}`;
  return vs.address.startsWith("[") ? name : name.slice(0, 33);
}

function destName(rs: RealServerStatus): string {
  return rs.address.startsWith("[") ? rs.address : rs.address.slice(0, 28);
}

/** print_sched_flags: sh and mh name their two flags; ours are stored by name already. */
export function schedFlagsText(vs: Pick<VirtualServiceStatus, "schedulerFlags">): string {
  const order = ["sh-fallback", "sh-port", "mh-fallback", "mh-port"];
  return order.filter((f) => (vs.schedulerFlags as string[]).includes(f)).join(",");
}

/** A prefix length as ipvsadm prints the persistence mask: dotted for IPv4, the length for IPv6. */
export function maskText(prefixLength: number, family: 4 | 6): string {
  if (family === 6) return String(prefixLength);
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  return [24, 16, 8, 0].map((shift) => (mask >>> shift) & 0xff).join(".");
}

/** The persistence mask when it is not one client address (/32, /128), which ipvsadm leaves out. */
export function persistenceMask(vs: Pick<VirtualServiceStatus, "address" | "persistence">): string | undefined {
  if (!vs.persistence) return undefined;
  const family = vs.address.startsWith("[") ? 6 : 4;
  if (vs.persistence.prefixLength === (family === 4 ? 32 : 128)) return undefined;
  return maskText(vs.persistence.prefixLength, family);
}

/** The state shown by --admin: admin state, then what keeps the server from new connections. */
export function adminText(rs: RealServerStatus): string {
  const notes: string[] = [];
  if (!rs.available && rs.adminState !== "maintenance") notes.push("down");
  if (rs.overloaded) notes.push("overloaded");
  return [rs.adminState, ...notes].join(",");
}

function serviceLine(vs: VirtualServiceStatus, f: ListFormat): string {
  const name = serviceName(vs);
  if (f.layout === "stats") {
    const s = vs.stats;
    return left(name, 33) + [s.conns, s.inPkts, s.outPkts, s.inBytes, s.outBytes].map((n) => largenum(n, f.exact)).join("");
  }
  if (f.layout === "rate") {
    const r = vs.rates;
    return left(name, 33) + [r.cps, r.inPps, r.outPps, r.inBps, r.outBps].map((n) => largenum(n, f.exact)).join("");
  }
  let line = `${name} ${vs.scheduler}`;
  const flags = schedFlagsText(vs);
  if (flags) line += ` (${flags})`;
  if (vs.persistence) {
    line += ` persistent ${vs.persistence.timeout}`;
    const mask = persistenceMask(vs);
    if (mask) line += ` mask ${mask}`;
  }
  if (vs.onePacket) line += " ops";
  return line;
}

function destLine(rs: RealServerStatus, f: ListFormat): string {
  const name = destName(rs);
  switch (f.layout) {
    case "stats": {
      const s = rs.stats;
      return `  -> ${left(name, 28)}${[s.conns, s.inPkts, s.outPkts, s.inBytes, s.outBytes].map((n) => largenum(n, f.exact)).join("")}`;
    }
    case "rate": {
      const r = rs.rates;
      // cps, inpps and outpps are printed "%8llu" (never suffixed), the byte rates through print_largenum.
      return `  -> ${left(name, 28)} ${right(u(r.cps), 8)} ${right(u(r.inPps), 8)} ${right(u(r.outPps), 8)}${largenum(r.inBps, f.exact)}${largenum(r.outBps, f.exact)}`;
    }
    case "thresholds":
      return `  -> ${left(name, 28)} ${left(rs.upperThreshold, 10)} ${left(rs.lowerThreshold, 10)} ${left(rs.activeConns, 10)} ${left(rs.inactiveConns, 10)}`;
    case "persistent-conn":
      return `  -> ${left(name, 28)} ${left(schedulingWeight(rs), 9)} ${left(rs.persistConns, 11)} ${left(rs.activeConns, 10)} ${left(rs.inactiveConns, 10)}`;
    case "default": {
      const line = `  -> ${left(name, 28)} ${left(FORWARD_NAME[rs.forward], 7)} ${left(schedulingWeight(rs), 6)} ${left(rs.activeConns, 10)} ${left(rs.inactiveConns, 10)}`;
      return f.admin ? `${line} ${adminText(rs)}` : line;
    }
  }
}

/** `-L`: the header (list_all only), the title, and each service with its real servers. */
export function formatServices(services: readonly VirtualServiceStatus[], f: ListFormat = DEFAULT_FORMAT): string {
  let out = f.header ? `IP Virtual Server version ${IPVS_VERSION} (size=${CONN_TABLE_SIZE})\n` : "";
  out += formatTitle(f.layout, f.admin);
  for (const vs of f.sort ? sortServices(services) : services) {
    out += `${serviceLine(vs, f)}\n`;
    for (const rs of f.sort ? sortRealServers(vs.realServers) : vs.realServers) out += `${destLine(rs, f)}\n`;
  }
  return out;
}

/** `-L -c`: list_conn / print_conn. Expiry is MM:SS (minutes grow past 99 for long persistence templates). */
export function formatConnections(entries: readonly ConnectionEntry[], persistentConn = false): string {
  let out = "IPVS connection entries\n";
  out += persistentConn
    ? `pro expire ${left("state", 11)} ${left("source", 18)} ${left("virtual", 18)} ${left("destination", 18)} ${left("pe name", 16)} pe_data\n`
    : `pro expire ${left("state", 11)} ${left("source", 18)} ${left("virtual", 18)} destination\n`;
  for (const c of entries) {
    const secs = u(Math.floor(c.expiresIn));
    const expire = `${String(Math.floor(secs / 60)).padStart(2, "0")}:${String(secs % 60).padStart(2, "0")}`;
    // No persistence engine data exists here, so rows keep the short form even under the long title, as in ipvsadm.
    out += `${left(c.protocol.toUpperCase(), 3)} ${left(expire, 6)} ${left(c.state, 11)} ${left(c.client, 18)} ${left(c.virtual, 18)} ${c.real}\n`;
  }
  return out;
}

/** `-L --timeout`: list_timeout. */
export function formatTimeouts(t: Timeouts): string {
  return `Timeout (tcp tcpfin udp): ${t.tcp} ${t.tcpFin} ${t.udp}\n`;
}

/** Sort key of an address: family, then the address as unsigned 16-bit groups, then the port. */
function addressKey(address: string): number[] {
  const e = parseEndpoint(address);
  if ("error" in e) return [99];
  if (e.family === 4) return [4, ...e.host.split(".").map(Number), e.port];
  return [6, ...ipv6Groups(e.host), e.port];
}

function ipv6Groups(host: string): number[] {
  const [head = "", tail] = host.split("::");
  const parse = (s: string) => (s ? s.split(":") : []).flatMap((g) => (g.includes(".") ? v4Groups(g) : [Number.parseInt(g, 16)]));
  const a = parse(head);
  const b = tail === undefined ? [] : parse(tail);
  return [...a, ...new Array<number>(Math.max(0, 8 - a.length - b.length)).fill(0), ...b];
}

function v4Groups(dotted: string): number[] {
  const o = dotted.split(".").map(Number);
  return [(o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!];
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? -1) - (b[i] ?? -1);
    if (d) return d;
  }
  return 0;
}

const PROTOCOL_NUMBER = { tcp: 6, udp: 17 } as const;

/** ipvs_cmp_services: family, protocol (IPPROTO_TCP 6 < IPPROTO_UDP 17), address, port. */
export function sortServices<T extends Pick<VirtualServiceStatus, "protocol" | "address">>(services: readonly T[]): T[] {
  return [...services].sort((a, b) => {
    const ka = addressKey(a.address);
    const kb = addressKey(b.address);
    return (ka[0]! - kb[0]!) || PROTOCOL_NUMBER[a.protocol] - PROTOCOL_NUMBER[b.protocol] || compareKeys(ka, kb);
  });
}

/** ipvs_cmp_dests: address, then port. */
export function sortRealServers<T extends Pick<RealServerStatus, "address">>(servers: readonly T[]): T[] {
  return [...servers].sort((a, b) => compareKeys(addressKey(a.address), addressKey(b.address)));
}

/** The weight -L shows: what the scheduler uses, 0 for a server it cannot choose (see the header). */
const schedulingWeight = (rs: RealServerStatus): number => (rs.available ? rs.effectiveWeight : 0);

