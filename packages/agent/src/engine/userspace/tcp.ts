/**
 * TCP in user space: a full proxy (masquerading). For each accepted client socket:
 *   schedule (template or scheduler) → bind in the connection table → connect to the real server →
 *   [PROXY header] → pipe both ways with half-close → release on close.
 * The client socket is accepted paused, so nothing is read before the real server answers.
 * A client whose connection cannot be scheduled (no eligible real server) gets a TCP reset; so does one whose
 * real server refuses. Idle timeout: `tcp` from `--set` while established, `tcpfin` once either side sent FIN.
 */
import net from "node:net";
import { Connection } from "../../conn/connection.js";
import { schedule } from "../../conn/schedule.js";
import type { VirtualService } from "../../state/virtual-service.js";
import type { EngineContext } from "../types.js";
import { proxyV1, proxyV2 } from "./proxy-protocol.js";

export class TcpListener {
  private readonly server: net.Server;

  constructor(
    private readonly vs: VirtualService,
    private readonly ctx: EngineContext,
  ) {
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (s) => {
      try {
        this.accept(s);
      } catch (e) {
        // One connection's trouble must never take the director down.
        this.ctx.log.error({ err: e, service: this.vs.key }, "connection setup failed");
        s.destroy();
      }
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(new Error(`cannot listen on tcp ${this.vs.address}: ${e.message}`));
      this.server.once("error", onError);
      // A socket handed over by the previous process keeps its queue of pending connections: none is refused.
      const fd = this.ctx.inherited?.get(this.vs.key);
      if (fd !== undefined) this.ctx.inherited!.delete(this.vs.key);
      const where = fd !== undefined ? { fd, backlog: 4096 } : { host: this.vs.host, port: this.vs.port, backlog: 4096 };
      this.server.listen(where, () => {
        this.server.off("error", onError);
        this.server.on("error", (e) => this.ctx.log.error({ err: e, service: this.vs.key }, "listener error"));
        resolve();
      });
    });
  }

  /** The listening socket's file descriptor (to hand over in a seamless upgrade). */
  get fd(): number | undefined {
    return (this.server as unknown as { _handle?: { fd?: number } })._handle?.fd;
  }

  /** Stops accepting. Resolves at once: server.close()'s callback would wait for every connection to end. */
  close(): Promise<void> {
    if (this.server.listening) this.server.close();
    return Promise.resolve();
  }

  private accept(client: net.Socket): void {
    const vs = this.vs;
    const ctx = this.ctx;
    client.on("error", () => {});
    // A client that reset while waiting in the accept queue has no address any more: nothing to forward.
    if (!client.remoteAddress || !client.remotePort) {
      client.destroy();
      return;
    }
    const clientHost = unmapV4(client.remoteAddress);
    const clientPort = client.remotePort;
    const decision = schedule(
      vs,
      { protocol: "tcp", family: vs.family, clientHost, clientPort, vHost: vs.host, vPort: vs.port },
      ctx.templates,
    );
    if (!decision) {
      client.resetAndDestroy();
      return;
    }
    const rs = decision.realServer;
    const conn = new Connection("tcp", clientHost, clientPort, vs, rs, ctx.now(), decision.template);
    const upstream = net.connect({ host: rs.host, port: rs.port, allowHalfOpen: true, noDelay: true });
    conn.handle = {
      destroy: () => {
        client.destroy();
        upstream.destroy();
      },
      bytes: () => ({ inBytes: client.bytesRead, outBytes: upstream.bytesRead }),
    };
    ctx.table.bind(conn);

    let closed = 0;
    const onClose = () => {
      if (++closed === 2) ctx.table.release(conn);
    };
    const onEnd = () => {
      if (conn.state === "ESTABLISHED") ctx.table.setState(conn, "FIN_WAIT");
    };
    client.on("close", onClose);
    upstream.on("close", onClose);
    upstream.on("error", (e: NodeJS.ErrnoException) => {
      if (conn.state === "SYN_SENT") {
        if (!LOCAL_ERRORS.has(e.code ?? "")) ctx.onConnectFailed?.(vs, rs, e.code ?? e.message);
        client.resetAndDestroy();
      } else client.destroy();
    });
    client.on("error", () => upstream.destroy());
    upstream.once("connect", () => {
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      if (vs.spec.proxyProtocol !== "none") {
        // The family of this connection (an IPv4 client on a dual-stack [::] VIP is IPv4 on both ends).
        const family = net.isIPv4(clientHost) ? 4 : 6;
        const dstHost = unmapV4(client.localAddress ?? vs.host);
        const a = { family, protocol: "tcp" as const, srcHost: clientHost, srcPort: clientPort, dstHost, dstPort: vs.port } as const;
        upstream.write(vs.spec.proxyProtocol === "v1" ? proxyV1(a) : proxyV2(a));
      }
      ctx.table.setState(conn, "ESTABLISHED");
      relay(client, upstream, onEnd);
      relay(upstream, client, onEnd);
      client.resume();
    });
  }
}

/**
 * Moves bytes one way with back-pressure: a write the kernel cannot take at once pauses the reading side
 * until the writing side drains. FIN is passed on (half-close), as the kernel passes a FIN through.
 * Idle timeouts are enforced by the connection table's sweep (no per-socket timers on the hot path).
 */
function relay(from: net.Socket, to: net.Socket, onEnd: () => void): void {
  from.on("data", (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on("drain", () => from.resume());
  from.on("end", () => {
    onEnd();
    to.end();
  });
}

/** Errors of this host, not of the real server: they must not count against it in passive health. */
export const LOCAL_ERRORS = new Set(["EMFILE", "ENFILE", "EADDRNOTAVAIL", "ENOBUFS", "ENOMEM", "EADDRINUSE"]);

/** "::ffff:10.0.0.1" → "10.0.0.1" (a dual-stack listener reports IPv4 clients mapped). */
export function unmapV4(host: string): string {
  return host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host;
}
