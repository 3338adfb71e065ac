/**
 * TCP in user space: a full proxy (masquerading). For each accepted client socket:
 *   schedule (template or scheduler) → bind in the connection table → connect to the real server →
 *   [PROXY header] → relay both ways with half-close → release on close.
 * The client is not read before the real server answers. A client whose connection cannot be scheduled (no
 * eligible real server) gets a TCP reset; so does one whose real server refuses. Idle timeouts are the
 * connection table's sweep (`tcp` from `--set` while established, `tcpfin` once either side sent FIN).
 *
 * The relay drives Node's libuv TCP handles directly (handles.ts), not net.Socket: per connection one Pair and
 * two Legs, module-level callbacks (no closure per connection), no timers; per chunk one writeBuffer of the
 * bytes just read, without a copy.
 *  - Reads: a leg starts on buffers Node allocates per read; after OWN_BUFFER_AFTER reads (a long-lived
 *    connection) it reads into a pooled buffer of its own. When a write of that buffer's bytes cannot complete at
 *    once, libuv keeps referencing them: the buffer goes with the write request and the leg reads on into a fresh
 *    one, so bytes in flight are never overwritten.
 *  - Back-pressure: a write libuv had to queue stops reading on the other leg until the queue is written.
 *  - FIN is passed on (shutdown after the queued writes), as the kernel passes a FIN through; once both sides
 *    sent FIN and nothing is queued, both handles are closed (a close sends the FIN a shutdown would).
 *  - A RST from one side is passed on as a RST to the other; a real server that refuses gets the client a RST.
 */
import { getSystemErrorName } from "node:util";
import { Connection } from "../../conn/connection.js";
import { schedule } from "../../conn/schedule.js";
import type { RealServer } from "../../state/real-server.js";
import type { VirtualService } from "../../state/virtual-service.js";
import type { EngineContext } from "../types.js";
import { type ConnectReq, type Handles, handles, type ShutdownReq, type TcpHandle, type WriteReq } from "./handles.js";
import { proxyV1, proxyV2 } from "./proxy-protocol.js";

/** Reads on Node's per-read buffers before a leg takes a pooled buffer of its own (short connections never do). */
const OWN_BUFFER_AFTER = 4;
const BUFFER_SIZE = 64 * 1024;
/** Pooled read buffers kept for reuse (64 MiB at most). */
const POOL_MAX = 1024;
const BACKLOG = 4096;

let h: Handles;
const pool: Uint8Array[] = [];
const takeBuffer = () => pool.pop() ?? new Uint8Array(BUFFER_SIZE);
const giveBuffer = (b: Uint8Array | null) => {
  if (b !== null && pool.length < POOL_MAX) pool.push(b);
};

/** One socket of a proxied connection. */
interface Leg {
  readonly pair: Pair;
  readonly handle: TcpHandle;
  readonly client: boolean;
  peer: Leg;
  /** Its own read buffer, once it has one. */
  buf: Uint8Array | null;
  /** FIN received (libuv reads no more). */
  eof: boolean;
  /** Our FIN: none asked for, a shutdown request pending, or sent. */
  shut: "no" | "pending" | "done";
  /** Reading stopped for back-pressure. */
  paused: boolean;
  /** Writes of this leg's bytes still queued on the peer. */
  inflight: number;
  reads: number;
}

type Req<T> = T & { leg: Leg | null };
type WriteRequest = Req<WriteReq> & { data: Uint8Array | null; pooled: Uint8Array | null };

/** A proxied connection: the client's socket and the one to the real server. Its table entry's handle. */
class Pair {
  readonly c: Leg;
  readonly u: Leg;
  inBytes = 0;
  outBytes = 0;
  closed = false;

  constructor(
    readonly conn: Connection,
    readonly ctx: EngineContext,
    client: TcpHandle,
    upstream: TcpHandle,
  ) {
    this.c = newLeg(this, client, true);
    this.u = newLeg(this, upstream, false);
    this.c.peer = this.u;
    this.u.peer = this.c;
  }

  /** Closes both sockets now (maintenance deadline, expire_nodest_conn, idle timeout, shutdown). */
  destroy(_reason: string): void {
    closePair(this);
  }

  bytes(): { inBytes: number; outBytes: number } {
    return { inBytes: this.inBytes, outBytes: this.outBytes };
  }
}

function newLeg(pair: Pair, handle: TcpHandle, client: boolean): Leg {
  const leg: Leg = { pair, handle, client, peer: undefined as unknown as Leg, buf: null, eof: false, shut: "no", paused: false, inflight: 0, reads: 0 };
  (handle as TcpHandle & { leg: Leg }).leg = leg;
  handle.onread = onRead;
  return leg;
}

const legOf = (handle: TcpHandle): Leg => (handle as TcpHandle & { leg: Leg }).leg;

export class TcpListener {
  private server: TcpHandle | undefined;
  /** The next of the service's local addresses (localAddresses) a connection leaves from. */
  private nextLocal = 0;

  constructor(
    readonly vs: VirtualService,
    readonly ctx: EngineContext,
  ) {
    if (!h) {
      h = handles();
      spare = newWriteRequest();
    }
  }

  listen(): Promise<void> {
    const server = new h.TCP(h.SERVER);
    // A socket handed over by the previous process keeps its queue of pending connections: none is refused.
    const fd = this.ctx.inherited?.get(this.vs.key);
    if (fd !== undefined) this.ctx.inherited!.delete(this.vs.key);
    let err = fd !== undefined ? server.open(fd) : this.vs.family === 6 ? server.bind6(this.vs.host, this.vs.port, 0) : server.bind(this.vs.host, this.vs.port);
    if (err === 0) err = server.listen(BACKLOG);
    if (err !== 0) {
      server.close();
      return Promise.reject(new Error(`cannot listen on tcp ${this.vs.address}: ${describe(err)}`));
    }
    (server as TcpHandle & { listener: TcpListener }).listener = this;
    server.onconnection = onConnection;
    this.server = server;
    return Promise.resolve();
  }

  /** The listening socket's file descriptor (to hand over in a seamless upgrade). */
  get fd(): number | undefined {
    return this.server?.fd;
  }

  /** Stops accepting; connections go on. */
  close(): Promise<void> {
    this.server?.close();
    this.server = undefined;
    return Promise.resolve();
  }

  /** A client was accepted: schedule, bind, connect to the real server (the client is not read meanwhile). */
  accept(client: TcpHandle): void {
    const { vs, ctx } = this;
    // A client that reset while waiting in the accept queue has no address any more: nothing to forward.
    if (client.getpeername(peer) !== 0 || !peer.address || !peer.port) {
      client.close();
      return;
    }
    const clientHost = unmapV4(peer.address);
    const clientPort = peer.port;
    const decision = schedule(vs, { protocol: "tcp", family: vs.family, clientHost, clientPort, vHost: vs.host, vPort: vs.port }, ctx.templates);
    if (!decision) {
      client.reset();
      return;
    }
    const rs = decision.realServer;
    const conn = new Connection("tcp", clientHost, clientPort, vs, rs, ctx.now(), decision.template);
    const pair = new Pair(conn, ctx, client, new h.TCP(h.SOCKET));
    try {
      conn.handle = pair;
      ctx.table.bind(conn);
      client.setNoDelay(true);
      pair.u.handle.setNoDelay(true); // applied by libuv when connect creates the socket
      const req = new h.TCPConnectWrap() as Req<ConnectReq>;
      req.oncomplete = afterConnect;
      req.leg = pair.u;
      // From the service's local addresses in turn (IPVS FULLNAT's), each good for ~64,000 connections per real
      // server address and port; else from the address the kernel picks.
      const local = vs.spec.localAddresses;
      let err = local ? pair.u.handle.bind(local[this.nextLocal++ % local.length]!, 0) : 0;
      if (err === 0) err = rs.family === 6 ? pair.u.handle.connect6(req, rs.host, rs.port) : pair.u.handle.connect(req, rs.host, rs.port);
      if (err !== 0) connectFailed(pair, rs, err);
    } catch (e) {
      // Nothing half made is left: both handles closed, the entry out of the table.
      abort(pair, pair.c);
      throw e;
    }
  }
}

const peer: { address?: string; port?: number; family?: string } = {};

function onConnection(this: TcpHandle, status: number, client: TcpHandle): void {
  if (status < 0) return; // accept failed (EMFILE…): libuv retries
  const listener = (this as TcpHandle & { listener: TcpListener }).listener;
  try {
    listener.accept(client);
  } catch (e) {
    // One connection's trouble must never take the director down (an exception in a libuv callback would).
    listener.ctx.log.error({ err: e, service: listener.vs.key }, "connection setup failed");
    client.close(); // nothing if accept closed it already
  }
}

function afterConnect(this: Req<ConnectReq>, status: number): void {
  const pair = this.leg!.pair;
  this.leg = null;
  if (pair.closed) return;
  try {
    connected(pair, status);
  } catch (e) {
    pair.ctx.log.error({ err: e, service: pair.conn.service.key }, "connection setup failed");
    abort(pair, pair.c);
  }
}

function connected(pair: Pair, status: number): void {
  const { conn, ctx } = pair;
  if (status < 0) {
    connectFailed(pair, conn.realServer, status);
    return;
  }
  const vs = conn.service;
  if (vs.spec.proxyProtocol !== "none") {
    // The family of this connection (an IPv4 client on a dual-stack [::] VIP is IPv4 on both ends).
    const family = conn.clientHost.includes(":") ? 6 : 4;
    // The address the client connected to (the VIP, or this host's address on a wildcard VIP).
    const local: { address?: string } = {};
    const dstHost = pair.c.handle.getsockname(local) === 0 && local.address ? unmapV4(local.address) : vs.host;
    const a = { family, protocol: "tcp", srcHost: conn.clientHost, srcPort: conn.clientPort, dstHost, dstPort: vs.port } as const;
    // Before any byte of the client's (libuv writes in order); the client is read only once it is queued.
    if (!write(pair.c, vs.spec.proxyProtocol === "v1" ? proxyV1(a) : proxyV2(a), false)) return;
  }
  ctx.table.setState(conn, "ESTABLISHED");
  let err = pair.u.handle.readStart();
  // A header write libuv queued paused the client leg: afterWrite starts it.
  if (err === 0 && !pair.c.paused) err = pair.c.handle.readStart();
  if (err !== 0) abort(pair, null);
}

/** The real server refused or is unreachable: the client gets a reset, as from the real server itself. */
function connectFailed(pair: Pair, rs: RealServer, err: number): void {
  const code = describe(err);
  if (!LOCAL_ERRORS.has(code)) pair.ctx.onConnectFailed?.(pair.conn.service, rs, code);
  abort(pair, pair.c);
}

/** this = the handle that read. Returns the next read buffer when the leg's own one went with a write. */
function onRead(this: TcpHandle, ab: ArrayBuffer | undefined): Uint8Array | undefined {
  const n = h.streamBaseState[h.kReadBytesOrError]!;
  const src = legOf(this);
  if (n > 0) {
    const pair = src.pair;
    if (src.client) pair.inBytes += n;
    else pair.outBytes += n;
    if (ab === undefined) return forward(src, src.buf!.subarray(0, n), true);
    forward(src, new Uint8Array(ab, h.streamBaseState[h.kArrayBufferOffset], n), false);
    // A long-lived leg: from now on it reads into a pooled buffer of its own, no allocation per read.
    if (++src.reads === OWN_BUFFER_AFTER && !pair.closed) {
      src.buf = takeBuffer();
      src.handle.useUserBuffer(src.buf);
    }
    return undefined;
  }
  if (n === 0) return undefined;
  if (n === h.UV_EOF) onEof(src);
  else abort(src.pair, n === h.UV_ECONNRESET ? src.peer : null); // a RST is passed on as a RST
  return undefined;
}

/** Bytes read from src go to its peer. Returns src's next read buffer when its own one went with the write. */
function forward(src: Leg, chunk: Uint8Array, own: boolean): Uint8Array | undefined {
  if (!write(src, chunk, own)) return undefined;
  return own && src.buf === null ? (src.buf = takeBuffer()) : undefined;
}

// A write that completes at once never binds its request: one is kept for those (the common case).
let spare: WriteRequest;
function newWriteRequest(): WriteRequest {
  const r = new h.WriteWrap() as WriteRequest;
  r.oncomplete = afterWrite;
  r.leg = null;
  r.data = null;
  r.pooled = null;
  return r;
}

/**
 * Writes src's bytes to its peer (`own`: they are in src.buf). Returns false when the pair was given up. A write
 * libuv queued keeps the request (and the bytes: src.buf goes with it, src.buf becomes null) until afterWrite.
 */
function write(src: Leg, data: Uint8Array, own: boolean): boolean {
  const dst = src.peer;
  const req = spare;
  const err = dst.handle.writeBuffer(req, data);
  if (err !== 0) {
    spare = newWriteRequest(); // it may have been bound before failing
    abort(src.pair, peerReset(err) ? src : null);
    return false;
  }
  if (h.streamBaseState[h.kLastWriteWasAsync] === 0) return true;
  spare = newWriteRequest();
  req.leg = src;
  req.data = data;
  src.inflight++;
  if (own) {
    req.pooled = src.buf;
    src.buf = null;
  }
  if (!src.paused) {
    src.paused = true;
    src.handle.readStop();
  }
  return true;
}

function afterWrite(this: WriteRequest, status: number): void {
  const src = this.leg!;
  this.leg = null;
  this.data = null;
  giveBuffer(this.pooled);
  this.pooled = null;
  src.inflight--;
  const pair = src.pair;
  if (pair.closed) return;
  if (status < 0) {
    abort(pair, peerReset(status) ? src : null);
    return;
  }
  const dst = src.peer;
  if (src.paused && src.inflight === 0) {
    src.paused = false;
    if (!src.eof && src.handle.readStart() !== 0) {
      abort(pair, null);
      return;
    }
  }
  // A close that waited for this write (both FINs seen).
  if (src.eof && dst.eof && src.inflight === 0 && dst.inflight === 0) closePair(pair);
}

/** FIN from src: passed on to the peer after its queued writes, or both closed when both directions ended. */
function onEof(src: Leg): void {
  src.eof = true;
  const pair = src.pair;
  if (pair.conn.state === "ESTABLISHED") pair.ctx.table.setState(pair.conn, "FIN_WAIT");
  const dst = src.peer;
  if (dst.eof && src.inflight === 0 && dst.inflight === 0) {
    closePair(pair);
    return;
  }
  shutdown(dst);
}

function shutdown(leg: Leg): void {
  if (leg.shut !== "no") return;
  leg.shut = "pending";
  const req = new h.ShutdownWrap() as Req<ShutdownReq>;
  req.oncomplete = afterShutdown;
  req.leg = leg;
  const err = leg.handle.shutdown(req);
  if (err === 0) return;
  leg.shut = "done"; // no request is pending
  // ENOTCONN: the peer is gone already (its close follows); anything else: give up.
  if (err !== h.UV_ENOTCONN) abort(leg.pair, null);
}

function afterShutdown(this: Req<ShutdownReq>, status: number): void {
  const leg = this.leg!;
  this.leg = null;
  leg.shut = "done";
  const pair = leg.pair;
  if (pair.closed) return;
  if (status < 0 && status !== h.UV_ENOTCONN) {
    abort(pair, null);
    return;
  }
  const p = leg.peer;
  if (leg.eof && p.eof && leg.inflight === 0 && p.inflight === 0) closePair(pair);
}

/** Gives up on a pair: both sockets closed, or `rst` reset (the other side of a socket that was reset) and its peer closed. */
function abort(pair: Pair, rst: Leg | null): void {
  if (pair.closed) return;
  if (rst === null) {
    closePair(pair);
    return;
  }
  // TCPWrap::Reset marks a handle closing even when it fails (libuv refuses it while a shutdown request is
  // pending), and a later close() would then do nothing: such a leg is closed (FIN) instead. Once our FIN was
  // sent, a RST can follow it.
  if (rst.shut === "pending") rst.handle.close();
  else rst.handle.reset();
  rst.peer.handle.close();
  finish(pair);
}

function closePair(pair: Pair): void {
  if (pair.closed) return;
  pair.c.handle.close();
  pair.u.handle.close();
  finish(pair);
}

function finish(pair: Pair): void {
  pair.closed = true;
  // The legs' current buffers are never in flight (those went with their writes); closed handles read no more.
  giveBuffer(pair.c.buf);
  giveBuffer(pair.u.buf);
  pair.c.buf = null;
  pair.u.buf = null;
  pair.ctx.table.release(pair.conn);
}

/** A write failed because the other end reset (EPIPE: it had reset before, and the error was reported then). */
const peerReset = (err: number) => err === h.UV_ECONNRESET || err === h.UV_EPIPE;

/** "ECONNREFUSED" for -111. */
function describe(err: number): string {
  try {
    return getSystemErrorName(err);
  } catch {
    return `error ${err}`;
  }
}

/** Errors of this host, not of the real server: they must not count against it in passive health. */
export const LOCAL_ERRORS = new Set(["EMFILE", "ENFILE", "EADDRNOTAVAIL", "ENOBUFS", "ENOMEM", "EADDRINUSE"]);

/** "::ffff:10.0.0.1" → "10.0.0.1" (a dual-stack listener reports IPv4 clients mapped). */
export function unmapV4(host: string): string {
  return host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host;
}
