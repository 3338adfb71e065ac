/**
 * UDP in user space. A session is a client flow (address:port) bound to a real server, with its own socket
 * connected to that real server so replies can be told apart; it ends after `udp` seconds without traffic
 * (ipvsadm --set … udp, IPVS default 300 s). UDP entries count as inactive connections, as in IPVS.
 *
 * One-packet scheduling (`-o`, IP_VS_SVC_F_ONEPACKET): every datagram is scheduled on its own and its
 * connection entry is released at once (counted in conns, never held). Replies still need a way back, so the
 * sockets towards real servers are kept per (client, real server) as plain reply paths, not connections.
 */
import dgram from "node:dgram";
import { isIPv4 } from "node:net";
import { Connection, type ConnHandle } from "../../conn/connection.js";
import { schedule } from "../../conn/schedule.js";
import type { RealServer } from "../../state/real-server.js";
import type { VirtualService } from "../../state/virtual-service.js";
import type { EngineContext } from "../types.js";
import { proxyV2 } from "./proxy-protocol.js";
import { LOCAL_ERRORS, unmapV4 } from "./tcp.js";

interface Path {
  socket: dgram.Socket;
  clientHost: string;
  clientPort: number;
  realServer: RealServer;
  lastSeen: number;
  inBytes: number;
  outBytes: number;
  inPkts: number;
  outPkts: number;
  conn: Connection | undefined;
  closed: boolean;
}

/** Sessions per UDP service at most: each holds a socket, and spoofed sources must not exhaust file descriptors. */
export const MAX_SESSIONS = 8192;

export class UdpListener {
  /** The next of the service's local addresses (localAddresses) a session leaves from. */
  private nextLocal = 0;
  private lastFullLog = 0;
  private readonly socket: dgram.Socket;
  /** Sessions by client "host|port" (flow mode) or "host|port|rs" (one-packet mode). */
  private readonly paths = new Map<string, Path>();

  constructor(
    private readonly vs: VirtualService,
    private readonly ctx: EngineContext,
  ) {
    this.socket = dgram.createSocket({ type: vs.family === 4 ? "udp4" : "udp6" });
    this.socket.on("message", (msg, rinfo) => {
      try {
        this.receive(msg, rinfo.address, rinfo.port);
      } catch (e) {
        this.ctx.log.error({ err: e, service: this.vs.key }, "datagram handling failed");
      }
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(new Error(`cannot listen on udp ${this.vs.address}: ${e.message}`));
      this.socket.once("error", onError);
      this.socket.bind({ address: this.vs.host, port: this.vs.port }, () => {
        this.socket.off("error", onError);
        this.socket.on("error", (e) => this.ctx.log.error({ err: e, service: this.vs.key }, "udp socket error"));
        resolve();
      });
    });
  }

  close(): Promise<void> {
    for (const p of this.paths.values()) this.closePath(p);
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  /** Ends sessions idle for longer than the udp timeout. Called by the agent's housekeeping tick. */
  expire(now: number): void {
    const idle = this.ctx.timeouts().udp * 1000;
    for (const p of this.paths.values()) if (now - p.lastSeen >= idle) this.closePath(p);
  }

  /** `rawHost` is the address as the socket reports it (IPv4-mapped on a dual-stack VIP): replies go back to it. */
  private receive(msg: Buffer, rawHost: string, clientPort: number): void {
    const clientHost = unmapV4(rawHost);
    const vs = this.vs;
    const ctx = this.ctx;
    const ops = vs.spec.onePacket;
    let path: Path | undefined;
    let conn: Connection | undefined;
    if (!ops) path = this.paths.get(`${clientHost}|${clientPort}`);
    if (!path || path.closed) {
      if (this.paths.size >= MAX_SESSIONS) {
        const now = ctx.now();
        if (now - this.lastFullLog > 60_000) {
          this.lastFullLog = now;
          ctx.log.warn({ service: vs.key, sessions: this.paths.size }, "UDP session table full: new flows dropped until sessions expire");
        }
        return;
      }
      const decision = schedule(
        vs,
        { protocol: "udp", family: vs.family, clientHost, clientPort, vHost: vs.host, vPort: vs.port },
        ctx.templates,
      );
      if (!decision) return;
      const rs = decision.realServer;
      const key = ops ? `${clientHost}|${clientPort}|${rs.address}` : `${clientHost}|${clientPort}`;
      path = this.paths.get(key);
      if (!path || path.closed) path = this.openPath(key, rawHost, clientPort, rs);
      conn = new Connection("udp", clientHost, clientPort, vs, rs, ctx.now(), decision.template);
      const p = path;
      const handle: ConnHandle = {
        destroy: () => this.closePath(p),
        bytes: () => ({ inBytes: p.inBytes, outBytes: p.outBytes }),
      };
      if (ops) {
        // One packet: the entry lives for this datagram only.
        ctx.table.bind(conn);
        ctx.table.release(conn);
        conn = undefined;
      } else {
        conn.handle = handle;
        path.conn = conn;
        ctx.table.bind(conn);
      }
    }
    path.lastSeen = ctx.now();
    if (path.conn) path.conn.expiresAt = path.lastSeen + ctx.timeouts().udp * 1000;
    path.inBytes += msg.length;
    path.inPkts++;
    const rsStats = path.realServer.counters.stats;
    rsStats.inPkts++;
    vs.counters.stats.inPkts++;
    if (ops) {
      rsStats.inBytes += msg.length;
      vs.counters.stats.inBytes += msg.length;
    }
    const payload =
      vs.spec.proxyProtocol === "v2"
        ? Buffer.concat([
            proxyV2({
              family: isIPv4(clientHost) ? 4 : 6,
              protocol: "udp",
              srcHost: clientHost,
              srcPort: clientPort,
              dstHost: isIPv4(clientHost) && !isIPv4(vs.host) ? "0.0.0.0" : vs.host,
              dstPort: vs.port,
            }),
            msg,
          ])
        : msg;
    path.socket.send(payload, path.realServer.port, path.realServer.host);
  }

  private openPath(key: string, clientHost: string, clientPort: number, rs: RealServer): Path {
    const socket = dgram.createSocket({ type: rs.family === 4 ? "udp4" : "udp6" });
    // From the service's local addresses in turn (datagrams sent meanwhile wait for the bind).
    const local = this.vs.spec.localAddresses;
    if (local) socket.bind({ address: local[this.nextLocal++ % local.length]!, port: 0 });
    const path: Path = {
      socket,
      clientHost,
      clientPort,
      realServer: rs,
      lastSeen: this.ctx.now(),
      inBytes: 0,
      outBytes: 0,
      inPkts: 0,
      outPkts: 0,
      conn: undefined,
      closed: false,
    };
    this.paths.set(key, path);
    socket.on("error", (e: NodeJS.ErrnoException) => {
      // This host's own trouble (a local address gone: EADDRNOTAVAIL…) is not the real server's.
      if (!LOCAL_ERRORS.has(e.code ?? "")) this.ctx.onConnectFailed?.(this.vs, rs, e.message);
      this.closePath(path);
    });
    socket.on("message", (reply, rinfo) => {
      // Only the real server's replies go back to the client (the socket is not connected, so check).
      if (rinfo.port !== rs.port || unmapV4(rinfo.address) !== rs.host) return;
      path.lastSeen = this.ctx.now();
      path.outBytes += reply.length;
      path.outPkts++;
      rs.counters.stats.outPkts++;
      this.vs.counters.stats.outPkts++;
      if (this.vs.spec.onePacket) {
        rs.counters.stats.outBytes += reply.length;
        this.vs.counters.stats.outBytes += reply.length;
      }
      this.socket.send(reply, clientPort, clientHost);
    });
    (path as Path & { key: string }).key = key;
    return path;
  }

  private closePath(p: Path): void {
    if (p.closed) return;
    p.closed = true;
    const key = (p as Path & { key?: string }).key;
    if (key && this.paths.get(key) === p) this.paths.delete(key);
    try {
      p.socket.close();
    } catch {
      /* already closed */
    }
    if (p.conn) this.ctx.table.release(p.conn);
  }
}
