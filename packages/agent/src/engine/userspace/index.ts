/**
 * The userspace engine: VS/NAT as a full proxy, TCP and UDP, in this process. It refuses direct routing and
 * tunnelling, which need to forward packets without terminating them: the kernel engine (`engine: kernel`,
 * nftables) does VS/DR; VS/TUN needs IPIP tunnels, which this kernel does not have. `forward: fullnat` is accepted
 * and is the same as nat here: a full proxy always connects to the real server from the director's own address
 * (from `localAddresses` in turn, when the service lists them).
 */
import type { VirtualServiceSpec } from "@director/model";
import type { VirtualService } from "../../state/virtual-service.js";
import { type Engine, type EngineContext, refuseLocalAddresses } from "../types.js";
import { TcpListener } from "./tcp.js";
import { UdpListener } from "./udp.js";

export class UserspaceEngine implements Engine {
  readonly name = "userspace" as const;
  private readonly listeners = new Map<VirtualService, TcpListener | UdpListener>();

  constructor(private readonly ctx: EngineContext) {}

  refuse(spec: VirtualServiceSpec): string | null {
    for (const rs of spec.realServers) {
      if (rs.forward === "dr")
        return `real server ${rs.address}: direct routing (-g) needs the kernel engine (engine: kernel, nftables); the userspace engine forwards in NAT mode (-m) only`;
      if (rs.forward === "tun")
        return `real server ${rs.address}: tunnelling (-i) needs IPIP tunnels in the kernel (kernel engine); the userspace engine forwards in NAT mode (-m) only`;
    }
    if (spec.protocol === "udp" && spec.proxyProtocol === "v1")
      return "PROXY protocol v1 has no UDP form: use proxyProtocol v2 for UDP services";
    return refuseLocalAddresses(spec);
  }

  async open(vs: VirtualService): Promise<void> {
    const l = vs.spec.protocol === "tcp" ? new TcpListener(vs, this.ctx) : new UdpListener(vs, this.ctx);
    await l.listen();
    this.listeners.set(vs, l);
  }

  update(_vs: VirtualService): void {
    // Listeners read the service's spec and scheduler on each new connection: nothing to rebuild.
  }

  async close(vs: VirtualService): Promise<void> {
    const l = this.listeners.get(vs);
    this.listeners.delete(vs);
    await l?.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.listeners.keys()].map((vs) => this.close(vs)));
  }

  /** Listening TCP sockets by service key, for a seamless upgrade. */
  listenerFds(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [vs, l] of this.listeners) {
      if (!(l instanceof TcpListener)) continue;
      const fd = l.fd;
      if (fd !== undefined && fd >= 0) out.set(vs.key, fd);
    }
    return out;
  }

  /** Housekeeping: UDP session idle expiry. */
  expire(now: number): void {
    for (const l of this.listeners.values()) if (l instanceof UdpListener) l.expire(now);
  }
}
