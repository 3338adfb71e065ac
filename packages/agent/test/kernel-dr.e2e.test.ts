/**
 * The kernel engine's VS/DR (direct routing at the netdev ingress hook) on one real Ethernet segment, made and
 * removed by this test: a bridge in a "switch" namespace of its own, and on it a client (with many source
 * addresses), two directors each running the real agent with the same configuration, and three nginx real servers
 * prepared by scripts/dr-real-server.sh (the VIPs on lo, arp_ignore=1, arp_announce=2). The client routes the VIPs
 * through director A, and through B when the test moves the route. Checked: answers come from the real servers
 * straight to the client (the directors count the inbound half and never see a reply), the mh and sh choices are
 * the simulator's, both directors agree, a connection survives the move from A to B, and draining keeps a held
 * connection on its server while new ones avoid it. Needs root, iproute2, nftables, curl and nginx.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { AgentConfig, type AgentConfigInput } from "@director/model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { destinationOf } from "../src/engine/kernel/simulate.js";
import type { VirtualService } from "../src/state/virtual-service.js";
import { inNs, ip, planOf, Segment, tableCounters, waitFor } from "./helpers/netns.js";

const SCRIPT = fileURLToPath(new URL("../../../scripts/dr-real-server.sh", import.meta.url));
const TAG = `kdr${process.pid % 100000}`;
const NET = "10.231.0";
const A = `${NET}.2`;
const B = `${NET}.3`;
const CLIENT = `${NET}.10`;
/** More client source addresses, for the hashing to spread. */
const SOURCES = Array.from({ length: 16 }, (_, i) => `${NET}.${100 + i}`);
const RS_HOSTS = ["rs1", "rs2", "rs3"];
const RS = RS_HOSTS.map((_, i) => `${NET}.${11 + i}`);
const VIP_MH = "10.232.0.1";
const VIP_SH = "10.232.0.2";
const VIPS = "10.232.0.0/24";
const seg = new Segment(TAG, ["c", "da", "db", ...RS_HOSTS]);

const dr = (host: string) => ({ address: `${host}:80`, forward: "dr" as const });
const CONFIG: AgentConfigInput = {
  api: { listen: "127.0.0.1:9443" },
  shutdownGraceSeconds: 1,
  virtualServices: [
    { address: `${VIP_MH}:80`, engine: "kernel", scheduler: "mh", schedulerFlags: ["mh-fallback"], realServers: RS.map(dr) },
    {
      address: `${VIP_SH}:80`,
      engine: "kernel",
      scheduler: "sh",
      schedulerFlags: ["sh-port"],
      healthCheck: { type: "tcp", interval: 0.5, timeout: 0.5, rise: 1, fall: 2 },
      realServers: RS.map(dr),
    },
  ],
};
const SVC = { mh: "tcp_10_232_0_1_80", sh: "tcp_10_232_0_2_80" };
const name = (host: string) => RS_HOSTS[RS.indexOf(host)]!;
const counter = (svc: string, kind: "c" | "i", host: string) => `${kind}_${svc}__${host.replaceAll(".", "_")}_80`;

const nftIn = (host: string, ...args: string[]) => inNs(seg.ns(host), "nft", ...args);
/** The named counters of a director's netdev table: name → packets. */
const counters = (host: string) => tableCounters(seg.ns(host), "netdev");
const packets = (host: string, svc: string, rsHost: string) => counters(host).get(counter(svc, "i", rsHost)) ?? 0;
const vsadm = (host: string, ...args: string[]) => {
  const r = seg.vsadm(host, ...args);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
};
/** One HTTP request from a source address (and port); the answering real server's name, "" when none answered. */
const curl = (vip: string, src: string, port?: number) =>
  inNs(seg.ns("c"), "curl", "-s", "--max-time", "3", "--interface", src, ...(port ? ["--local-port", String(port)] : []), `http://${vip}/`).stdout.trim();
/** Moves the client's route to the VIPs to a director. */
const routeVia = (director: string) => ip("-n", seg.ns("c"), "route", "replace", VIPS, "via", director);

/** Where the agent's plan sends each flow (the simulator), given the same service state. */
function predict(vip: string, flows: { src: string; port?: number }[], mutate?: (vs: VirtualService) => void): string[] {
  const spec = AgentConfig.parse(CONFIG).virtualServices.find((s) => s.address === `${vip}:80`)!;
  const dispatch = planOf(spec, mutate);
  return flows.map((f) => {
    const to = destinationOf(dispatch, { clientHost: f.src, clientPort: f.port ?? 0, vHost: vip });
    return to ? name(to.host) : "refused";
  });
}

/** A client holding one HTTP keep-alive connection, asking every 100 ms and printing each answer. */
class Hold {
  readonly lines: string[] = [];
  readonly proc;
  constructor(vip: string, src: string) {
    this.proc = seg.spawn(
      "c",
      process.execPath,
      [
        "-e",
        `const net = require("net");
         const s = net.connect({ host: "${vip}", port: 80, localAddress: "${src}" }, () => { console.log("CONNECTED " + s.localPort); ask(); });
         const ask = () => s.write("GET / HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n");
         let buf = "";
         s.setEncoding("latin1");
         s.on("data", (d) => {
           buf += d;
           for (;;) {
             const i = buf.indexOf("\\r\\n\\r\\n");
             if (i < 0) break;
             const n = Number((/content-length: *(\\d+)/i.exec(buf.slice(0, i)) || [0, 0])[1]);
             if (buf.length < i + 4 + n) break;
             console.log("ANSWER " + buf.slice(i + 4, i + 4 + n).trim());
             buf = buf.slice(i + 4 + n);
             setTimeout(ask, 100);
           }
         });
         s.on("error", (e) => console.log("ERROR " + e.message));
         s.on("close", () => { console.log("CLOSED"); process.exit(0); });
         process.stdin.on("end", () => s.destroy()); process.stdin.resume();`,
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    this.proc.stdout!.setEncoding("utf8");
    let rest = "";
    this.proc.stdout!.on("data", (d: string) => {
      const parts = (rest + d).split("\n");
      rest = parts.pop()!;
      this.lines.push(...parts);
    });
  }
  answers(): string[] {
    return this.lines.filter((l) => l.startsWith("ANSWER ")).map((l) => l.slice(7));
  }
  get port(): number {
    return Number(this.lines.find((l) => l.startsWith("CONNECTED "))?.slice(10));
  }
  broken(): string[] {
    return this.lines.filter((l) => l === "CLOSED" || l.startsWith("ERROR"));
  }
  async more(n: number, what: string) {
    const want = this.answers().length + n;
    await waitFor(() => this.answers().length >= want || this.broken().length > 0, what);
    expect(this.broken()).toEqual([]);
  }
  async close() {
    const done = new Promise((r) => this.proc.once("exit", r));
    this.proc.stdin!.end();
    await done;
  }
}

beforeAll(async () => {
  await seg.create("director-kdr-");
  seg.addHost("c", [`${CLIENT}/24`, ...SOURCES.map((a) => `${a}/24`)]);
  seg.addHost("da", [`${A}/24`]);
  seg.addHost("db", [`${B}/24`]);
  RS_HOSTS.forEach((h, i) => {
    seg.addHost(h, [`${RS[i]}/24`]);
    const r = inNs(seg.ns(h), SCRIPT, "--dev", "eth0", VIP_MH, VIP_SH);
    if (r.status !== 0) throw new Error(`dr-real-server.sh on ${h}: ${r.stderr}`);
    seg.startNginx(h);
  });
  routeVia(A);
  // Replies would carry a VIP as source: counted if one ever reached a director's interface.
  for (const d of ["da", "db"]) {
    const w = spawnSync("ip", ["netns", "exec", seg.ns(d), "nft", "-f", "-"], {
      input: `add table netdev drwatch\nadd counter netdev drwatch replies\nadd chain netdev drwatch in { type filter hook ingress device "eth0" priority 10; policy accept; }\nadd rule netdev drwatch in ip saddr ${VIPS} counter name "replies"\n`,
      encoding: "utf8",
    });
    if (w.status !== 0) throw new Error(`watch table on ${d}: ${w.stderr}`);
  }
  const answers = (i: number) => inNs(seg.ns("c"), "curl", "-s", "--max-time", "1", `http://${RS[i]}/`).stdout.trim();
  await waitFor(() => RS_HOSTS.every((h, i) => answers(i) === h), "nginx real servers");
  await seg.startAgent("da", CONFIG);
  await seg.startAgent("db", CONFIG);
}, 60_000);

afterAll(() => seg.cleanup(), 30_000);

const drc = (host: string, svc: string) => nftIn(host, "list", "map", "netdev", "director", `drc_${svc}`).stdout;
const dre = (host: string, svc: string) => nftIn(host, "list", "map", "netdev", "director", `dre_${svc}`).stdout;
const drf = (host: string, svc: string) => nftIn(host, "list", "map", "netdev", "director", `drf_${svc}`).stdout;
const macOf = (ns: string) => JSON.parse(inNs(ns, "ip", "-j", "link", "show", "dev", "eth0").stdout)[0].address as string;

describe("kernel engine: VS/DR on one Ethernet segment with two directors", () => {
  it("dr-real-server.sh: the VIPs on lo, arp_ignore=1 and arp_announce=2 (all and eth0)", () => {
    for (const h of RS_HOSTS) {
      const lo = inNs(seg.ns(h), "ip", "-o", "-4", "addr", "show", "dev", "lo").stdout;
      expect(lo).toContain(`${VIP_MH}/32`);
      expect(lo).toContain(`${VIP_SH}/32`);
      const sysctl = inNs(seg.ns(h), "sysctl", "-n", "net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.all.arp_announce", "net.ipv4.conf.eth0.arp_ignore", "net.ipv4.conf.eth0.arp_announce");
      expect(sysctl.stdout.trim().split("\n")).toEqual(["1", "2", "1", "2"]);
    }
    // Nobody on the segment answers ARP for a VIP: the real servers hold it where ARP does not look.
    expect(inNs(seg.ns("c"), "ip", "neigh", "show", "to", VIP_MH).stdout.trim()).toBe("");
  });

  it("both directors hook the segment's interface, with the real servers' MAC addresses, and no VS/NAT table", async () => {
    const macs = RS_HOSTS.map((h) => macOf(seg.ns(h)));
    for (const d of ["da", "db"]) {
      await waitFor(() => macs.every((m) => drc(d, SVC.mh).includes(m)), `${d}'s table with the three MAC addresses`);
      const table = nftIn(d, "list", "table", "netdev", "director").stdout;
      expect(table).toMatch(/chain in_eth0 \{\s+type filter hook ingress device "eth0" priority filter; policy accept;/);
      expect(table).toContain(`ip daddr . meta l4proto . th dport vmap { ${VIP_MH} . tcp . 80 : jump dr_${SVC.mh}, ${VIP_SH} . tcp . 80 : jump dr_${SVC.sh} }`);
      expect(table).toContain(`ether saddr set ${macOf(seg.ns(d))} fwd to "eth0"`);
      expect(drc(d, SVC.mh).match(/ : ([0-9a-f]{2}:){5}[0-9a-f]{2}/g)).toHaveLength(4093);
      expect(drc(d, SVC.sh).match(/ : ([0-9a-f]{2}:){5}[0-9a-f]{2}/g)).toHaveLength(256);
      expect(nftIn(d, "list", "table", "ip", "director").status).not.toBe(0);
    }
    // The same configuration, the same table: the two directors send every client to the same real server.
    expect(drc("db", SVC.mh)).toBe(drc("da", SVC.mh));
    expect(drc("db", SVC.sh)).toBe(drc("da", SVC.sh));
  });

  it("mh: each client address is answered by the simulator's real server, through A and through B alike; replies never pass a director", async () => {
    const flows = SOURCES.map((src) => ({ src }));
    const want = predict(VIP_MH, flows);
    expect(new Set(want)).toEqual(new Set(RS_HOSTS));
    const before = RS.map((h) => packets("da", SVC.mh, h));
    const viaA = SOURCES.map((src) => curl(VIP_MH, src));
    expect(viaA).toEqual(want);
    // A forwarded them (new connections and packets per real server), B saw none of it.
    const after = RS.map((h) => packets("da", SVC.mh, h));
    RS.forEach((h, i) => {
      const n = want.filter((w) => w === name(h)).length;
      if (n > 0) expect(after[i]! - before[i]!, h).toBeGreaterThanOrEqual(n * 4); // SYN, ACK, request, FIN…
    });
    for (const h of RS) expect(packets("db", SVC.mh, h)).toBe(0);
    const conns = SOURCES.length;
    expect(RS.reduce((n, h) => n + (counters("da").get(counter(SVC.mh, "c", h)) ?? 0), 0)).toBeGreaterThanOrEqual(conns);

    // The agent reads the counters back (every 2 s): vsadm shows the new connections and inbound packets, no outbound.
    type Svc = { address: string; realServers: { address: string; stats: { conns: number; inPkts: number; outPkts: number } }[] };
    const shown = () => (JSON.parse(vsadm("da", "-L", "-n", "--stats", "--json")) as Svc[]).find((x) => x.address === `${VIP_MH}:80`)!.realServers;
    await waitFor(() => shown().reduce((n, r) => n + r.stats.conns, 0) >= conns, "vsadm to show the connections");
    expect(shown().every((r) => r.stats.outPkts === 0)).toBe(true);
    expect(shown().filter((r) => r.stats.inPkts > 0).map((r) => r.address).sort()).toEqual([...new Set(want)].map((n) => `${RS[RS_HOSTS.indexOf(n)]}:80`).sort());

    routeVia(B);
    try {
      expect(SOURCES.map((src) => curl(VIP_MH, src))).toEqual(want);
      expect(RS.reduce((n, h) => n + packets("db", SVC.mh, h), 0)).toBeGreaterThan(0);
    } finally {
      routeVia(A);
    }
    for (const d of ["da", "db"]) expect(nftIn(d, "list", "counter", "netdev", "drwatch", "replies").stdout).toMatch(/packets 0 bytes 0/);
  });

  it("sh with sh-port: one client's connections spread by source port, each to the simulator's real server", () => {
    const flows = Array.from({ length: 24 }, (_, i) => ({ src: CLIENT, port: 41000 + i }));
    const want = predict(VIP_SH, flows);
    expect(new Set(want).size).toBeGreaterThan(1);
    expect(flows.map((f) => curl(VIP_SH, f.src, f.port))).toEqual(want);
  });

  it("a TCP connection established through director A goes on unbroken, to the same real server, when the client's route moves to B", async () => {
    const hold = new Hold(VIP_MH, SOURCES[3]!);
    try {
      await hold.more(5, "answers through A");
      const rs = hold.answers()[0]!;
      expect(rs).toBe(predict(VIP_MH, [{ src: SOURCES[3]! }])[0]);
      const host = RS[RS_HOSTS.indexOf(rs)]!;
      const onB = packets("db", SVC.mh, host);
      routeVia(B);
      await waitFor(() => packets("db", SVC.mh, host) > onB + 5, "B to forward the connection's packets");
      await hold.more(10, "answers through B");
      // A sees the connection no more.
      const onA = packets("da", SVC.mh, host);
      await hold.more(5, "more answers through B");
      expect(packets("da", SVC.mh, host)).toBe(onA);
      expect(new Set(hold.answers())).toEqual(new Set([rs]));
      expect(hold.lines.filter((l) => l.startsWith("CONNECTED"))).toHaveLength(1);
      expect(hold.broken()).toEqual([]);
      // And back to A, still the same connection.
      routeVia(A);
      await waitFor(() => packets("da", SVC.mh, host) > onA + 5, "A to forward the connection's packets again");
      await hold.more(5, "answers through A again");
      expect(new Set(hold.answers())).toEqual(new Set([rs]));
    } finally {
      routeVia(A);
      await hold.close();
    }
  });

  it("drain: new connections avoid the drained server while a held connection to it goes on, through A and after the move to B", async () => {
    const hold = new Hold(VIP_MH, SOURCES[5]!);
    let drained = "";
    try {
      await hold.more(3, "the held connection's answers");
      drained = hold.answers()[0]!;
      const host = RS[RS_HOSTS.indexOf(drained)]!;
      const mac = macOf(seg.ns(drained));
      for (const d of ["da", "db"]) vsadm(d, "-e", "-t", `${VIP_MH}:80`, "-r", `${host}:80`, "--drain");
      for (const d of ["da", "db"]) {
        await waitFor(() => !drc(d, SVC.mh).includes(mac), `${d}: the drained server's positions to move`);
        // …and to be in transition, with the drained server as previous owner.
        expect(dre(d, SVC.mh)).toContain(mac);
      }
      // New connections: none to the drained server, each where the simulator sends it with the server drained.
      const want = predict(
        VIP_MH,
        SOURCES.map((src) => ({ src })),
        (vs) => {
          const rs = vs.byAddress.get(`${host}:80`)!;
          rs.spec = { ...rs.spec, adminState: "draining" };
          rs.refresh();
        },
      );
      expect(want).not.toContain(drained);
      expect(want).not.toContain("refused");
      const fresh = SOURCES.map((src) => curl(VIP_MH, src));
      expect(fresh).toEqual(want);
      // The held connection goes on, on its server; A recorded it (a flow older than the change at a moved position).
      await hold.more(5, "answers after the drain");
      expect(new Set(hold.answers())).toEqual(new Set([drained]));
      expect(drf("da", SVC.mh)).toMatch(new RegExp(`${SOURCES[5]!.replaceAll(".", "\\.")} \\. ${hold.port} (timeout \\S+ )?expires \\S+ : ${mac}`));
      // B never saw it: after the move B sends it to the previous owner too.
      routeVia(B);
      const onB = packets("db", SVC.mh, host);
      await waitFor(() => packets("db", SVC.mh, host) > onB + 3, "B to forward the held connection");
      await hold.more(5, "answers through B after the drain");
      expect(new Set(hold.answers())).toEqual(new Set([drained]));
      expect(hold.broken()).toEqual([]);
      // New connections through B avoid the drained server as well.
      expect(SOURCES.map((src) => curl(VIP_MH, src))).toEqual(want);
    } finally {
      routeVia(A);
      await hold.close();
      if (drained) for (const d of ["da", "db"]) vsadm(d, "-e", "-t", `${VIP_MH}:80`, "-r", `${RS[RS_HOSTS.indexOf(drained)]}:80`, "--activate");
    }
    // Activated again: the original table, and the transition is over.
    for (const d of ["da", "db"]) await waitFor(() => !/elements = /.test(dre(d, SVC.mh)), `${d}: the transition to end`);
    expect(SOURCES.map((src) => curl(VIP_MH, src))).toEqual(predict(VIP_MH, SOURCES.map((src) => ({ src }))));
  });

  it("a restarted agent takes its table over mid-transition: forwarding never stops, counters, records and the drain's previous owners stay", async () => {
    const hold = new Hold(VIP_MH, SOURCES[7]!);
    let host = "";
    try {
      await hold.more(3, "the held connection's answers");
      const rs = hold.answers()[0]!;
      host = RS[RS_HOSTS.indexOf(rs)]!;
      const mac = macOf(seg.ns(rs));
      vsadm("da", "-e", "-t", `${VIP_MH}:80`, "-r", `${host}:80`, "--drain");
      await waitFor(() => dre("da", SVC.mh).includes(mac), "the transition");
      await hold.more(2, "answers after the drain");
      const transition = dre("da", SVC.mh);
      const table = drc("da", SVC.mh);
      const records = drf("da", SVC.mh).match(/\d+\.\d+\.\d+\.\d+ \. \d+/g)!.sort();
      const total = () => [...counters("da").values()].reduce((a, b) => a + b, 0);
      const before = total();
      const agent = seg.agents.get("da")!;
      const exited = new Promise((r) => agent.once("exit", r));
      agent.kill("SIGTERM");
      await exited;
      // Without the agent the kernel goes on forwarding, the held connection included.
      const drained = predict(VIP_MH, SOURCES.map((src) => ({ src })), (vs) => {
        const r = vs.byAddress.get(`${host}:80`)!;
        r.spec = { ...r.spec, adminState: "draining" };
        r.refresh();
      });
      expect(SOURCES.map((src) => curl(VIP_MH, src))).toEqual(drained);
      await hold.more(3, "answers without the agent");
      await seg.startAgent("da", CONFIG);
      await hold.more(3, "answers after the restart");
      expect(new Set(hold.answers())).toEqual(new Set([rs]));
      expect(SOURCES.map((src) => curl(VIP_MH, src))).toEqual(drained);
      // The same table (an agent started during a drain builds the one that saw the drain begin), the same transition.
      expect(drc("da", SVC.mh)).toBe(table);
      expect(dre("da", SVC.mh)).toBe(transition);
      expect(drf("da", SVC.mh).match(/\d+\.\d+\.\d+\.\d+ \. \d+/g)!.sort()).toEqual(expect.arrayContaining(records));
      expect(total()).toBeGreaterThanOrEqual(before);
      const all = nftIn("da", "list", "table", "netdev", "director").stdout;
      expect(all.match(/chain dr_tcp_10_232_0_\d_80 \{/g)).toHaveLength(2);
      expect(all.match(/hook ingress/g)).toHaveLength(1);
    } finally {
      await hold.close();
      if (host) seg.vsadm("da", "-e", "-t", `${VIP_MH}:80`, "-r", `${host}:80`, "--activate");
    }
    await waitFor(() => !/elements = /.test(dre("da", SVC.mh)), "the transition to end");
  });

  it("sh without fallback: a drained server's buckets have no destination, and a new connection there is refused at once (ICMP port unreachable, as IPVS)", async () => {
    const flows = Array.from({ length: 24 }, (_, i) => ({ src: CLIENT, port: 42000 + i }));
    const want = predict(VIP_SH, flows);
    const victim = want[0]!;
    const host = RS[RS_HOSTS.indexOf(victim)]!;
    vsadm("da", "-e", "-t", `${VIP_SH}:80`, "-r", `${host}:80`, "--drain");
    try {
      await waitFor(() => !drc("da", SVC.sh).includes(macOf(seg.ns(victim))), "the drained server's buckets to empty");
      flows.forEach((f, i) => {
        const started = Date.now();
        const r = inNs(seg.ns("c"), "curl", "-s", "--max-time", "3", "--interface", f.src, "--local-port", String(f.port), `http://${VIP_SH}/`);
        if (want[i] === victim) {
          expect(r.status, `port ${f.port}`).toBe(7); // could not connect: refused, not timed out
          expect(Date.now() - started).toBeLessThan(2000);
        } else expect(r.stdout.trim(), `port ${f.port}`).toBe(want[i]);
      });
    } finally {
      vsadm("da", "-e", "-t", `${VIP_SH}:80`, "-r", `${host}:80`, "--activate");
    }
    await waitFor(() => drc("da", SVC.sh).includes(macOf(seg.ns(victim))), "the buckets back");
  });

  it("health: a real server that stops answering leaves both directors' tables, its clients go where the simulator sends them, and it comes back", async () => {
    const flows = Array.from({ length: 24 }, (_, i) => ({ src: CLIENT, port: 43000 + i }));
    const victim = "rs2";
    const host = RS[1]!;
    const mac = macOf(seg.ns(victim));
    expect(predict(VIP_SH, flows)).toContain(victim);
    ip("-n", seg.ns(victim), "link", "set", "eth0", "down");
    try {
      for (const d of ["da", "db"]) await waitFor(() => !drc(d, SVC.sh).includes(mac), `${d}: the failed server out of the table`);
      const want = predict(VIP_SH, flows, (vs) => {
        const rs = vs.byAddress.get(`${host}:80`)!;
        rs.healthy = false;
        rs.refresh();
      });
      expect(want).not.toContain(victim);
      expect(want).not.toContain("refused");
      expect(flows.map((f) => curl(VIP_SH, f.src, f.port))).toEqual(want);
    } finally {
      ip("-n", seg.ns(victim), "link", "set", "eth0", "up");
    }
    for (const d of ["da", "db"]) await waitFor(() => drc(d, SVC.sh).includes(mac), `${d}: the recovered server back in the table`);
    // Other source ports: the client still holds the ones above in TIME_WAIT.
    const later = flows.map((f) => ({ ...f, port: f.port + 1000 }));
    const back = predict(VIP_SH, later);
    expect(back).toContain(victim);
    expect(later.map((f) => curl(VIP_SH, f.src, f.port))).toEqual(back);
  });

  it("a real server's new MAC address is found in the neighbour table and the maps follow it", async () => {
    const h = "rs1";
    const old = macOf(seg.ns(h));
    const fresh = "02:00:5e:10:00:01";
    const src = SOURCES[predict(VIP_MH, SOURCES.map((s) => ({ src: s }))).indexOf(h)]!;
    const swap = async (to: string, from: string) => {
      ip("-n", seg.ns(h), "link", "set", "eth0", "address", to);
      // The director's entry would go stale and be probed in its own time; dropping it stands for that wait.
      ip("-n", seg.ns("da"), "neigh", "del", RS[0]!, "dev", "eth0");
      await waitFor(() => drc("da", SVC.mh).includes(to) && !drc("da", SVC.mh).includes(from), `director A's maps to follow ${to}`, 20_000);
    };
    try {
      await swap(fresh, old);
      expect(curl(VIP_MH, src)).toBe(h);
      // The log line is written beside the map update, not before it: wait for it rather than race the pipe.
      await waitFor(() => (seg.out.get("da") ?? "").includes("a VS/DR real server's MAC address changed"), "the MAC change to be logged", 5000);
    } finally {
      await swap(old, fresh);
    }
    expect(curl(VIP_MH, src)).toBe(h);
  });

  it("a real server off the director's segment refuses a new service (and VS/TUN stays refused); forwarding goes on", async () => {
    ip("-n", seg.ns("da"), "route", "add", "10.233.9.0/24", "via", CLIENT);
    const good = fs.readFileSync(seg.configFile("da"), "utf8");
    const reload = async (extra: object, what: RegExp) => {
      const cfg = { ...CONFIG, virtualServices: [...CONFIG.virtualServices!, extra] };
      fs.writeFileSync(seg.configFile("da"), JSON.stringify(cfg));
      const from = seg.out.get("da")!.length;
      process.kill(seg.agents.get("da")!.pid!, "SIGHUP");
      await waitFor(() => seg.out.get("da")!.slice(from).includes("reload rejected"), "the reload to be rejected");
      expect(seg.out.get("da")!.slice(from)).toMatch(what);
    };
    try {
      await reload(
        { address: "10.232.0.3:80", engine: "kernel", scheduler: "sh", realServers: [dr("10.233.9.5")] },
        /real server 10\.233\.9\.5:80 is reached through the gateway 10\.231\.0\.10 on eth0, not on a segment the director shares with it.*VS\/DR changes only the destination MAC address/,
      );
      await reload(
        { address: "10.232.0.3:80", engine: "kernel", scheduler: "sh", realServers: [{ address: `${RS[0]}:80`, forward: "tun" }] },
        /VS\/TUN needs IPIP tunnels, which this kernel does not have/,
      );
      expect(nftIn("da", "list", "table", "netdev", "director").stdout).not.toContain("10.232.0.3");
      expect(SOURCES.slice(0, 4).map((src) => curl(VIP_MH, src))).toEqual(predict(VIP_MH, SOURCES.slice(0, 4).map((src) => ({ src }))));
    } finally {
      fs.writeFileSync(seg.configFile("da"), good);
      ip("-n", seg.ns("da"), "route", "del", "10.233.9.0/24");
    }
  });

  it("dr-real-server.sh --undo: the VIPs leave lo and ARP answers as before", () => {
    const h = seg.ns("rs3");
    const r = inNs(h, SCRIPT, "--undo", "--dev", "eth0", VIP_MH, VIP_SH);
    expect(r.status, r.stderr).toBe(0);
    expect(inNs(h, "ip", "-o", "-4", "addr", "show", "dev", "lo").stdout).not.toMatch(/10\.232\.0\./);
    expect(inNs(h, "sysctl", "-n", "net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.all.arp_announce", "net.ipv4.conf.eth0.arp_ignore", "net.ipv4.conf.eth0.arp_announce").stdout.trim().split("\n")).toEqual([
      "0",
      "0",
      "0",
      "0",
    ]);
  });

  it("the agents logged no kernel engine error or warning", () => {
    for (const d of ["da", "db"]) {
      const bad = (seg.out.get(d) ?? "").split("\n").filter((l) => /"level":(40|50)/.test(l) && l.includes("kernel engine"));
      expect(bad, d).toEqual([]);
    }
  });
});
