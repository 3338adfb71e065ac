/**
 * The kernel engine (nftables VS/NAT) in network namespaces made and removed by this test: a client, a director
 * running the real agent, and three real servers running nginx, on veth links. Needs root, iproute2, nftables
 * and nginx (npm test installs them).
 */
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inNs, Topology, waitFor } from "./helpers/netns.js";

const HOLD = fileURLToPath(new URL("./fixtures/hold-client.mjs", import.meta.url));
const TAG = `dk${process.pid % 100000}`;
const t = new Topology(TAG);
const NS = t.ns;
const VIP = "10.201.0.1";

const curl = () => inNs(NS.client, "curl", "-s", "--max-time", "3", `http://${VIP}/`).stdout.trim();

beforeAll(async () => {
  await t.create("director-kernel-");
  t.linkClient(["10.201.0.2/24"], `${VIP}/24`);
  // director <-> each real server; real servers route back through the director (VS/NAT)
  await t.startRealServers("10.202");
  t.writeConfig({
    api: { listen: "127.0.0.1:9443" },
    shutdownGraceSeconds: 1,
    virtualServices: [
      {
        address: `${VIP}:80`,
        engine: "kernel",
        scheduler: "wrr",
        healthCheck: { type: "http", path: "/", interval: 0.5, timeout: 0.5, rise: 1, fall: 2 },
        realServers: [
          { address: "10.202.1.2:80", weight: 2 },
          { address: "10.202.2.2:80", weight: 1 },
          { address: "10.202.3.2:80", weight: 1 },
        ],
      },
    ],
  });
  await t.startAgent();
}, 60_000);

afterAll(() => t.cleanup());

describe("kernel engine (nftables VS/NAT) in network namespaces", () => {
  it("programs its own table and spreads new connections by weight (wrr 2:1:1)", () => {
    const table = inNs(NS.director, "nft", "list", "table", "ip", "director").stdout;
    expect(table).toMatch(/dnat ip to numgen inc mod 4 map \{ 0-1 : 10\.202\.1\.2 \. 80, 2 : 10\.202\.2\.2 \. 80, 3 : 10\.202\.3\.2 \. 80 \}/);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 8; i++) {
      const who = curl();
      counts[who] = (counts[who] ?? 0) + 1;
    }
    expect(counts).toEqual({ rs1: 4, rs2: 2, rs3: 2 });
  });

  it("counts connections, packets and bytes per real server from nft counters (vsadm -L --stats)", async () => {
    type Svc = { realServers: { address: string; stats: { conns: number; inPkts: number; outBytes: number } }[] };
    let svc: Svc | undefined;
    await waitFor(() => {
      const r = t.vsadm("-L", "-n", "--json");
      if (r.status !== 0) return false;
      svc = (JSON.parse(r.stdout) as Svc[])[0];
      return svc!.realServers.reduce((n, rs) => n + rs.stats.conns, 0) >= 8;
    }, "the counters to reach the agent");
    expect(svc!.realServers.map((r) => r.stats.conns)).toEqual([4, 2, 2]);
    for (const rs of svc!.realServers) {
      expect(rs.stats.inPkts).toBeGreaterThanOrEqual(rs.stats.conns * 3); // SYN, ACK, request…
      expect(rs.stats.outBytes).toBeGreaterThan(rs.stats.conns * 100); // the responses
    }
    const stats = t.vsadm("-L", "-n", "--stats");
    expect(stats.stdout).toMatch(/-> 10\.202\.1\.2:80\s+4\s+\d+/);
  });

  it("drain: no new connections to the drained server; an established one keeps working (conntrack)", async () => {
    // Hold connections until one is on rs2.
    const holders: { proc: ChildProcess; lines: string[] }[] = [];
    let onRs2: (typeof holders)[number] | undefined;
    for (let i = 0; i < 4 && !onRs2; i++) {
      const proc = t.spawn(NS.client, process.execPath, [HOLD, VIP, "80"], { stdio: ["pipe", "pipe", "ignore"] });
      const h = { proc, lines: [] as string[] };
      proc.stdout!.setEncoding("utf8");
      proc.stdout!.on("data", (d: string) => h.lines.push(...d.trim().split("\n")));
      await waitFor(() => h.lines.length >= 1, "the held connection's first answer");
      holders.push(h);
      if (h.lines[0] === "rs2") onRs2 = h;
    }
    expect(onRs2).toBeDefined();
    // vsadm -Lc lists the kernel's connections (conntrack's), as ipvsadm -Lcn lists IPVS's.
    const lc = t.vsadm("-L", "-c", "-n");
    expect(lc.status, lc.stderr).toBe(0);
    expect(lc.stdout).toMatch(/^TCP \d+:\d\d +ESTABLISHED 10\.201\.0\.2:\d+ +10\.201\.0\.1:80 +10\.202\.2\.2:80 *$/m);
    expect(lc.stdout.split("\n").filter((l) => / ESTABLISHED /.test(l)).length).toBeGreaterThanOrEqual(holders.length);
    const r = t.vsadm("-e", "-t", `${VIP}:80`, "-r", "10.202.2.2:80", "--drain");
    expect(r.status, r.stderr).toBe(0);
    await waitFor(() => !inNs(NS.director, "nft", "list", "chain", "ip", "director", "s_tcp_10_201_0_1_80").stdout.includes("10.202.2.2"), "the DNAT map without rs2");
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) seen.add(curl());
    expect(seen).toEqual(new Set(["rs1", "rs3"]));
    onRs2!.proc.stdin!.write("again\n");
    await waitFor(() => onRs2!.lines.length >= 2, "the held connection's second answer");
    expect(onRs2!.lines[1]).toBe("rs2");
    for (const h of holders) h.proc.stdin!.end();
    const back = t.vsadm("-e", "-t", `${VIP}:80`, "-r", "10.202.2.2:80", "--activate");
    expect(back.status, back.stderr).toBe(0);
  });

  it("health: a real server that stops answering leaves the DNAT map, clients never reach it, and it comes back when it answers again", async () => {
    const inMap = () => inNs(NS.director, "nft", "list", "chain", "ip", "director", "s_tcp_10_201_0_1_80").stdout.includes("10.202.3.2");
    const health = () => {
      const r = t.vsadm("-L", "-n", "--json");
      const svc = JSON.parse(r.stdout)[0] as { realServers: { address: string; available: boolean; health?: { state: string } }[] };
      return svc.realServers.find((x) => x.address === "10.202.3.2:80")!;
    };
    expect(inMap()).toBe(true);
    // rs3's link goes down: its checks fail (fall 2 × 0.5 s).
    inNs(NS.rs[2]!, "ip", "link", "set", `${TAG}e3`, "down");
    await waitFor(() => !inMap(), "rs3 out of the DNAT map");
    expect(health()).toMatchObject({ available: false, health: { state: "down" } });
    const seen: Record<string, number> = {};
    for (let i = 0; i < 9; i++) {
      const who = curl();
      seen[who] = (seen[who] ?? 0) + 1;
    }
    expect(seen).toEqual({ rs1: 6, rs2: 3 }); // wrr 2:1 of what is left, and not one failure
    inNs(NS.rs[2]!, "ip", "link", "set", `${TAG}e3`, "up");
    // The link going down took rs3's default route (back through the director) with it.
    inNs(NS.rs[2]!, "ip", "route", "replace", "default", "via", "10.202.3.1");
    await waitFor(() => inMap(), "rs3 back in the DNAT map");
    expect(health()).toMatchObject({ available: true, health: { state: "up" } });
    const back = new Set<string>();
    for (let i = 0; i < 8; i++) back.add(curl());
    expect(back).toEqual(new Set(["rs1", "rs2", "rs3"]));
  });

  it("a reload asking the kernel engine for what it cannot do is refused whole; forwarding goes on", async () => {
    const good = fs.readFileSync(t.configFile, "utf8");
    const cfg = { virtualServices: [{ address: `${VIP}:80`, engine: "kernel", scheduler: "lblc", realServers: [{ address: "10.202.1.2:80" }] }], api: { listen: "127.0.0.1:9443" } };
    t.writeConfig(cfg);
    const from = t.out.length;
    process.kill(t.agent.pid!, "SIGHUP");
    await waitFor(() => t.out.slice(from).includes("reload rejected"), "the reload to be rejected");
    expect(t.out.slice(from)).toMatch(/scheduler lblc is not available in the kernel engine yet[^"]*use engine: userspace/);
    expect(inNs(NS.director, "nft", "list", "table", "ip", "director").stdout).toMatch(/10\.202\.3\.2/);
    expect(["rs1", "rs2", "rs3"]).toContain(curl());
    fs.writeFileSync(t.configFile, good);
  });

  it("wrr 4:3:2 sends nine new connections in IPVS wrr's order: A A B A B C A B C", async () => {
    for (const [rs, w] of [["10.202.1.2", 4], ["10.202.2.2", 3], ["10.202.3.2", 2]] as const)
      expect(t.vsadm("-e", "-t", `${VIP}:80`, "-r", `${rs}:80`, "-w", String(w)).status).toBe(0);
    const chain = () => inNs(NS.director, "nft", "list", "chain", "ip", "director", "s_tcp_10_201_0_1_80").stdout;
    await waitFor(() => chain().includes("numgen inc mod 9 map"), "the 4:3:2 round in the ruleset");
    const seq = Array.from({ length: 9 }, () => curl());
    expect(seq.join(" ")).toBe("rs1 rs1 rs2 rs1 rs2 rs3 rs1 rs2 rs3");
  });

  it("a large wrr round (200:100:1, 301 slots) lives in a named map; 301 new connections split exactly", async () => {
    for (const [rs, w] of [["10.202.1.2", 200], ["10.202.2.2", 100], ["10.202.3.2", 1]] as const)
      expect(t.vsadm("-e", "-t", `${VIP}:80`, "-r", `${rs}:80`, "-w", String(w)).status).toBe(0);
    const chain = () => inNs(NS.director, "nft", "list", "chain", "ip", "director", "s_tcp_10_201_0_1_80").stdout;
    await waitFor(() => chain().includes("numgen inc mod 301 map @w_tcp_10_201_0_1_80"), "the 301-slot round in its named map");
    // One curl, 301 URLs, a new connection each (the server closes after each answer).
    const out = inNs(NS.client, "curl", "-s", "--max-time", "20", "-H", "Connection: close", "-w", "\\n", ...Array<string>(301).fill(`http://${VIP}/`)).stdout;
    const counts: Record<string, number> = {};
    for (const who of out.split("\n").map((l) => l.trim()).filter((l) => l !== "")) counts[who] = (counts[who] ?? 0) + 1;
    expect(counts).toEqual({ rs1: 200, rs2: 100, rs3: 1 });
  });

  it("its table removed from outside (nft flush ruleset, as a firewall reload does) is put back by itself", async () => {
    const from = t.out.length;
    expect(inNs(NS.director, "nft", "flush", "ruleset").status).toBe(0);
    expect(inNs(NS.director, "nft", "list", "table", "ip", "director").status).not.toBe(0);
    await waitFor(() => inNs(NS.director, "nft", "list", "chain", "ip", "director", "s_tcp_10_201_0_1_80").stdout.includes("map @w_tcp_10_201_0_1_80"), "the table back");
    expect(t.out.slice(from)).toMatch(/removed from outside/);
    // Forwarding again (the round restarted: 200:100:1 sends its first hundred to rs1).
    expect(Array.from({ length: 3 }, () => curl())).toEqual(["rs1", "rs1", "rs1"]);
  });
});
