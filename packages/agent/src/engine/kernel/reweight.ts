/**
 * lc, wlc, sed and nq in the kernel engine: periodic re-weighting from conntrack.
 *
 * IPVS decides per connection: each SYN goes to the real server with the least overhead at that instant
 * (ip_vs_lc.c, ip_vs_wlc.c, ip_vs_sed.c, ip_vs_nq.c). nftables cannot read a per-server connection count while
 * it schedules, so the agent does it every `kernelReweightSeconds` (default 2 s):
 *  1. counts the service's connections per real server from conntrack (`conntrack -L -p PROTO -d VIP --dport
 *     PORT`: one dump filtered by original destination; the reply source tells the real server). TCP in
 *     ESTABLISHED counts as active, any other state as inactive, as IPVS's set_tcp_state does; UDP is always
 *     inactive, as IPVS counts it.
 *  2. asks the kernel's own algorithm where the next K new connections would go if none of the current ones
 *     ended: the userspace scheduler (conformance-tested against the kernel's choices) picks K times, each pick
 *     adding an active connection (TCP) or an inactive one (UDP) to the chosen server. K is the number of new
 *     connections expected in a period (the service's rate from the nft counters, or its last period's count if
 *     larger), at least max(16, servers) and at most 4096.
 *  3. programs `numgen random mod K map { … }` giving each real server as many of the K slots as it got picks.
 *     The batch is sent only when the slots changed.
 * How far this is from IPVS:
 *  - decisions are per period, not per connection: within a period new connections are spread at random in the
 *    computed proportions, and a burst larger than K does not see the load it adds itself;
 *  - conntrack states stand for IPVS's: conntrack's TIME_WAIT (120 s) and other timeouts are conntrack's, not
 *    `ipvsadm --set`'s; connections the director did not forward (e.g. its own) never appear;
 *  - with a short-lived workload the estimate "none of the current ones ends" is pessimistic, which only makes
 *    the split closer to the weights;
 *  - -x/-y thresholds are not applied (overload is never set for kernel services).
 */
import { spawn } from "node:child_process";
import type { ConnectionEntry, Protocol, SchedulerName } from "@director/model";
import { createScheduler } from "../../scheduler/registry.js";
import type { Dest } from "../../scheduler/types.js";

export const REWEIGHT_SCHEDULERS = ["lc", "wlc", "sed", "nq"] as const;
export type ReweightScheduler = (typeof REWEIGHT_SCHEDULERS)[number];
export const isReweighted = (s: SchedulerName): s is ReweightScheduler => (REWEIGHT_SCHEDULERS as readonly string[]).includes(s);
export const DEFAULT_REWEIGHT_SECONDS = 2;
export const MIN_PICKS = 16;
export const MAX_PICKS = 4096;

export interface ConnCounts {
  active: number;
  inactive: number;
}

/** The number of picks to simulate for `observed` new connections in the last period and `servers` eligible. */
export function picksFor(observed: number, servers: number): number {
  return Math.min(MAX_PICKS, Math.max(MIN_PICKS, servers, Math.round(observed)));
}

/**
 * Where the kernel's algorithm would send the next `k` connections, given each destination's current
 * connections (by address; absent = none): picks per position of `dests`.
 */
export function simulatePicks(scheduler: ReweightScheduler, protocol: Protocol, dests: readonly Dest[], counts: ReadonlyMap<string, ConnCounts>, k: number): number[] {
  const copies = dests.map((d, i) => {
    const c = counts.get(d.address);
    return { ...copyDest(d), index: i, activeConns: c?.active ?? 0, inactiveConns: c?.inactive ?? 0 };
  });
  const s = createScheduler(scheduler, { flags: [], now: () => 0, random: () => 0 });
  s.update(copies);
  const picks = new Array<number>(copies.length).fill(0);
  const flow = { protocol, family: 4 as const, clientHost: "0.0.0.0", clientPort: 0, vHost: "0.0.0.0", vPort: 0 };
  for (let i = 0; i < k; i++) {
    const d = s.pick(flow) as (typeof copies)[number] | null;
    if (!d) break;
    picks[d.index] = picks[d.index]! + 1;
    if (protocol === "tcp") d.activeConns++;
    else d.inactiveConns++;
    s.changed(d);
  }
  s.done();
  return picks;
}

function copyDest(d: Dest) {
  return {
    address: d.address,
    host: d.host,
    port: d.port,
    family: d.family,
    weight: d.weight,
    available: d.available,
    overloaded: d.overloaded,
  };
}

/**
 * Counts connections per real server ("host:port" of the reply source) in `conntrack -L` output lines.
 *   tcp 6 431999 ESTABLISHED src=C dst=VIP sport=… dport=80 src=RS dst=C sport=80 dport=… [ASSURED] mark=0 use=1
 */
export function countConntrack(lines: Iterable<string>, into = new Map<string, ConnCounts>()): Map<string, ConnCounts> {
  for (const line of lines) {
    const src = line.match(/src=(\S+)/g);
    const sport = line.match(/sport=(\d+)/g);
    if (!src || src.length < 2 || !sport || sport.length < 2) continue;
    const key = `${src[1]!.slice(4)}:${sport[1]!.slice(6)}`;
    const fields = line.trim().split(/\s+/);
    const active = fields[0] === "tcp" && fields[3] === "ESTABLISHED";
    const c = into.get(key) ?? { active: 0, inactive: 0 };
    if (active) c.active++;
    else c.inactive++;
    into.set(key, c);
  }
  return into;
}

/** Runs `conntrack -L` for one service (in the agent's network namespace) and counts per real server. */
export async function listConnections(protocol: Protocol, vip: string, port: number): Promise<Map<string, ConnCounts>> {
  const counts = new Map<string, ConnCounts>();
  await conntrack(protocol, vip, port, (lines) => {
    countConntrack(lines, counts);
    return true;
  });
  return counts;
}

/**
 * One `conntrack -L` line as a connection entry, as `ipvsadm -Lc` shows IPVS's: client, VIP, real server (the reply's
 * source), state (conntrack's TCP state; UDP for UDP), seconds left (conntrack's timeout), bytes when conntrack
 * accounting is on (net.netfilter.nf_conntrack_acct). Null for a line that is not a flow.
 */
export function conntrackEntry(line: string): ConnectionEntry | null {
  const fields = line.trim().split(/\s+/);
  const protocol = fields[0];
  if (protocol !== "tcp" && protocol !== "udp") return null;
  const all = (key: string) => [...line.matchAll(new RegExp(`\\b${key}=(\\S+)`, "g"))].map((m) => m[1]!);
  const [src, dst] = [all("src"), all("dst")];
  const [sport, dport] = [all("sport"), all("dport")];
  if (src.length < 2 || dst.length < 1 || sport.length < 2 || dport.length < 1) return null;
  const bytes = all("bytes").map(Number);
  return {
    protocol,
    client: `${src[0]}:${sport[0]}`,
    virtual: `${dst[0]}:${dport[0]}`,
    real: `${src[1]}:${sport[1]}`,
    state: protocol === "tcp" ? (fields[3] ?? "NONE") : "UDP",
    expiresIn: Number(fields[2]) || 0,
    template: false,
    inBytes: bytes[0] ?? 0,
    outBytes: bytes[1] ?? 0,
    startedAt: 0, // conntrack does not say
  };
}

/** The connection entries of one service from conntrack: at most `limit` of those `keep` takes. */
export async function conntrackEntries(protocol: Protocol, vip: string, port: number, limit: number, keep: (e: ConnectionEntry) => boolean = () => true): Promise<ConnectionEntry[]> {
  const out: ConnectionEntry[] = [];
  await conntrack(protocol, vip, port, (lines) => {
    for (const line of lines) {
      if (out.length >= limit) return false;
      const e = conntrackEntry(line);
      if (e && keep(e)) out.push(e);
    }
    return out.length < limit;
  });
  return out;
}

/**
 * Runs `conntrack -L -p PROTO -d VIP --dport PORT` (argument array), handing its output over in whole lines; onLines
 * returning false ends it early (enough read). At most 10 s.
 */
function conntrack(protocol: Protocol, vip: string, port: number, onLines: (lines: string[]) => boolean | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("conntrack", ["-L", "-p", protocol, "-d", vip, "--dport", String(port)], { stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
    let rest = "";
    let err = "";
    let enough = false;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      if (enough) return;
      const lines = (rest + d).split("\n");
      rest = lines.pop()!;
      if (onLines(lines) === false) {
        enough = true;
        rest = "";
        child.kill();
      }
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === "ENOENT" ? "conntrack is not installed (Debian package conntrack)" : `cannot run conntrack: ${e.message}`)),
    );
    child.on("close", (code) => {
      if (enough) return resolve();
      onLines([rest]);
      // conntrack prints "N flow entries have been shown" on stderr, and exits 0 (1 on old versions with none).
      if (code === 0 || /flow entries have been shown/.test(err)) resolve();
      else reject(new Error(`conntrack failed: ${err.trim().split("\n")[0]}`));
    });
  });
}
