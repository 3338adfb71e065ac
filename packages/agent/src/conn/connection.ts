/**
 * The connection table: one entry per client flow bound to a real server, and the active/inactive counters,
 * exactly as IPVS keeps them (net/netfilter/ipvs/ip_vs_conn.c, ip_vs_proto_tcp.c):
 *  - a new entry is bound INACTIVE (the destination's conn_flags carry IP_VS_CONN_F_INACTIVE);
 *  - TCP turns ACTIVE when it reaches ESTABLISHED and INACTIVE again on any other state (FIN, CLOSE…);
 *  - UDP never leaves INACTIVE: UDP sessions are counted in InActConn, as `ipvsadm -L` shows them;
 *  - a closed TCP connection stays in the table as TIME_WAIT (inactive) for the `tcpfin` timeout, then is
 *    unbound; wlc/lc see it through inactiveConns, as they do in the kernel; one that never connected to its
 *    real server is unbound at once (the kernel's short CLOSE state);
 *  - binding checks the upper threshold (overload), unbinding clears it with hysteresis.
 * The userspace engine is a full proxy, so "states" are those of the two sockets it owns: SYN_SENT while it
 * connects to the real server, ESTABLISHED while both are open, FIN_WAIT once either side sent FIN,
 * TIME_WAIT after both closed.
 */
import type { ConnectionEntry, Protocol } from "@director/model";
import { formatEndpoint } from "@director/model";
import type { RealServer } from "../state/real-server.js";
import type { VirtualService } from "../state/virtual-service.js";
import type { Template } from "./persistence.js";

export type ConnState = "SYN_SENT" | "ESTABLISHED" | "FIN_WAIT" | "TIME_WAIT" | "UDP";

export interface ConnHandle {
  /** Closes both sockets now (maintenance deadline, expire_nodest_conn, shutdown). */
  destroy(reason: string): void;
  /** Bytes client→real server and back, so far. */
  bytes(): { inBytes: number; outBytes: number };
}

export class Connection {
  state: ConnState;
  inactive = true;
  /** Bytes already added to the counters (the estimator samples live connections). */
  countedIn = 0;
  countedOut = 0;
  /** ms: when the entry expires (TIME_WAIT, UDP) — for live TCP it is activeAt + the state's timeout. */
  expiresAt: number;
  /** ms: when bytes last moved (seen by the idle sweep). */
  activeAt: number;
  /** Bytes moved as of the last sweep. */
  seenBytes = 0;
  handle: ConnHandle | undefined;

  constructor(
    readonly protocol: Protocol,
    readonly clientHost: string,
    readonly clientPort: number,
    readonly service: VirtualService,
    readonly realServer: RealServer,
    readonly startedAt: number,
    readonly template: Template | undefined,
  ) {
    this.state = protocol === "udp" ? "UDP" : "SYN_SENT";
    this.expiresAt = startedAt;
    this.activeAt = startedAt;
  }
}

export interface ConnectionTableOptions {
  now: () => number;
  /** Seconds a closed TCP connection lingers as TIME_WAIT (ipvsadm --set tcpfin). */
  lingerSeconds: () => number;
  /** A real server's last live connection ended (drain → maintenance when idle). */
  onIdle: (rs: RealServer) => void;
  /** A connection to a real server never completed within the connect timeout (passive health). */
  onConnectTimeout?: (conn: Connection) => void;
  /** A template's last controlled connection was unbound. */
  onUnbound?: (conn: Connection) => void;
}

export class ConnectionTable {
  readonly live = new Set<Connection>();
  /** Closed TCP entries, in expiry order per linger value. */
  private readonly lingering = new Map<number, Connection[]>();
  private lingerCount = 0;

  constructor(private readonly opts: ConnectionTableOptions) {}

  get size(): number {
    return this.live.size + this.lingerCount;
  }

  /** A new connection was scheduled to rs: count it (ip_vs_bind_dest). */
  bind(conn: Connection): void {
    const rs = conn.realServer;
    rs.inactiveConns++;
    rs.counters.stats.conns++;
    conn.service.counters.stats.conns++;
    rs.checkOverloadOnBind();
    if (conn.template) conn.template.nControl++;
    rs.live.add(conn);
    this.live.add(conn);
    if (rs.index >= 0) conn.service.scheduler.changed(rs);
  }

  /** A protocol state change; moves the entry between active and inactive (set_tcp_state). */
  setState(conn: Connection, state: ConnState): void {
    if (conn.state === state) return;
    conn.state = state;
    const active = state === "ESTABLISHED";
    if (active === !conn.inactive) return;
    const rs = conn.realServer;
    if (active) rs.failStreak = 0; // passive health: a connection that works ends a failure streak
    if (active) {
      rs.activeConns++;
      rs.inactiveConns--;
    } else {
      rs.activeConns--;
      rs.inactiveConns++;
    }
    conn.inactive = !active;
    if (rs.index >= 0) conn.service.scheduler.changed(rs);
  }

  /** Both sockets are gone. TCP lingers as TIME_WAIT; UDP (whose idle timeout already ran) is unbound now. */
  release(conn: Connection): void {
    if (!this.live.delete(conn)) return;
    this.account(conn);
    const rs = conn.realServer;
    rs.live.delete(conn);
    conn.handle = undefined;
    if (conn.protocol === "tcp" && conn.state !== "SYN_SENT") {
      this.setState(conn, "TIME_WAIT");
      const linger = this.opts.lingerSeconds();
      conn.expiresAt = this.opts.now() + linger * 1000;
      let q = this.lingering.get(linger);
      if (!q) this.lingering.set(linger, (q = []));
      q.push(conn);
      this.lingerCount++;
    } else {
      this.unbind(conn);
    }
    if (rs.live.size === 0) this.opts.onIdle(rs);
  }

  /** Adds bytes moved since the last call to the real server's and service's counters. */
  account(conn: Connection): void {
    const b = conn.handle?.bytes();
    if (!b) return;
    const dIn = b.inBytes - conn.countedIn;
    const dOut = b.outBytes - conn.countedOut;
    if (dIn === 0 && dOut === 0) return;
    conn.countedIn = b.inBytes;
    conn.countedOut = b.outBytes;
    const rs = conn.realServer.counters.stats;
    const vs = conn.service.counters.stats;
    rs.inBytes += dIn;
    rs.outBytes += dOut;
    vs.inBytes += dIn;
    vs.outBytes += dOut;
  }

  /** Samples every live connection's byte counts (before an estimator tick). */
  accountAll(): void {
    for (const c of this.live) this.account(c);
  }

  /** Unbinds TIME_WAIT entries whose linger ran out. */
  expire(now: number): void {
    for (const [linger, q] of this.lingering) {
      let n = 0;
      while (n < q.length && q[n]!.expiresAt <= now) this.unbind(q[n++]!);
      if (n > 0) {
        q.splice(0, n);
        this.lingerCount -= n;
      }
      if (q.length === 0) this.lingering.delete(linger);
    }
  }

  /**
   * Idle timeouts for live TCP connections (ipvsadm --set tcp tcpfin): a connection whose byte counts did not
   * move for the timeout of its state is closed. Run once a second; O(live connections).
   */
  sweepIdle(now: number, timeouts: { tcp: number; tcpFin: number }): number {
    let closed = 0;
    for (const c of this.live) {
      if (c.protocol !== "tcp" || !c.handle) continue;
      const b = c.handle.bytes();
      const total = b.inBytes + b.outBytes;
      if (total !== c.seenBytes) {
        c.seenBytes = total;
        c.activeAt = now;
      } else if (now - c.activeAt >= idleTimeout(c.state, timeouts) * 1000) {
        if (c.state === "SYN_SENT") this.opts.onConnectTimeout?.(c);
        c.handle.destroy("idle timeout");
        closed++;
      }
    }
    return closed;
  }

  /** Closes the live connections of one real server (maintenance deadline, expire_nodest_conn). */
  closeAll(rs: RealServer, reason: string): number {
    const conns = [...rs.live];
    for (const c of conns) c.handle?.destroy(reason);
    return conns.length;
  }

  /** ip_vs_unbind_dest: counters down, overload hysteresis, template control released. */
  private unbind(conn: Connection): void {
    const rs = conn.realServer;
    if (conn.inactive) rs.inactiveConns--;
    else rs.activeConns--;
    if (rs.activeConns + rs.inactiveConns === 0) rs.idleSince = this.opts.now();
    rs.checkOverloadOnUnbind();
    if (conn.template) conn.template.nControl--;
    if (rs.index >= 0) conn.service.scheduler.changed(rs);
    this.opts.onUnbound?.(conn);
  }

  /** Drops every entry of a service that is being deleted (its lingering entries would only skew counters). */
  forgetService(vs: VirtualService): void {
    for (const [linger, q] of this.lingering) {
      const keep = q.filter((c) => c.service !== vs);
      this.lingerCount -= q.length - keep.length;
      if (keep.length) this.lingering.set(linger, keep);
      else this.lingering.delete(linger);
    }
  }

  *entries(): Iterable<Connection> {
    yield* this.live;
    for (const q of this.lingering.values()) yield* q;
  }

  static entry(c: Connection, now: number, timeouts: { tcp: number; tcpFin: number }): ConnectionEntry {
    const b = c.handle?.bytes() ?? { inBytes: c.countedIn, outBytes: c.countedOut };
    const expiresAt = c.state === "TIME_WAIT" || c.state === "UDP" ? c.expiresAt : c.activeAt + idleTimeout(c.state, timeouts) * 1000;
    return {
      protocol: c.protocol,
      client: formatEndpoint({ host: c.clientHost, port: c.clientPort }),
      virtual: c.service.address,
      real: c.realServer.address,
      state: c.state,
      expiresIn: Math.max(0, Math.round((expiresAt - now) / 1000)),
      template: false,
      inBytes: b.inBytes,
      outBytes: b.outBytes,
      startedAt: c.startedAt,
    };
  }
}

/** Seconds a TCP connection may stay idle in a state: `tcp` while established, `tcpfin` after a FIN, 5 s to connect. */
function idleTimeout(state: ConnState, t: { tcp: number; tcpFin: number }): number {
  return state === "ESTABLISHED" ? t.tcp : state === "SYN_SENT" ? 5 : t.tcpFin;
}
