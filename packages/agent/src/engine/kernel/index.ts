/**
 * The kernel engine: VS/NAT in the kernel with nftables, for services with `engine: kernel`. Packets are
 * rewritten in the kernel and never copied through user space; the agent only keeps the table in step with the
 * service table (one atomic nft batch per change, ruleset.ts) and reads counters back.
 *
 * Schedulers: rr and wrr (numgen inc), sh and dh (jhash over the kernel's 256-bucket tables), mh (jhash over the
 * kernel's Maglev table, 4093 positions), lc, wlc, sed and nq (numgen random, re-weighted every
 * `kernelReweightSeconds` from conntrack counts: reweight.ts). Persistence templates are a dynamic nft map per
 * service (ruleset.ts). Where nftables cannot do exactly what IPVS does, the file that does it says how far it
 * differs: ruleset.ts (wrr order, persistence), tables.ts (hash function, mh-fallback), reweight.ts (lc family).
 *
 * Not here yet: lblc, lblcr, fo, ovf, twos, one-packet scheduling, -x/-y thresholds, sorry server and quorum,
 * VS/DR, full-NAT, IPv6. VS/TUN cannot be built on this kernel (no IPIP tunnels).
 * The table is the agent's own (`ip director`); nothing else is touched, and it is deleted when the last kernel
 * service goes. At its first change the engine reads what the table already holds (a previous agent's counters,
 * maps and chains) and adopts it, so a restart keeps counters and persistence templates; what no service claims
 * within 30 s is deleted.
 */
import type { VirtualServiceSpec } from "@director/model";
import type { VirtualService } from "../../state/virtual-service.js";
import type { Engine, EngineContext } from "../types.js";
import { nft, nftOutput } from "./nft.js";
import { follow, newServiceState, planService, reweightPicks, type ServiceState } from "./plan.js";
import { DEFAULT_REWEIGHT_SECONDS, isReweighted, listConnections } from "./reweight.js";
import { counterNames, emptyState, renderBatch, type ServicePlan, TABLE, type TableState, target } from "./ruleset.js";
import { MH_KERNEL_TABLE_SIZE } from "./tables.js";

/** How long a previous agent's objects are kept for the services being opened again (see `adopted`). */
const ADOPT_MS = 30_000;

const SUPPORTED = new Set(["rr", "wrr", "sh", "dh", "mh", "lc", "wlc", "sed", "nq"]);

export class KernelEngine implements Engine {
  readonly name = "kernel" as const;
  private readonly services = new Map<VirtualService, ServiceState>();
  /** Ruleset changes are applied in order, one nft batch at a time. */
  private chain: Promise<void> = Promise.resolve();
  /** What the table holds; `known` is false until it was read from the kernel (at the first change). */
  private state: TableState = emptyState();
  private known = false;
  /**
   * A previous agent's objects, found at the first change: kept while the service table opens the services
   * again one by one (each open is a batch of its own), so the ones opened later find their templates and
   * counters; deleted as orphans after ADOPT_MS.
   */
  private adopted = new Set<string>();
  private adoptTimer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: EngineContext) {}

  refuse(spec: VirtualServiceSpec): string | null {
    if (spec.address.startsWith("[")) return "the kernel engine does IPv4 virtual services in this version";
    if (!SUPPORTED.has(spec.scheduler))
      return `scheduler ${spec.scheduler} is not available in the kernel engine yet (rr, wrr, lc, wlc, sed, nq, sh, dh and mh are); use engine: userspace`;
    if (spec.scheduler === "mh" && spec.realServers.length > MH_KERNEL_TABLE_SIZE)
      return `mh in the kernel engine has a ${MH_KERNEL_TABLE_SIZE}-position table: at most ${MH_KERNEL_TABLE_SIZE} real servers (this service has ${spec.realServers.length})`;
    if (spec.onePacket) return "one-packet scheduling is not available in the kernel engine";
    if (spec.proxyProtocol !== "none") return "the kernel engine rewrites packets and cannot send a PROXY header; use engine: userspace";
    // Refused rather than silently ignored: the kernel ruleset does not act on these yet.
    if (spec.quorum) return "quorum is not available in the kernel engine yet; use engine: userspace";
    if (spec.sorryServer) return "a sorry server is not available in the kernel engine yet; use engine: userspace";
    if (spec.passiveHealth) return "passive health (ejection on errors) needs to see connections fail, which the kernel engine does not; use engine: userspace";
    for (const rs of spec.realServers) {
      if (rs.upperThreshold || rs.lowerThreshold)
        return `real server ${rs.address}: connection thresholds (-x/-y) are not available in the kernel engine yet; use engine: userspace`;
      if (rs.forward === "tun") return `real server ${rs.address}: VS/TUN needs IPIP tunnels, which this kernel does not have`;
      if (rs.forward === "dr") return `real server ${rs.address}: VS/DR is not available in the kernel engine yet (NAT is)`;
      if (rs.address.startsWith("[")) return `real server ${rs.address}: the kernel engine does IPv4 in this version`;
    }
    return null;
  }

  async open(vs: VirtualService): Promise<void> {
    this.services.set(vs, newServiceState());
    this.follow(vs);
    try {
      await this.apply();
    } catch (e) {
      this.stop(vs);
      this.services.delete(vs);
      throw e;
    }
  }

  /** Applies the current state now (after following a change of `vs`); resolves when the kernel has it (benchmarks, tests). */
  refresh(vs?: VirtualService): Promise<void> {
    if (vs && this.services.has(vs)) this.follow(vs);
    return this.apply();
  }

  update(vs: VirtualService): void {
    if (this.services.has(vs)) this.follow(vs);
    this.reapply();
  }

  private reapply(): void {
    void this.apply().catch((e: Error) => this.ctx.log.error({ err: e }, "kernel engine: ruleset update failed"));
  }

  async close(vs: VirtualService): Promise<void> {
    this.stop(vs);
    this.services.delete(vs);
    await this.apply();
  }

  async closeAll(): Promise<void> {
    // Forwarding in the kernel outlives the agent: on shutdown the rules stay, so established and new
    // connections keep flowing; a restart reconciles the same table (idempotent, no duplicates). Only the
    // re-weighting stops (the maps keep their last weights).
    for (const vs of this.services.keys()) this.stop(vs);
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
    for (const vs of this.services.keys()) {
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

  /** The plan the next batch renders for a service (tests and the simulator, simulate.ts, read it). */
  plan(vs: VirtualService): ServicePlan {
    const st = this.services.get(vs);
    if (!st) throw new Error(`${vs.key} is not a kernel service`);
    return planService(vs, st, this.ctx.templates.expireQuiescentTemplate());
  }

  /** Keeps the per-service state in step with a change of the service; starts or stops re-weighting. */
  private follow(vs: VirtualService): void {
    const st = this.services.get(vs)!;
    follow(vs, st);
    if (isReweighted(vs.spec.scheduler)) {
      if (!st.timer) this.schedule(vs, st);
    } else if (st.timer) {
      this.stop(vs);
      // The counts were conntrack's, shown while they were kept up to date.
      st.counts = new Map();
      for (const rs of vs.realServers) rs.activeConns = rs.inactiveConns = 0;
    }
  }

  private stop(vs: VirtualService): void {
    const st = this.services.get(vs);
    if (!st) return;
    if (st.timer) clearTimeout(st.timer);
    st.timer = undefined;
  }

  private schedule(vs: VirtualService, st: ServiceState): void {
    const seconds = vs.spec.kernelReweightSeconds ?? DEFAULT_REWEIGHT_SECONDS;
    const timer = setTimeout(() => void this.reweight(vs, st, timer), seconds * 1000);
    timer.unref();
    st.timer = timer;
  }

  /** One re-weighting period of an lc/wlc/sed/nq service: count, simulate, apply when the slots changed. */
  private async reweight(vs: VirtualService, st: ServiceState, timer: NodeJS.Timeout): Promise<void> {
    try {
      try {
        st.counts = await listConnections(vs.spec.protocol, vs.host, vs.port);
        st.countFailed = false;
      } catch (e) {
        if (!st.countFailed) this.ctx.log.warn({ err: e, service: vs.key }, "kernel engine: cannot count connections; weights stay as they were");
        st.countFailed = true;
      }
      if (this.services.get(vs) !== st) return;
      // New connections expected in a period: the service's connection rate (the estimator's, from the nft
      // counters poll() reads every 2 s) or, when it lags a burst, what the counters grew by since the last period.
      const conns = vs.realServers.reduce((n, rs) => n + rs.counters.stats.conns, 0);
      const grew = st.connsSeen === undefined ? 0 : Math.max(0, conns - st.connsSeen);
      st.connsSeen = conns;
      st.observed = Math.max(grew, vs.counters.rates().cps * (vs.spec.kernelReweightSeconds ?? DEFAULT_REWEIGHT_SECONDS));
      // The counts are what `vsadm -L` shows as ActiveConn/InActConn for a kernel service.
      for (const rs of vs.realServers) {
        const c = st.counts.get(rs.address);
        rs.activeConns = c?.active ?? 0;
        rs.inactiveConns = c?.inactive ?? 0;
      }
      const picks = reweightPicks(vs, st).join();
      if (picks !== st.picks) await this.apply();
    } catch (e) {
      this.ctx.log.error({ err: e, service: vs.key }, "kernel engine: re-weighting failed");
    } finally {
      // Unless stopped (or restarted) meanwhile.
      if (this.services.get(vs) === st && st.timer === timer) this.schedule(vs, st);
    }
  }

  private apply(): Promise<void> {
    const run = this.chain.then(async () => {
      if (this.services.size === 0) {
        if (this.state.chains.size > 0 || !this.known) await KernelEngine.remove();
        this.state = emptyState();
        this.known = true;
        this.adopted = new Set();
        return;
      }
      if (!this.known) {
        this.state = await readTable();
        this.known = true;
        this.adopt();
      }
      const expireQuiescent = this.ctx.templates.expireQuiescentTemplate();
      const plans = [...this.services].map(([vs, st]) => planService(vs, st, expireQuiescent));
      const { script, next } = renderBatch(plans, this.state, this.adopted);
      if (script !== null) {
        try {
          await nft(script);
        } catch (e) {
          // The batch is all or nothing; read the table again next time in case it was changed under us.
          this.known = false;
          throw e;
        }
      }
      this.state = next;
      await this.purgeTemplates(plans);
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /** Adopts what the table holds (see `adopted`) and schedules the deletion of what nobody claims by then. */
  private adopt(): void {
    const s = this.state;
    this.adopted = new Set([...s.chains.keys(), ...s.positions.keys(), ...s.templates, ...s.counters]);
    if (this.adoptTimer) clearTimeout(this.adoptTimer);
    if (this.adopted.size === 0) return;
    this.adoptTimer = setTimeout(() => {
      this.adopted = new Set();
      this.adoptTimer = undefined;
      if (this.services.size > 0) this.reapply();
    }, ADOPT_MS);
    this.adoptTimer.unref();
  }

  /**
   * Deletes the templates of real servers no longer honoured (maintenance, removed, failed check, or quiesced
   * with expire_quiescent_template) once the batch that stopped honouring them is in: the scheduler no longer
   * picks them and no rule refreshes their templates, so none can come back. Best effort: a template that
   * expires meanwhile makes the batch fail, and the next change tries again (ruleset.ts's check on use covers the
   * gap either way).
   */
  private async purgeTemplates(plans: ServicePlan[]): Promise<void> {
    for (const { vs, templates } of plans) {
      const st = this.services.get(vs)!;
      if (!templates) {
        st.honoured = undefined;
        continue;
      }
      const honoured = new Set(templates.honoured.map(target));
      const shrank = st.honoured === undefined || [...st.honoured].some((h) => !honoured.has(h));
      st.honoured = honoured;
      if (!shrank) continue;
      try {
        const stale = await listTemplates(templates.map);
        const gone = stale.filter((e) => !honoured.has(e.value));
        if (gone.length === 0) continue;
        const t = `ip ${TABLE} ${templates.map}`;
        // `add` first (a no-op for an element still there) so that one expiring meanwhile cannot fail the delete.
        const lines = gone.flatMap((e) => [`add element ${t} { ${e.key} : ${e.value} }`, `delete element ${t} { ${e.key} }`]);
        await nft(`${lines.join("\n")}\n`);
        this.ctx.log.info({ service: vs.key, templates: gone.length }, "kernel engine: removed persistence templates of real servers no longer honoured");
      } catch (e) {
        st.honoured = undefined; // try again after the next change
        this.ctx.log.warn({ err: e, service: vs.key }, "kernel engine: cannot remove stale persistence templates");
      }
    }
  }
}

type NftJson = { nftables?: Record<string, { name?: string; elem?: unknown[] } | undefined>[] };

/** What the table holds now (a previous agent's counters, maps and chains), or an empty state when there is none. */
async function readTable(): Promise<TableState> {
  const state = emptyState();
  let json: NftJson;
  try {
    // -t: without set elements (a template map may hold a million).
    json = JSON.parse(await nftOutput(["-j", "-t", "list", "table", "ip", TABLE]));
  } catch {
    return state; // no table yet
  }
  for (const item of json.nftables ?? []) {
    const name = item.counter?.name ?? item.map?.name ?? item.chain?.name;
    if (!name) continue;
    if (item.counter) state.counters.add(name);
    else if (item.chain) state.chains.set(name, null);
    else if (name.startsWith("h_")) state.positions.set(name, null);
    else if (name.startsWith("p_")) state.templates.add(name);
  }
  return state;
}

/** The elements of a template map: key (client prefix) and value ("host . port"). */
async function listTemplates(map: string): Promise<{ key: string; value: string }[]> {
  const json = JSON.parse(await nftOutput(["-j", "list", "map", "ip", TABLE, map])) as NftJson;
  const out: { key: string; value: string }[] = [];
  for (const item of json.nftables ?? []) {
    for (const e of item.map?.elem ?? []) {
      const [k, v] = e as [string | { elem?: { val?: string } }, { concat?: [string, number] }];
      const key = typeof k === "string" ? k : k?.elem?.val;
      const value = v?.concat ? `${v.concat[0]} . ${v.concat[1]}` : undefined;
      if (key && value) out.push({ key, value });
    }
  }
  return out;
}
