/**
 * The kernel engine: VS/NAT in the kernel with nftables (DNAT with numgen maps), for services with
 * `engine: kernel`. Packets are rewritten in the kernel and never copied through user space; the agent only
 * keeps the table in step with the service table (one atomic nft batch per change). This version does rr/wrr
 * over IPv4 TCP/UDP in NAT mode; the other schedulers, persistence, VS/DR, counters from nft/conntrack and
 * full-NAT come next (issue "Kernel fast path"). VS/TUN cannot be built here: this kernel has no IPIP tunnels.
 * The table is the agent's own (`ip director`); nothing else is touched, and it is deleted when the last kernel
 * service goes.
 */
import type { VirtualServiceSpec } from "@director/model";
import type { VirtualService } from "../../state/virtual-service.js";
import type { Engine, EngineContext } from "../types.js";
import { nft, nftOutput } from "./nft.js";
import { counterNames, renderBatch, TABLE } from "./ruleset.js";

export class KernelEngine implements Engine {
  readonly name = "kernel" as const;
  private readonly services = new Set<VirtualService>();
  /** Ruleset changes are applied in order, one nft batch at a time. */
  private chain: Promise<void> = Promise.resolve();
  private lastApplied = "";
  /** Counters the table holds now (to delete the ones no longer wanted). */
  private counters = new Set<string>();
  /** The counting rules as last applied (rewritten only when real servers come or go). */
  private forward: string | undefined;

  constructor(private readonly ctx: EngineContext) {}

  refuse(spec: VirtualServiceSpec): string | null {
    if (spec.address.startsWith("[")) return "the kernel engine does IPv4 virtual services in this version";
    if (spec.scheduler !== "rr" && spec.scheduler !== "wrr")
      return `scheduler ${spec.scheduler} is not available in the kernel engine yet (rr and wrr are); use engine: userspace`;
    if (spec.persistence) return "persistence is not available in the kernel engine yet; use engine: userspace";
    if (spec.onePacket) return "one-packet scheduling is not available in the kernel engine";
    if (spec.proxyProtocol !== "none") return "the kernel engine rewrites packets and cannot send a PROXY header; use engine: userspace";
    for (const rs of spec.realServers) {
      if (rs.forward === "tun") return `real server ${rs.address}: VS/TUN needs IPIP tunnels, which this kernel does not have`;
      if (rs.forward === "dr") return `real server ${rs.address}: VS/DR is not available in the kernel engine yet (NAT is)`;
      if (rs.address.startsWith("[")) return `real server ${rs.address}: the kernel engine does IPv4 in this version`;
    }
    return null;
  }

  async open(vs: VirtualService): Promise<void> {
    this.services.add(vs);
    try {
      await this.apply();
    } catch (e) {
      this.services.delete(vs);
      throw e;
    }
  }

  /** Applies the current state now; resolves when the kernel has it (benchmarks, tests). */
  refresh(): Promise<void> {
    return this.apply();
  }

  update(_vs: VirtualService): void {
    void this.apply().catch((e: Error) => this.ctx.log.error({ err: e }, "kernel engine: ruleset update failed"));
  }

  async close(vs: VirtualService): Promise<void> {
    this.services.delete(vs);
    await this.apply();
  }

  async closeAll(): Promise<void> {
    // Forwarding in the kernel outlives the agent: on shutdown the rules stay, so established and new
    // connections keep flowing; a restart reconciles the same table (idempotent, no duplicates).
  }

  /**
   * Reads the table's named counters into the real servers' and services' statistics (called before each
   * estimator tick). nft counters only grow while the table lives, as ours must.
   */
  async poll(): Promise<void> {
    if (this.services.size === 0) return;
    let json: { nftables?: { counter?: { name: string; packets: number; bytes: number } }[] };
    try {
      json = JSON.parse(await nftOutput(["-j", "list", "counters", "table", "ip", TABLE]));
    } catch (e) {
      this.ctx.log.warn({ err: e }, "kernel engine: cannot read counters");
      return;
    }
    const byName = new Map<string, { packets: number; bytes: number }>();
    for (const item of json.nftables ?? []) if (item.counter) byName.set(item.counter.name, item.counter);
    for (const vs of this.services) {
      const total = { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 };
      for (const rs of vs.realServers) {
        const n = counterNames(vs, rs.host, rs.port);
        const s = rs.counters.stats;
        s.conns = Math.max(s.conns, byName.get(n.conns)?.packets ?? 0);
        s.inPkts = Math.max(s.inPkts, byName.get(n.in)?.packets ?? 0);
        s.inBytes = Math.max(s.inBytes, byName.get(n.in)?.bytes ?? 0);
        s.outPkts = Math.max(s.outPkts, byName.get(n.out)?.packets ?? 0);
        s.outBytes = Math.max(s.outBytes, byName.get(n.out)?.bytes ?? 0);
        for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += s[k];
      }
      Object.assign(vs.counters.stats, total);
    }
  }

  /** Removes the agent's table (used when the last kernel service is deleted, and by tests). */
  static async remove(): Promise<void> {
    await nft(`add table ip ${TABLE}\ndelete table ip ${TABLE}\n`);
  }

  private apply(): Promise<void> {
    const run = this.chain.then(async () => {
      if (this.services.size === 0) {
        if (this.lastApplied !== "") await KernelEngine.remove();
        this.lastApplied = "";
        this.counters.clear();
        this.forward = undefined;
        return;
      }
      const { script, counters, forward } = renderBatch(this.services, this.counters, this.forward);
      if (script === this.lastApplied) return;
      await nft(script);
      this.lastApplied = script;
      this.counters = counters;
      this.forward = forward;
    });
    this.chain = run.catch(() => {});
    return run;
  }
}
