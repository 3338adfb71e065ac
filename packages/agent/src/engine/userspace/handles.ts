/**
 * Node's libuv TCP handles, used directly by the TCP relay (tcp.ts) instead of net.Socket: the same objects
 * lib/net.js drives underneath its streams, without the stream machinery (Readable/Writable state, events,
 * a buffer allocated and a closure run per chunk). Measured on this machine against HAProxy (mode tcp, 1
 * thread), in one run: a net.Socket proxy did 0.72× keep-alive, 0.38× new connections, 0.93× 1 MiB; the same
 * relay on these handles 0.91×, 0.68×, 1.31×.
 *
 * Reached through process.binding('tcp_wrap' | 'stream_wrap' | 'uv'): deprecated (DEP0111) but on its
 * allow-list, without a warning unless --pending-deprecation. Not a public contract: `handles()` checks every
 * shape used here once, at the first TCP service, and refuses with a clear error naming the Node version if one
 * is missing, rather than failing on the data path. The signatures below are Node 20's (lib/net.js,
 * lib/internal/stream_base_commons.js, src/tcp_wrap.cc, src/stream_base.cc).
 */

/** A libuv TCP handle (TCPWrap: HandleWrap + LibuvStreamWrap + StreamBase). Return values are 0 or -errno. */
export interface TcpHandle {
  bind(host: string, port: number): number;
  bind6(host: string, port: number, flags: number): number;
  listen(backlog: number): number;
  open(fd: number): number;
  /** Server: called with (status, client handle); `this` is the server handle. */
  onconnection: ((this: TcpHandle, status: number, client: TcpHandle) => void) | null;
  connect(req: ConnectReq, host: string, port: number): number;
  connect6(req: ConnectReq, host: string, port: number): number;
  getpeername(out: { address?: string; port?: number; family?: string }): number;
  getsockname(out: { address?: string; port?: number; family?: string }): number;
  setNoDelay(on: boolean): number;
  readStart(): number;
  readStop(): number;
  /**
   * Called per read with the bytes in an ArrayBuffer (at streamBaseState[kArrayBufferOffset], length
   * streamBaseState[kReadBytesOrError]), or undefined when reading into the user buffer (the bytes at its start)
   * and for EOF/errors (the count is then UV_EOF or -errno). With a user buffer, a Uint8Array returned becomes the
   * buffer of the next read.
   */
  onread: ((this: TcpHandle, ab: ArrayBuffer | undefined) => Uint8Array | undefined) | null;
  /** Reads into this memory instead of allocating per read (from the next read on). */
  useUserBuffer(buf: Uint8Array): void;
  /** Writes what it can now; streamBaseState[kLastWriteWasAsync] says whether libuv keeps the rest (and req). */
  writeBuffer(req: WriteReq, data: Uint8Array): number;
  readonly writeQueueSize: number;
  /** FIN after the queued writes. */
  shutdown(req: ShutdownReq): number;
  /** SO_LINGER 0 + close: the peer gets a RST (net.Socket#resetAndDestroy). */
  reset(cb?: () => void): number;
  close(cb?: () => void): void;
  readonly fd: number;
}

/** Requests: `this` in oncomplete is the request (typed by whoever sets it). */
export interface ConnectReq {
  oncomplete: (this: never, status: number, handle: TcpHandle, req: ConnectReq, readable: boolean, writable: boolean) => void;
}
export interface WriteReq {
  oncomplete: (this: never, status: number) => void;
}
export interface ShutdownReq {
  oncomplete: (this: never, status: number) => void;
}

export interface Handles {
  TCP: new (type: number) => TcpHandle;
  TCPConnectWrap: new () => ConnectReq;
  WriteWrap: new () => WriteReq;
  ShutdownWrap: new () => ShutdownReq;
  SERVER: number;
  SOCKET: number;
  /** Shared with the native side: read count/error, offset of the bytes, whether the last write went async. */
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kLastWriteWasAsync: number;
  UV_EOF: number;
  UV_ECONNRESET: number;
  UV_ENOTCONN: number;
  UV_EPIPE: number;
}

let cached: Handles | undefined;

/** The bindings, checked once; throws a clear error when this Node does not have them as expected. */
export function handles(): Handles {
  if (cached) return cached;
  const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
  let h: Handles;
  try {
    const tcp = binding("tcp_wrap") as { TCP: Handles["TCP"]; TCPConnectWrap: Handles["TCPConnectWrap"]; constants: { SERVER: number; SOCKET: number } };
    const stream = binding("stream_wrap") as Pick<Handles, "WriteWrap" | "ShutdownWrap" | "streamBaseState" | "kReadBytesOrError" | "kArrayBufferOffset" | "kLastWriteWasAsync">;
    const uv = binding("uv") as Pick<Handles, "UV_EOF" | "UV_ECONNRESET" | "UV_ENOTCONN" | "UV_EPIPE">;
    h = {
      TCP: tcp.TCP,
      TCPConnectWrap: tcp.TCPConnectWrap,
      WriteWrap: stream.WriteWrap,
      ShutdownWrap: stream.ShutdownWrap,
      SERVER: tcp.constants?.SERVER,
      SOCKET: tcp.constants?.SOCKET,
      streamBaseState: stream.streamBaseState,
      kReadBytesOrError: stream.kReadBytesOrError,
      kArrayBufferOffset: stream.kArrayBufferOffset,
      kLastWriteWasAsync: stream.kLastWriteWasAsync,
      UV_EOF: uv.UV_EOF,
      UV_ECONNRESET: uv.UV_ECONNRESET,
      UV_ENOTCONN: uv.UV_ENOTCONN,
      UV_EPIPE: uv.UV_EPIPE,
    };
  } catch (e) {
    throw new Error(`the userspace TCP engine needs Node's libuv handles (process.binding), which this Node ${process.version} refuses: ${(e as Error).message}`);
  }
  const missing = Object.entries(h)
    .filter(([, v]) => v === undefined || v === null)
    .map(([k]) => k);
  const proto = h.TCP?.prototype as unknown as Record<string, unknown> | undefined;
  for (const m of ["bind", "bind6", "listen", "open", "connect", "connect6", "getpeername", "getsockname", "setNoDelay", "readStart", "readStop", "useUserBuffer", "writeBuffer", "shutdown", "reset", "close"])
    if (typeof proto?.[m] !== "function") missing.push(`TCP#${m}`);
  if (!(h.streamBaseState instanceof Int32Array)) missing.push("streamBaseState");
  if (missing.length > 0)
    throw new Error(`the userspace TCP engine does not know this Node's (${process.version}) libuv handles: missing ${missing.join(", ")}; it was written for Node 20`);
  cached = h;
  return h;
}
