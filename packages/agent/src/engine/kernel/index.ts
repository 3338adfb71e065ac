/**
 * The kernel engine: VS/NAT and VS/DR in the kernel with nftables, for services with `engine: kernel`. Packets
 * are rewritten in the kernel and never copied through user space; the agent only keeps the tables in step with
 * the service table (one atomic nft batch per change, ruleset.ts and dr.ts) and reads counters back.
 *
 * Schedulers: rr and wrr (numgen inc), sh and dh (jhash over the kernel's 256-bucket tables), mh (jhash over the
 * kernel's Maglev table, 4093 positions), lc, wlc, sed and nq (numgen random, re-weighted every
 * `kernelReweightSeconds` from conntrack counts: reweight.ts). Persistence templates are a dynamic nft map per
 * service (ruleset.ts). Where nftables cannot do exactly what IPVS does, the file that does it says how far it
 * differs: ruleset.ts (wrr order, persistence), tables.ts (hash function, mh-fallback), reweight.ts (lc family).
 *
 * VS/DR (services whose real servers are all `forward: dr`; sh, dh and mh, TCP): the frame's destination MAC
 * address is rewritten at the interface's netdev ingress hook and the frame sent out again on the real servers'
 * segment, in table `netdev director` (dr.ts, which also says how established connections survive a drain without a
 * connection table and how far that is from IPVS). The engine derives the interfaces from the routes to the real
 * servers (and to the VIP, or the service's `interface`), refuses real servers not on the director's segment, and
 * keeps their MAC addresses from the neighbour table current (links.ts; checked every 2 s, stale entries re-probed).
 *
 * Full NAT (real servers with `forward: fullnat`): connections to them are also source-NATed to the director's
 * address (ruleset.ts), so real servers need no route back through the director. ActiveConn/InActConn of VS/NAT
 * services are conntrack's counts, taken every `kernelReweightSeconds` (the lc family re-weights from them).
 *
 * Not here yet: lblc, lblcr, fo, ovf, twos, one-packet scheduling, -x/-y thresholds, sorry server and quorum,
 * IPv6, VS/DR with persistence. VS/TUN cannot be built on this kernel (no IPIP tunnels).
 * The tables are the agent's own (`ip director`, `netdev director`); nothing else is touched, and each is deleted
 * when the last kernel service using it goes. At its first change the engine reads what the tables already hold
 * (a previous agent's counters, maps, chains, VS/DR transitions) and adopts it, so a restart keeps counters,
 * persistence templates and VS/DR flow records; what no service claims within 30 s is deleted.
 */
import { type ConnectionEntry, parseEndpoint, type VirtualServiceSpec } from "@director/model";
import type { RealServer } from "../../state/real-server.js";
import type { VirtualService } from "../../state/virtual-service.js";
import { type Engine, type EngineContext, refuseLocalAddresses } from "../types.js";
import { DR_TABLE, type DrLink, type DrPlan, type DrServiceState, type DrTableState, drNames, emptyDrState, newDrState, planDr, renderDrBatch } from "./dr.js";
import { ipLinks, type LinkLayer, type Neighbour, type Route, USABLE_STATES } from "./links.js";
import { NftSession, nft, nftOutput } from "./nft.js";
import { follow, newServiceState, planService, reweightPicks, type ServiceState, templateMapName } from "./plan.js";
import { conntrackEntries, DEFAULT_REWEIGHT_SECONDS, isReweighted, listConnections } from "./reweight.js";
import { counterNames, emptyState, renderBatch, type ServicePlan, TABLE, type TableState, target } from "./ruleset.js";
import { MH_KERNEL_TABLE_SIZE } from "./tables.js";

/** How long a previous agent's objects are kept for the services being opened again (see `adopted`). */
const ADOPT_MS = 30_000;

const SUPPORTED = new Set(["rr", "wrr", "sh", "dh", "mh", "lc", "wlc", "sed", "nq"]);
/** The schedulers that send every packet of a connection to the same real server without a connection table. */
const STATELESS = new Set(["sh", "dh", "mh"]);
/** VS/DR: how often routes and neighbours are checked again, and how long opening a service waits for ARP. */
const LINK_CHECK_MS = 2_000;
/** A failed batch is tried again after 1 s, then 2, 4 … at most 30 s apart. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 30_000;
const RESOLVE_WAIT_MS = 1_000;
/** Neighbour states that need no probe: confirmed, static, or being resolved right now. */
const FRESH_STATES = new Set(["REACHABLE", "PERMANENT", "NOARP", "DELAY", "PROBE", "INCOMPLETE"]);

/** A VS/DR service: its real servers are forwarded by direct routing (refuse() makes it all of them or none). */
export const isDirectRouting = (vs: VirtualService): boolean => vs.realServers.some((rs) => rs.spec.forward === "dr");

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
  /** VS/DR: what the netdev table holds, and a previous agent's position maps (drc, dre) not yet taken over. */
  private drTable: DrTableState = emptyDrState();
  private recovered = new Map<string, Map<number, string>>();
  /** VS/DR: the route to each real server host, and per outgoing interface the MAC address of each host. */
  private readonly routes = new Map<string, Route>();
  private readonly macs = new Map<string, Map<string, string>>();
  /** VS/DR problems already logged (service key + what), so that a check every 2 s logs each once. */
  private readonly reported = new Set<string>();
  private linkTimer: NodeJS.Timeout | undefined;
  private settleTimer: { at: number; timer: NodeJS.Timeout } | undefined;
  /** The long-lived nft that takes the everyday (small) batches (nft.ts). */
  private readonly session = new NftSession();
  /** Each counter's value at the last poll ("family name packets|bytes"). */
  private lastRead = new Map<string, number>();
  /** After a refused or failed batch: the next try (1, 2, 4 … 30 s), until a batch goes through. */
  private retry: NodeJS.Timeout | undefined;
  private retryDelay = 0;
  /** closeAll() was called: nothing is tried again. */
  private closed = false;

  constructor(
    private readonly ctx: EngineContext,
    private readonly links: LinkLayer = ipLinks,
  ) {}

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
      if (rs.address.startsWith("[")) return `real server ${rs.address}: the kernel engine does IPv4 in this version`;
    }
    return refuseDirectRouting(spec) ?? refuseLocalAddresses(spec);
  }

  async open(vs: VirtualService): Promise<void> {
    this.closed = false;
    this.services.set(vs, newServiceState());
    this.follow(vs);
    try {
      // VS/DR: a real server off the director's segment refuses the service (later changes only log it).
      if (isDirectRouting(vs)) await this.resolveLinks(vs, true);
      await this.apply();
    } catch (e) {
      this.stop(vs);
      this.services.delete(vs);
      throw e;
    }
    if (isDirectRouting(vs)) this.watchLinks();
  }

  /** Applies the current state now (after following a change of `vs`); resolves when the kernel has it (benchmarks, tests). */
  refresh(vs?: VirtualService): Promise<void> {
    if (vs && this.services.has(vs)) this.follow(vs);
    return this.apply();
  }

  update(vs: VirtualService): void {
    if (this.services.has(vs)) {
      this.follow(vs);
      if (isDirectRouting(vs)) {
        // A new real server (or interface) needs its route and MAC address first; the rest applies at once.
        const st = this.services.get(vs)!;
        if (st.dr?.linkFrom !== linkSource(vs)) {
          this.reapply();
          void this.resolveLinks(vs, false)
            .catch((e: Error) => this.ctx.log.error({ err: e, service: vs.key }, "kernel engine: VS/DR links failed"))
            .finally(() => this.reapply());
          this.watchLinks();
          return;
        }
      }
    }
    this.reapply();
  }

  private reapply(): void {
    void this.apply().catch((e: Error) => this.ctx.log.error({ err: e }, "kernel engine: ruleset update failed"));
  }

  async close(vs: VirtualService): Promise<void> {
    this.stop(vs);
    this.services.delete(vs);
    for (const r of this.reported) if (r.startsWith(`${vs.key} `)) this.reported.delete(r);
    await this.apply();
  }

  async closeAll(): Promise<void> {
    // Forwarding in the kernel outlives the agent: on shutdown the rules stay, so established and new
    // connections keep flowing; a restart reconciles the same table (idempotent, no duplicates). Only the
    // re-weighting, the VS/DR link checks and transition ends stop (the maps keep their last contents).
    for (const vs of this.services.keys()) this.stop(vs);
    if (this.linkTimer) clearTimeout(this.linkTimer);
    this.linkTimer = undefined;
    if (this.settleTimer) clearTimeout(this.settleTimer.timer);
    this.settleTimer = undefined;
    clearTimeout(this.retry);
    this.retry = undefined;
    this.closed = true;
    this.session.close();
  }

  /**
   * Reads the table's named counters into the real servers' and services' statistics (called before each
   * estimator tick). What a counter grew by since the last read is added, to the real server and to its service:
   * a service's totals do not drop when a real server is removed (IPVS counts the service apart from its dests),
   * and a real server removed and added again (revived from the trash, virtual-service.ts) goes on from its totals
   * although its nft counter was deleted and made anew. A counter read for the first time adds its whole value: a
   * new one is 0, a previous agent's (adopted at a restart) holds what it counted, which carries on.
   */
  async poll(): Promise<void> {
    if (this.services.size === 0) return;
    let natCounters: Map<string, { packets: number; bytes: number }>;
    let drCounters: Map<string, { packets: number; bytes: number }>;
    try {
      // Each table while it exists (the netdev one only once a VS/DR service's links are known).
      natCounters = this.state.chains.size > 0 ? await readCounters("ip") : new Map();
      drCounters = this.drTable.chains.size > 0 ? await readCounters("netdev") : new Map();
    } catch (e) {
      // The table gone from under the agent (`nft flush ruleset`, as a firewall reload does): put it back now
      // rather than at the next change.
      if (/No such file or directory/.test((e as Error).message)) {
        this.ctx.log.warn("kernel engine: the agent's nftables table was removed from outside (flush ruleset?); putting it back");
        this.known = false;
        this.reapply();
      } else this.ctx.log.warn({ err: e }, "kernel engine: cannot read counters");
      return;
    }
    const seen = new Map<string, number>();
    const grew = (family: string, name: string, field: "packets" | "bytes", from: Map<string, { packets: number; bytes: number }>) => {
      const c = from.get(name);
      if (!c) return 0;
      const key = `${family} ${name} ${field}`;
      const last = this.lastRead.get(key);
      const value = c[field];
      seen.set(key, value);
      // Smaller than last time: the counter was deleted and made again in between.
      return last === undefined || value < last ? value : value - last;
    };
    for (const vs of this.services.keys()) {
      // VS/DR counts new connections (SYNs) and inbound packets; the outbound half never passes the director.
      const dr = isDirectRouting(vs);
      const family = dr ? "netdev" : "ip";
      const byName = dr ? drCounters : natCounters;
      const total = vs.counters.stats;
      for (const rs of vs.realServers) {
        const n = counterNames(vs, rs.host, rs.port);
        const s = rs.counters.stats;
        const d = {
          conns: grew(family, n.conns, "packets", byName),
          inPkts: grew(family, n.in, "packets", byName),
          inBytes: grew(family, n.in, "bytes", byName),
          outPkts: grew(family, n.out, "packets", byName),
          outBytes: grew(family, n.out, "bytes", byName),
        };
        for (const k of Object.keys(d) as (keyof typeof d)[]) {
          s[k] += d[k];
          total[k] += d[k];
        }
      }
    }
    // Counters no longer read (deleted with their real server) are forgotten: made again, they start from 0.
    this.lastRead = seen;
  }

  /**
   * A VS/NAT service's connections, from conntrack (`vsadm -Lc`, the API's connection list): the kernel keeps them,
   * not the agent. VS/DR services have none here (the director keeps no connection state for them).
   */
  async connections(vs: VirtualService, limit: number, keep?: (e: ConnectionEntry) => boolean): Promise<ConnectionEntry[]> {
    if (!this.services.has(vs) || isDirectRouting(vs)) return [];
    return conntrackEntries(vs.spec.protocol, vs.host, vs.port, limit, keep);
  }

  /**
   * A VS/NAT service's persistence templates (its nft map: client prefix → real server, with the time left), as
   * `ipvsadm -Lc` shows IPVS's: state NONE, the client prefix with port 0.
   */
  async templates(vs: VirtualService, limit: number): Promise<ConnectionEntry[]> {
    if (!this.services.has(vs) || isDirectRouting(vs)) return [];
    const p = vs.spec.persistence;
    const map = p ? templateMapName(vs, p.timeout, p.prefixLength) : undefined;
    if (!map || !this.state.templates.has(map)) return [];
    const entries = await listTemplates(map);
    return entries.slice(0, limit).map((e) => ({
      protocol: vs.spec.protocol,
      client: `${e.key}:0`,
      virtual: vs.address,
      real: e.value.replace(" . ", ":"),
      state: "NONE",
      expiresIn: e.expires,
      template: true,
      inBytes: 0,
      outBytes: 0,
      startedAt: 0,
    }));
  }

  /** Removes the agent's tables (used when the last kernel service is deleted, and by tests). */
  static async remove(): Promise<void> {
    await nft(`add table ip ${TABLE}\ndelete table ip ${TABLE}\nadd table netdev ${DR_TABLE}\ndelete table netdev ${DR_TABLE}\n`);
  }

  /** The plan the next batch renders for a service (tests and the simulator, simulate.ts, read it). */
  plan(vs: VirtualService): ServicePlan {
    const st = this.services.get(vs);
    if (!st) throw new Error(`${vs.key} is not a kernel service`);
    return planService(vs, st, this.ctx.templates.expireQuiescentTemplate());
  }

  /**
   * Keeps the per-service state in step with a change of the service; starts or stops the periodic count. A VS/NAT
   * service's ActiveConn/InActConn are conntrack's counts, taken every period (every scheduler; the lc family also
   * re-weights from them). A VS/DR service has no counts: the director sees only the client's half of a connection.
   */
  private follow(vs: VirtualService): void {
    const st = this.services.get(vs)!;
    follow(vs, st);
    if (!isDirectRouting(vs)) {
      st.dr = undefined;
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

  /** One period of a VS/NAT service: count connections; for lc/wlc/sed/nq also simulate and apply when the slots changed. */
  private async reweight(vs: VirtualService, st: ServiceState, timer: NodeJS.Timeout): Promise<void> {
    try {
      try {
        st.counts = await listConnections(vs.spec.protocol, vs.host, vs.port);
        st.countFailed = false;
      } catch (e) {
        if (!st.countFailed)
          this.ctx.log.warn({ err: e, service: vs.key }, "kernel engine: cannot count connections; ActiveConn/InActConn (and lc/wlc/sed/nq weights) stay as they were");
        st.countFailed = true;
      }
      if (this.services.get(vs) !== st) return;
      // The counts are what `vsadm -L` shows as ActiveConn/InActConn for a kernel service.
      for (const rs of vs.realServers) {
        const c = st.counts.get(rs.address);
        rs.activeConns = c?.active ?? 0;
        rs.inactiveConns = c?.inactive ?? 0;
      }
      if (!isReweighted(vs.spec.scheduler)) return;
      // New connections expected in a period: the service's connection rate (the estimator's, from the nft
      // counters poll() reads every 2 s) or, when it lags a burst, what the counters grew by since the last period.
      const conns = vs.realServers.reduce((n, rs) => n + rs.counters.stats.conns, 0);
      const grew = st.connsSeen === undefined ? 0 : Math.max(0, conns - st.connsSeen);
      st.connsSeen = conns;
      st.observed = Math.max(grew, vs.counters.rates().cps * (vs.spec.kernelReweightSeconds ?? DEFAULT_REWEIGHT_SECONDS));
      const picks = reweightPicks(vs, st).join();
      if (picks !== st.picks) await this.apply();
    } catch (e) {
      this.ctx.log.error({ err: e, service: vs.key }, "kernel engine: re-weighting failed");
    } finally {
      // Unless stopped (or restarted) meanwhile.
      if (this.services.get(vs) === st && st.timer === timer) this.schedule(vs, st);
    }
  }

  /**
   * Brings the kernel to the service table. A batch that fails (nft refused it, or did not answer) leaves the
   * kernel at its previous state; the table is read again and the whole state tried again later with back-off,
   * so a passing trouble does not leave forwarding stale until the next change.
   */
  private apply(): Promise<void> {
    const run = this.applyNow();
    run.then(
      () => {
        this.retryDelay = 0;
        clearTimeout(this.retry);
        this.retry = undefined;
      },
      () => {
        if (this.retry || this.closed) return;
        this.retryDelay = Math.min(RETRY_MAX_MS, this.retryDelay === 0 ? RETRY_FIRST_MS : this.retryDelay * 2);
        this.retry = setTimeout(() => {
          this.retry = undefined;
          this.reapply();
        }, this.retryDelay);
        this.retry.unref();
      },
    );
    return run;
  }

  private applyNow(): Promise<void> {
    const run = this.chain.then(async () => {
      if (this.services.size === 0) {
        if (this.state.chains.size > 0 || this.drTable.chains.size > 0 || !this.known) await KernelEngine.remove();
        this.state = emptyState();
        this.drTable = emptyDrState();
        this.known = true;
        this.adopted = new Set();
        this.recovered = new Map();
        return;
      }
      if (!this.known) {
        this.state = await readTable();
        ({ state: this.drTable, recovered: this.recovered } = await readDrTable());
        this.known = true;
        this.adopt();
      }
      const nat = [...this.services].filter(([vs]) => !isDirectRouting(vs));
      const expireQuiescent = this.ctx.templates.expireQuiescentTemplate();
      const plans = nat.map(([vs, st]) => planService(vs, st, expireQuiescent));
      const drPlans = this.planDirectRouting();
      // Each table is rendered while some service (or an adopted object) needs it, and removed otherwise; both
      // in one batch, which the kernel applies atomically.
      let script = "";
      let next = this.state;
      const natAdopted = [...this.state.chains.keys(), ...this.state.positions.keys(), ...this.state.counterMaps.keys(), ...this.state.templates].some((n) => this.adopted.has(n));
      if (plans.length > 0 || natAdopted) {
        const r = renderBatch(plans, this.state, this.adopted);
        script += r.script ?? "";
        next = r.next;
      } else if (this.state.chains.size > 0) {
        script += `add table ip ${TABLE}\ndelete table ip ${TABLE}\n`;
        next = emptyState();
      }
      let drNext = this.drTable;
      const drAdopted = [...this.drTable.chains.keys(), ...this.drTable.flows].some((n) => this.adopted.has(n));
      if (drPlans.length > 0 || drAdopted) {
        const r = renderDrBatch(drPlans, this.drTable, this.adopted);
        script += r.script ?? "";
        drNext = r.next;
      } else if (this.drTable.chains.size > 0 || this.drTable.flows.size > 0) {
        script += `add table netdev ${DR_TABLE}\ndelete table netdev ${DR_TABLE}\n`;
        drNext = emptyDrState();
      }
      if (script !== "") {
        try {
          await this.session.run(script);
        } catch (e) {
          // The batch is all or nothing; read the tables again next time in case they were changed under us.
          this.known = false;
          throw e;
        }
      }
      // A counter deleted now and made again before the next poll must count from 0 there.
      for (const [family, before, after] of [["ip", this.state.counters, next.counters], ["netdev", this.drTable.counters, drNext.counters]] as const)
        for (const name of before) if (!after.has(name)) for (const f of ["packets", "bytes"]) this.lastRead.delete(`${family} ${name} ${f}`);
      this.state = next;
      this.drTable = drNext;
      await this.purgeTemplates(plans);
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /**
   * The VS/DR services' plans (dr.ts), moving their transitions on to now; schedules the next transition's end.
   * A service whose links are not known yet (no real server on the segment) has no plan: its packets are not
   * taken at the interface.
   */
  private planDirectRouting(): DrPlan[] {
    const now = this.ctx.now();
    const timeouts = this.ctx.timeouts();
    const plans: DrPlan[] = [];
    let settleAt: number | undefined;
    for (const [vs, st] of this.services) {
      if (!isDirectRouting(vs)) continue;
      const d = (st.dr ??= newDrState());
      if (!d.link) continue;
      const { dispatch } = planService(vs, st, false, (rs) => this.macOf(d, rs) !== undefined);
      if (dispatch.kind !== "jhash") continue; // refused: DR takes sh, dh and mh only
      const names = drNames(vs);
      const recovered = { table: this.recovered.get(names.table), moved: this.recovered.get(names.moved) };
      // Flow records last as IPVS's connection entries: `--set tcp` for TCP, `--set … udp` for UDP.
      const timeout = vs.spec.protocol === "udp" ? timeouts.udp : timeouts.tcp;
      const r = planDr(vs, d, d.link, dispatch, (rs) => this.macOf(d, rs), timeout, now, recovered);
      this.recovered.delete(names.table);
      this.recovered.delete(names.moved);
      plans.push(r.plan);
      if (r.settleAt !== undefined && (settleAt === undefined || r.settleAt < settleAt)) settleAt = r.settleAt;
    }
    if (settleAt !== undefined && (!this.settleTimer || this.settleTimer.at > settleAt || this.settleTimer.at <= now)) {
      if (this.settleTimer) clearTimeout(this.settleTimer.timer);
      const timer = setTimeout(
        () => {
          this.settleTimer = undefined;
          this.reapply();
        },
        Math.max(0, settleAt - now) + 10,
      );
      timer.unref();
      this.settleTimer = { at: settleAt, timer };
    }
    return plans;
  }

  /** A real server's MAC address on its service's outgoing interface, unless it is excluded or not known yet. */
  private macOf(d: DrServiceState, rs: RealServer): string | undefined {
    if (!d.link || d.excluded.has(rs.address)) return undefined;
    return this.macs.get(d.link.out)?.get(rs.host);
  }

  /**
   * Derives a VS/DR service's links from the routes to its real servers (fresh routes when `strict`) and resolves
   * their MAC addresses (waiting up to RESOLVE_WAIT_MS for ARP). Real servers not on the director's segment are a
   * refusal when `strict` (opening the service), else logged and left without positions.
   */
  private async resolveLinks(vs: VirtualService, strict: boolean): Promise<void> {
    const st = this.services.get(vs);
    if (!st) return;
    const d = (st.dr ??= newDrState());
    const from = linkSource(vs);
    const hosts = [...new Set(vs.realServers.map((rs) => rs.host))];
    const missing = strict ? hosts : hosts.filter((h) => !this.routes.has(h));
    if (missing.length > 0) {
      const found = await this.links.routes(missing);
      for (const h of missing) {
        const r = found.get(h);
        if (r) this.routes.set(h, r);
        else this.routes.delete(h);
      }
    }
    const { link, excluded } = await this.deriveLink(vs, strict);
    if (this.services.get(vs) !== st) return;
    d.link = link;
    d.excluded = excluded;
    d.linkFrom = from;
    if (!link) return;
    await this.resolveMacs(
      link.out,
      vs.realServers.filter((rs) => !excluded.has(rs.address)).map((rs) => rs.host),
      RESOLVE_WAIT_MS,
    );
  }

  /** The interfaces of a VS/DR service (see resolveLinks), from the routes known. */
  private async deriveLink(vs: VirtualService, strict: boolean): Promise<{ link: DrLink | undefined; excluded: Set<string> }> {
    const problems: { address: string; why: string }[] = [];
    const byDev = new Map<string, string[]>();
    for (const rs of vs.realServers) {
      const r = this.routes.get(rs.host);
      if (!r) problems.push({ address: rs.address, why: `real server ${rs.address}: the director has no route to it` });
      else if (r.local) problems.push({ address: rs.address, why: `real server ${rs.address} is an address of the director itself` });
      else if (r.gateway)
        problems.push({ address: rs.address, why: `real server ${rs.address} is reached through the gateway ${r.gateway} on ${r.dev}, not on a segment the director shares with it` });
      else byDev.set(r.dev, [...(byDev.get(r.dev) ?? []), rs.address]);
    }
    // One outgoing interface per service: the one most of its real servers are on.
    const devs = [...byDev].sort((a, b) => b[1].length - a[1].length);
    if (devs.length > 1) {
      const listed = devs.map(([dev, a]) => `${dev}: ${a.join(", ")}`).join("; ");
      for (const [, addresses] of devs.slice(1))
        for (const address of addresses)
          problems.push({ address, why: `real server ${address} is on another interface than the service's other real servers (${listed}): a VS/DR service forwards out of one interface` });
    }
    const why = "VS/DR changes only the destination MAC address, so the director must reach every real server directly, on one segment";
    if (strict && problems.length > 0) throw new Error(`${vs.key}: ${problems.map((p) => p.why).join("; ")} (${why})`);
    const excluded = new Set(problems.map((p) => p.address));
    const current = new Set(problems.map((p) => `${vs.key} ${p.why}: it takes no connections (${why})`));
    // A problem solved meanwhile is reported again should it come back.
    for (const r of this.reported) if (r.startsWith(`${vs.key} `) && !current.has(r)) this.reported.delete(r);
    for (const p of problems) this.report(vs, `${p.why}: it takes no connections (${why})`);
    const out = devs[0]?.[0];
    if (out === undefined) return { link: undefined, excluded };
    const into = vs.spec.interface ?? (await this.links.holder(vs.host)) ?? out;
    // Both must exist (nft would refuse a hook on a missing interface); the outgoing one's MAC is the frames' source.
    await this.links.linkAddress(into);
    return { link: { in: into, out, mac: await this.links.linkAddress(out) }, excluded };
  }

  /** Logs a VS/DR problem once (until the service goes). */
  private report(vs: VirtualService, what: string): void {
    const key = `${vs.key} ${what}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.ctx.log.error({ service: vs.key }, `kernel engine: ${what}`);
  }

  /** Learns the real servers' (`hosts`) entries of the neighbour table of `dev`; true when a MAC address appeared or changed. */
  private learn(dev: string, table: Map<string, Neighbour>, hosts: Iterable<string>): boolean {
    let known = this.macs.get(dev);
    if (!known) this.macs.set(dev, (known = new Map()));
    let changed = false;
    for (const host of hosts) {
      const n = table.get(host);
      if (!n?.mac || !USABLE_STATES.has(n.state)) continue;
      const was = known.get(host);
      if (was === n.mac) continue;
      if (was !== undefined) this.ctx.log.info({ host, dev, was, now: n.mac }, "kernel engine: a VS/DR real server's MAC address changed; the maps follow");
      known.set(host, n.mac);
      changed = true;
    }
    return changed;
  }

  /** Resolves the hosts' MAC addresses on `dev`: probes those not known and waits for them up to `waitMs`. */
  private async resolveMacs(dev: string, hosts: string[], waitMs: number): Promise<void> {
    this.learn(dev, await this.links.neighbours(dev), hosts);
    const known = () => this.macs.get(dev)!;
    let todo = hosts.filter((h) => !known().has(h));
    if (todo.length === 0) return;
    await this.links.probe(dev, todo);
    const end = Date.now() + waitMs;
    for (;;) {
      this.learn(dev, await this.links.neighbours(dev), todo);
      todo = todo.filter((h) => !known().has(h));
      if (todo.length === 0 || Date.now() >= end) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Every LINK_CHECK_MS while VS/DR services run: the routes to their real servers (a real server that left the
   * segment stops taking connections), and the neighbour tables of their interfaces (a changed MAC address is
   * rewritten into the maps; unknown, failed and stale entries are probed, so a real server whose address moved to
   * another machine is found again).
   */
  private watchLinks(): void {
    if (this.linkTimer) return;
    const tick = async () => {
      const dr = [...this.services.keys()].filter(isDirectRouting);
      if (dr.length === 0) {
        this.linkTimer = undefined;
        return;
      }
      let changed = false;
      try {
        const hosts = [...new Set(dr.flatMap((vs) => vs.realServers.map((rs) => rs.host)))];
        const routes = await this.links.routes(hosts);
        for (const h of hosts) {
          const r = routes.get(h);
          const was = this.routes.get(h);
          if (JSON.stringify(r) === JSON.stringify(was)) continue;
          changed = true;
          if (r) this.routes.set(h, r);
          else this.routes.delete(h);
        }
        if (changed) for (const vs of dr) await this.resolveLinks(vs, false);
        const perDev = new Map<string, Set<string>>();
        for (const vs of dr) {
          const d = this.services.get(vs)?.dr;
          if (!d?.link) continue;
          const set = perDev.get(d.link.out) ?? new Set();
          for (const rs of vs.realServers) if (!d.excluded.has(rs.address)) set.add(rs.host);
          perDev.set(d.link.out, set);
        }
        for (const [dev, wanted] of perDev) {
          const table = await this.links.neighbours(dev);
          if (this.learn(dev, table, wanted)) changed = true;
          const stale = [...wanted].filter((h) => !FRESH_STATES.has(table.get(h)?.state ?? "NONE"));
          if (stale.length > 0) await this.links.probe(dev, stale);
        }
      } catch (e) {
        this.ctx.log.warn({ err: e }, "kernel engine: cannot check the VS/DR links");
      }
      if (changed) this.reapply();
      if (this.linkTimer) schedule();
    };
    const schedule = () => {
      this.linkTimer = setTimeout(() => void tick(), LINK_CHECK_MS);
      this.linkTimer.unref();
    };
    schedule();
  }

  /** Adopts what the tables hold (see `adopted`) and schedules the deletion of what nobody claims by then. */
  private adopt(): void {
    const s = this.state;
    const d = this.drTable;
    this.adopted = new Set([
      ...s.chains.keys(),
      ...s.positions.keys(),
      ...s.counterMaps.keys(),
      ...s.templates,
      ...s.counters,
      ...d.chains.keys(),
      ...d.tables.keys(),
      ...d.moved.keys(),
      ...d.flows,
      ...d.counters,
    ]);
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

/** Where a VS/DR service's links come from: a change of either derives them again. */
function linkSource(vs: VirtualService): string {
  return `${vs.spec.interface ?? ""}|${[...new Set(vs.realServers.map((rs) => rs.host))].sort().join(",")}`;
}

/** Why the kernel engine cannot forward a VS/DR service (one with a `forward: dr` real server), or null. */
function refuseDirectRouting(spec: VirtualServiceSpec): string | null {
  const dr = spec.realServers.filter((rs) => rs.forward === "dr");
  if (dr.length === 0) {
    if (spec.interface !== undefined) return "interface is for VS/DR services (real servers with forward: dr); VS/NAT follows the director's routes";
    return null;
  }
  const other = spec.realServers.find((rs) => rs.forward !== "dr");
  if (other)
    return `real servers ${dr[0]!.address} (dr) and ${other.address} (${other.forward}): a kernel service forwards either by VS/DR (frames at the interface, before the IP stack) or by VS/NAT (DNAT), not both; make them separate services`;
  if (!STATELESS.has(spec.scheduler))
    return `VS/DR needs a stateless scheduler: sh, dh or mh, not ${spec.scheduler} (the director sees only the client's half of each connection and keeps no connection table, so every packet of a connection must hash to the same real server)`;
  if (spec.persistence) return "persistence is not available with VS/DR in the kernel engine yet (sh keeps each client on one real server without it)";
  const vip = parseEndpoint(spec.address);
  const port = "error" in vip ? undefined : vip.port;
  for (const rs of dr) {
    const e = parseEndpoint(rs.address);
    if (!("error" in e) && e.port !== port)
      return `real server ${rs.address}: with VS/DR its port must be the virtual service's (${port}): the director changes only the MAC address, so the packet arrives with the VIP's port (IPVS cannot map ports with direct routing either; ipvsadm silently resets them)`;
  }
  return null;
}

/** The named counters of one of the agent's tables, by name. */
async function readCounters(family: "ip" | "netdev"): Promise<Map<string, { packets: number; bytes: number }>> {
  const json = JSON.parse(await nftOutput(["-j", "list", "counters", "table", family, TABLE])) as {
    nftables?: { counter?: { name: string; packets: number; bytes: number } }[];
  };
  const byName = new Map<string, { packets: number; bytes: number }>();
  for (const item of json.nftables ?? []) if (item.counter) byName.set(item.counter.name, item.counter);
  return byName;
}

/**
 * What the netdev table holds now (a previous agent's chains, maps, counters), or an empty state when there is none;
 * and the contents of its position maps (drc, dre: position → MAC), for its transitions to go on (dr.ts).
 */
async function readDrTable(): Promise<{ state: DrTableState; recovered: Map<string, Map<number, string>> }> {
  const state = emptyDrState();
  const recovered = new Map<string, Map<number, string>>();
  let json: NftJson;
  try {
    json = JSON.parse(await nftOutput(["-j", "-t", "list", "table", "netdev", DR_TABLE]));
  } catch {
    return { state, recovered }; // no table yet
  }
  for (const item of json.nftables ?? []) {
    const name = item.counter?.name ?? item.map?.name ?? item.chain?.name;
    if (!name) continue;
    if (item.counter) state.counters.add(name);
    else if (item.chain) state.chains.set(name, null);
    else if (name.startsWith("drc_")) state.tables.set(name, null);
    else if (name.startsWith("dre_")) state.moved.set(name, null);
    else if (name.startsWith("drf_")) state.flows.add(name);
  }
  for (const name of [...state.tables.keys(), ...state.moved.keys()]) {
    try {
      const m = JSON.parse(await nftOutput(["-j", "list", "map", "netdev", DR_TABLE, name])) as NftJson;
      const positions = new Map<number, string>();
      for (const item of m.nftables ?? []) for (const e of item.map?.elem ?? []) {
        const [p, mac] = e as [unknown, unknown];
        if (typeof p === "number" && typeof mac === "string") positions.set(p, mac);
      }
      if (positions.size > 0) recovered.set(name, positions);
    } catch {
      // gone meanwhile: nothing to recover
    }
  }
  return { state, recovered };
}

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
    else if (name.startsWith("h_") || name.startsWith("w_")) state.positions.set(name, null);
    else if (/^[cio]m_/.test(name)) state.counterMaps.set(name, null);
    else if (name.startsWith("p_")) state.templates.add(name);
  }
  return state;
}

/** The elements of a template map: key (client prefix) and value ("host . port"). */
async function listTemplates(map: string): Promise<{ key: string; value: string; expires: number }[]> {
  const json = JSON.parse(await nftOutput(["-j", "list", "map", "ip", TABLE, map])) as NftJson;
  const out: { key: string; value: string; expires: number }[] = [];
  for (const item of json.nftables ?? []) {
    for (const e of item.map?.elem ?? []) {
      const [k, v] = e as [string | { elem?: { val?: string; expires?: number } }, { concat?: [string, number] }];
      const key = typeof k === "string" ? k : k?.elem?.val;
      const value = v?.concat ? `${v.concat[0]} . ${v.concat[1]}` : undefined;
      const expires = typeof k === "string" ? 0 : (k?.elem?.expires ?? 0);
      if (key && value) out.push({ key, value, expires });
    }
  }
  return out;
}
