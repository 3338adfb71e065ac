/**
 * The virtual service page's view model: a live frame (columns of numbers) merged with the last `static` part
 * (addresses, weights, states) into rows; sorting, filtering, load ranking, and the sentences that the
 * confirmation dialogs use to say what an action will do. Pure functions, no React.
 */
import type { RealServerCondition, RealServerStatic, ServiceFrame, ServiceStatic } from "@director/api";

export type { RealServerCondition, RealServerStatic, ServiceFrame, ServiceStatic };
export type Role = "viewer" | "operator" | "admin";
export type ServiceKey = { protocol: "tcp" | "udp"; address: string };

export const CONDITIONS: RealServerCondition[] = ["healthy", "draining", "maintenance", "down"];

/** Tailwind colour tokens (globals.css) and raw colours for SVG, per condition. */
export const CONDITION_BG: Record<RealServerCondition, string> = {
  healthy: "bg-healthy",
  draining: "bg-draining",
  maintenance: "bg-maintenance",
  down: "bg-down",
};
export const CONDITION_COLOR: Record<RealServerCondition | "stale", string> = {
  healthy: "var(--color-healthy)",
  draining: "var(--color-draining)",
  maintenance: "var(--color-maintenance)",
  down: "var(--color-down)",
  stale: "var(--color-stale)",
};

/** One real server as the table shows it: its static part plus this frame's numbers. */
export interface RealServerRow {
  /** Position in static.realServers (the frame's column order). */
  i: number;
  rs: RealServerStatic;
  activeConns: number;
  inactiveConns: number;
  cps: number;
  inBps: number;
  outBps: number;
  latencyMs: number | null;
}

/** The state the page keeps: the last static and the last frame (whose columns follow that static's order). */
export interface LiveState {
  static: ServiceStatic | null;
  frame: ServiceFrame | null;
  /** Browser time of the last frame, to notice a silent stream. */
  receivedAt: number;
  /** The subscription answered "no such service" (removed, or never there). */
  missing: boolean;
}

export const EMPTY_LIVE: LiveState = { static: null, frame: null, receivedAt: 0, missing: false };

/** Merges a frame into the state. Returns the same state when nothing changed, so React skips the render. */
export function mergeFrame(prev: LiveState, f: ServiceFrame | null, now: number): LiveState {
  if (f === null) return { ...prev, missing: true, receivedAt: now };
  // The stream yields on every hub update and on a 1 s timer: the same sample twice carries nothing new.
  const p = prev.frame;
  if (p && !f.static && p.t === f.t && p.rev === f.rev && p.stale === f.stale && !prev.missing && now - prev.receivedAt < 3000) return prev;
  return { static: f.static ?? prev.static, frame: f, receivedAt: now, missing: false };
}

export function rowsOf(st: ServiceStatic, f: ServiceFrame | null): RealServerRow[] {
  const n = st.realServers.length;
  // Columns from another static (a frame raced a change) are not trusted: numbers show as 0 until the next frame.
  const ok = f !== null && f.activeConns.length === n;
  const out: RealServerRow[] = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = {
      i,
      rs: st.realServers[i]!,
      activeConns: ok ? (f.activeConns[i] ?? 0) : 0,
      inactiveConns: ok ? (f.inactiveConns[i] ?? 0) : 0,
      cps: ok ? (f.cps[i] ?? 0) : 0,
      inBps: ok ? (f.inBps[i] ?? 0) : 0,
      outBps: ok ? (f.outBps[i] ?? 0) : 0,
      latencyMs: ok ? (f.latencyMs[i] ?? null) : null,
    };
  }
  return out;
}

export function countByCondition(st: ServiceStatic): Record<RealServerCondition, number> {
  const c: Record<RealServerCondition, number> = { healthy: 0, draining: 0, maintenance: 0, down: 0 };
  for (const rs of st.realServers) c[rs.condition]++;
  return c;
}

/** Sorts addresses as an operator reads them: IPv4 numerically, then IPv6, then by port. */
function addressSortKey(a: string): [number, string, number] {
  const colon = a.lastIndexOf(":");
  const host = a.slice(0, colon).replace(/^\[|\]$/g, "");
  const port = Number(a.slice(colon + 1)) || 0;
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
  if (m) return [0, String(((+m[1]! * 256 + +m[2]!) * 256 + +m[3]!) * 256 + +m[4]!).padStart(10, "0"), port];
  return [1, host, port];
}

const keyCache = new Map<string, [number, string, number]>();
export function compareAddress(a: string, b: string): number {
  let ka = keyCache.get(a);
  if (!ka) keyCache.set(a, (ka = addressSortKey(a)));
  let kb = keyCache.get(b);
  if (!kb) keyCache.set(b, (kb = addressSortKey(b)));
  return ka[0] - kb[0] || (ka[1] < kb[1] ? -1 : ka[1] > kb[1] ? 1 : 0) || ka[2] - kb[2];
}

export type SortKey = "address" | "conns" | "cps";
export interface SortSpec {
  key: SortKey;
  desc: boolean;
}

export function sortRows(rows: RealServerRow[], s: SortSpec): RealServerRow[] {
  const d = s.desc ? -1 : 1;
  const cmp =
    s.key === "address"
      ? (a: RealServerRow, b: RealServerRow) => d * compareAddress(a.rs.address, b.rs.address)
      : s.key === "conns"
        ? (a: RealServerRow, b: RealServerRow) => d * (a.activeConns - b.activeConns || a.inactiveConns - b.inactiveConns) || a.i - b.i
        : (a: RealServerRow, b: RealServerRow) => d * (a.cps - b.cps) || a.i - b.i;
  return rows.slice().sort(cmp);
}

/** Filter text: a part of the address, or a condition / admin state word ("down", "drain", "maint"). */
export function filterRows(rows: RealServerRow[], text: string, only: RealServerCondition | null): RealServerRow[] {
  const q = text.trim().toLowerCase();
  if (!q && !only) return rows;
  return rows.filter((r) => {
    if (only && r.rs.condition !== only) return false;
    if (!q) return true;
    return r.rs.address.includes(q) || r.rs.condition.startsWith(q) || r.rs.adminState.startsWith(q) || (r.rs.overloaded && "overloaded".startsWith(q));
  });
}

/**
 * "Load" for ranking real servers in the charts and the topology: the mean of a real server's shares of the
 * service's active connections, new connections per second and bytes per second, so that neither long-lived
 * idle connections nor short busy ones alone decide.
 */
export function loadScores(rows: RealServerRow[]): Float64Array {
  let a = 0;
  let c = 0;
  let b = 0;
  for (const r of rows) {
    a += r.activeConns;
    c += r.cps;
    b += r.inBps + r.outBps;
  }
  const out = new Float64Array(rows.length);
  rows.forEach((r, i) => {
    out[i] = (a ? r.activeConns / a : 0) + (c ? r.cps / c : 0) + (b ? (r.inBps + r.outBps) / b : 0);
  });
  return out;
}

/** Indexes (into rows) of the top n by load; ties keep list order. */
export function topByLoad(rows: RealServerRow[], n: number): number[] {
  const s = loadScores(rows);
  return rows
    .map((_, i) => i)
    .sort((x, y) => s[y]! - s[x]! || x - y)
    .slice(0, n);
}

/** The deadline of a drain (agent clock, ms), or null. */
export function drainDeadline(rs: RealServerStatic): number | null {
  const d = rs.drain;
  return d && d.deadlineSeconds !== undefined ? d.startedAt + d.deadlineSeconds * 1000 : null;
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
/** "the 12 active connections continue" / "the 1 active connection continues". */
const continues = (n: number, what: string) => `the ${plural(n, what)} ${n === 1 ? "continues" : "continue"}`;

/** Schedulers that look at weights only to skip weight 0 (quiesced) servers. */
const UNWEIGHTED = new Set(["rr", "lc", "dh"]);

// The sentences of the confirmation dialogs: what happens, in words, with the numbers of the moment.

export function drainEffect(st: ServiceStatic, r: RealServerRow, thenMaintenance: boolean, deadline: number | null): string {
  const conns = r.inactiveConns
    ? `${continues(r.activeConns, "active connection")} (and ${r.inactiveConns} inactive)`
    : continues(r.activeConns, "active connection");
  const next =
    thenMaintenance && deadline !== null
      ? `moves to maintenance when idle or after ${deadline} s`
      : thenMaintenance
        ? "moves to maintenance when idle"
        : deadline !== null
          ? `moves to maintenance after ${deadline} s, with or without connections left`
          : "stays draining until you put it in maintenance or activate it";
  const persist = st.persistence ? ` Clients that hold a persistence template (${st.persistence.timeout} s) may still be sent to it until their template expires.` : "";
  return `Drain ${r.rs.address}: no new connections; ${conns}; ${next}.${persist}`;
}

const its = (n: number) => `its ${plural(n, "connection")} ${n === 1 ? "is" : "are"}`;

export function maintenanceEffect(r: RealServerRow, deadline: number | null): string {
  const n = r.activeConns + r.inactiveConns;
  const conns =
    n === 0
      ? "it has no connections"
      : deadline === null
        ? `${its(n)} left to finish`
        : `${its(n)} kept, and any still open after ${deadline} s are closed`;
  return `Put ${r.rs.address} in maintenance: out of rotation now, no new connections; ${conns}.`;
}

export function activateEffect(st: ServiceStatic, r: RealServerRow): string {
  const w = r.rs.weight;
  const health =
    r.rs.health?.state === "down" ? ` Its health check fails (${r.rs.health.reason}), so it takes connections only once the check passes.` : "";
  const quiesced = w === 0 ? " Its weight is 0 (quiesced), so it still takes no new connections until you set a weight." : "";
  return `Activate ${r.rs.address}: back in rotation with weight ${w} under ${st.scheduler}; it takes new connections again.${health}${quiesced}`;
}

export function weightEffect(st: ServiceStatic, r: RealServerRow, to: number): string {
  const from = r.rs.weight;
  if (to === from) return `The weight of ${r.rs.address} is already ${from}.`;
  if (to === 0)
    return `Set the weight of ${r.rs.address} to 0 (quiesce): no new connections; ${continues(r.activeConns, "active connection")}; its admin state stays ${r.rs.adminState}.`;
  if (UNWEIGHTED.has(st.scheduler))
    return `Set the weight of ${r.rs.address} from ${from} to ${to}. The ${st.scheduler} scheduler ignores weights other than 0, so its share of new connections does not change${from === 0 ? ", but it is no longer quiesced" : ""}.`;
  const others = st.realServers.reduce((n, x) => n + (x.address !== r.rs.address && x.available && x.adminState === "active" ? x.effectiveWeight : 0), 0);
  const eligible = r.rs.available && r.rs.adminState === "active";
  const share = (w: number) => (others + w > 0 ? Math.round((100 * w) / (others + w)) : 0);
  return eligible
    ? `Set the weight of ${r.rs.address} from ${from} to ${to}: about ${share(to)}% of new connections instead of ${share(from)}% (by weight, among the available real servers).`
    : `Set the weight of ${r.rs.address} from ${from} to ${to}; it applies once the real server is active and available.`;
}

export function removeEffect(st: ServiceStatic, r: RealServerRow): string {
  const n = r.activeConns + r.inactiveConns;
  const conns = n
    ? ` ${its(n).replace(/^i/, "I")} left to finish (closed instead if the agent's expire_nodest_conn is on). Draining it first is gentler.`
    : " It has no connections.";
  return `Remove ${r.rs.address} from ${st.name ?? st.key}: it is deleted from the service and gets no new connections.${conns}`;
}

export function addEffect(st: ServiceStatic, address: string, weight: number, forward: string): string {
  const hc = st.realServers.some((r) => r.health) ? " once its health check passes" : " at once";
  return `Add ${address || "(address)"} to ${st.name ?? st.key} with weight ${weight}, forwarding by ${forward.toUpperCase()}: it takes new connections${weight === 0 ? " only after you set a weight above 0" : hc}.`;
}

/** "host:port" with an IPv4 address or a bracketed IPv6 one; the server checks it properly. */
export const ADDRESS_RE = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d{1,5}$/;

// Intl formatters are costly to build (toLocaleString builds one per call): one each, reused.
const CLOCK = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const DATE_TIME = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
export const fmtClock = (t: number) => CLOCK.format(t);
export const fmtDateTime = (t: number) => DATE_TIME.format(t);
