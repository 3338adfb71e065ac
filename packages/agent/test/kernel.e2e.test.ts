/**
 * The kernel engine (nftables VS/NAT) in network namespaces made and removed by this test: a client, a director
 * running the real agent, and three real servers running nginx, on veth links. Needs root, iproute2, nftables
 * and nginx (npm test installs them).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";

const AGENT = fileURLToPath(new URL("../dist/director-agent.js", import.meta.url));
const VSADM = fileURLToPath(new URL("../dist/vsadm.js", import.meta.url));
const HOLD = fileURLToPath(new URL("./fixtures/hold-client.mjs", import.meta.url));
const tag = `dk${process.pid % 100000}`;
const NS = { client: `${tag}-c`, director: `${tag}-d`, rs: [1, 2, 3].map((i) => `${tag}-r${i}`) };
const VIP = "10.201.0.1";
const procs: ChildProcess[] = [];
/** nginx masters (stopped with SIGTERM, so they take their workers with them). */
const nginxes: ChildProcess[] = [];
let dir: string;
let agent: ChildProcess;
let out = "";

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
const inNs = (ns: string, cmd: string, ...args: string[]) => spawnSync("ip", ["netns", "exec", ns, cmd, ...args], { encoding: "utf8", timeout: 20_000 });

async function cleanup() {
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
  // SIGKILL on an nginx master would orphan its workers: ask it to quit and wait for it.
  await Promise.all(
    nginxes.splice(0).map((p) =>
      p.exitCode !== null
        ? null
        : new Promise<void>((resolve) => {
            p.once("exit", () => resolve());
            p.kill("SIGTERM");
          }),
    ),
  );
  for (const ns of [NS.client, NS.director, ...NS.rs]) spawnSync("ip", ["netns", "del", ns]);
}

async function waitFor(cond: () => boolean, what: string, ms = 15_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const curl = () => inNs(NS.client, "curl", "-s", "--max-time", "3", `http://${VIP}/`).stdout.trim();
const vsadm = (...args: string[]) => inNs(NS.director, "env", `DIRECTOR_STATE_DIR=${dir}/state`, process.execPath, VSADM, ...args);

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("the kernel engine test needs root (network namespaces, nftables)");
  await cleanup();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-kernel-"));
  fs.chmodSync(dir, 0o755);
  for (const ns of [NS.client, NS.director, ...NS.rs]) {
    ip("netns", "add", ns);
    ip("-n", ns, "link", "set", "lo", "up");
  }
  // client <-> director
  ip("link", "add", `${tag}c0`, "type", "veth", "peer", "name", `${tag}d0`);
  ip("link", "set", `${tag}c0`, "netns", NS.client);
  ip("link", "set", `${tag}d0`, "netns", NS.director);
  ip("-n", NS.client, "addr", "add", "10.201.0.2/24", "dev", `${tag}c0`);
  ip("-n", NS.director, "addr", "add", `${VIP}/24`, "dev", `${tag}d0`);
  ip("-n", NS.client, "link", "set", `${tag}c0`, "up");
  ip("-n", NS.director, "link", "set", `${tag}d0`, "up");
  inNs(NS.director, "sysctl", "-qw", "net.ipv4.ip_forward=1");
  // director <-> each real server; real servers route back through the director (VS/NAT)
  NS.rs.forEach((ns, k) => {
    const i = k + 1;
    ip("link", "add", `${tag}x${i}`, "type", "veth", "peer", "name", `${tag}e${i}`);
    ip("link", "set", `${tag}x${i}`, "netns", NS.director);
    ip("link", "set", `${tag}e${i}`, "netns", ns);
    ip("-n", NS.director, "addr", "add", `10.202.${i}.1/24`, "dev", `${tag}x${i}`);
    ip("-n", ns, "addr", "add", `10.202.${i}.2/24`, "dev", `${tag}e${i}`);
    ip("-n", NS.director, "link", "set", `${tag}x${i}`, "up");
    ip("-n", ns, "link", "set", `${tag}e${i}`, "up");
    ip("-n", ns, "route", "add", "default", "via", `10.202.${i}.1`);
    const conf = path.join(dir, `rs${i}.conf`);
    fs.mkdirSync(path.join(dir, `rs${i}`));
    fs.writeFileSync(
      conf,
      `daemon off; worker_processes 1; pid ${dir}/rs${i}/pid; error_log ${dir}/rs${i}/err warn;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${dir}/rs${i}/b; proxy_temp_path ${dir}/rs${i}/p; fastcgi_temp_path ${dir}/rs${i}/f; uwsgi_temp_path ${dir}/rs${i}/u; scgi_temp_path ${dir}/rs${i}/s;
  keepalive_timeout 65s;
  server { listen 10.202.${i}.2:80; location = / { default_type text/plain; return 200 "rs${i}\\n"; } } }
`,
    );
    nginxes.push(spawn("ip", ["netns", "exec", ns, "nginx", "-c", conf], { stdio: "ignore" }));
  });
  await waitFor(() => NS.rs.every((ns, k) => inNs(NS.director, "curl", "-s", "--max-time", "1", `http://10.202.${k + 1}.2/`).stdout.trim() === `rs${k + 1}`), "nginx real servers");
  fs.writeFileSync(
    path.join(dir, "director.yaml"),
    stringify({
      api: { listen: "127.0.0.1:9443" },
      shutdownGraceSeconds: 1,
      virtualServices: [
        {
          address: `${VIP}:80`,
          engine: "kernel",
          scheduler: "wrr",
          realServers: [
            { address: "10.202.1.2:80", weight: 2 },
            { address: "10.202.2.2:80", weight: 1 },
            { address: "10.202.3.2:80", weight: 1 },
          ],
        },
      ],
    }),
  );
  agent = spawn("ip", ["netns", "exec", NS.director, process.execPath, AGENT, "--config", path.join(dir, "director.yaml"), "--state-dir", path.join(dir, "state")], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  procs.push(agent);
  agent.stdout!.on("data", (d) => {
    out += d;
  });
  agent.stderr!.on("data", (d) => {
    out += d;
  });
  await waitFor(() => out.includes("director agent started") || agent.exitCode !== null, "the agent");
  if (agent.exitCode !== null) throw new Error(`agent exited: ${out}`);
}, 60_000);

afterAll(async () => {
  await cleanup();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

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
      const r = vsadm("-L", "-n", "--json");
      if (r.status !== 0) return false;
      svc = (JSON.parse(r.stdout) as Svc[])[0];
      return svc!.realServers.reduce((n, rs) => n + rs.stats.conns, 0) >= 8;
    }, "the counters to reach the agent");
    expect(svc!.realServers.map((r) => r.stats.conns)).toEqual([4, 2, 2]);
    for (const rs of svc!.realServers) {
      expect(rs.stats.inPkts).toBeGreaterThanOrEqual(rs.stats.conns * 3); // SYN, ACK, request…
      expect(rs.stats.outBytes).toBeGreaterThan(rs.stats.conns * 100); // the responses
    }
    const stats = vsadm("-L", "-n", "--stats");
    expect(stats.stdout).toMatch(/-> 10\.202\.1\.2:80\s+4\s+\d+/);
  });

  it("drain: no new connections to the drained server; an established one keeps working (conntrack)", async () => {
    // Hold connections until one is on rs2.
    const holders: { proc: ChildProcess; lines: string[] }[] = [];
    let onRs2: (typeof holders)[number] | undefined;
    for (let i = 0; i < 4 && !onRs2; i++) {
      const proc = spawn("ip", ["netns", "exec", NS.client, process.execPath, HOLD, VIP, "80"], { stdio: ["pipe", "pipe", "ignore"] });
      procs.push(proc);
      const h = { proc, lines: [] as string[] };
      proc.stdout!.setEncoding("utf8");
      proc.stdout!.on("data", (d: string) => h.lines.push(...d.trim().split("\n")));
      await waitFor(() => h.lines.length >= 1, "the held connection's first answer");
      holders.push(h);
      if (h.lines[0] === "rs2") onRs2 = h;
    }
    expect(onRs2).toBeDefined();
    const r = vsadm("-e", "-t", `${VIP}:80`, "-r", "10.202.2.2:80", "--drain");
    expect(r.status, r.stderr).toBe(0);
    await waitFor(() => !inNs(NS.director, "nft", "list", "chain", "ip", "director", "services").stdout.includes("10.202.2.2"), "the DNAT map without rs2");
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) seen.add(curl());
    expect(seen).toEqual(new Set(["rs1", "rs3"]));
    onRs2!.proc.stdin!.write("again\n");
    await waitFor(() => onRs2!.lines.length >= 2, "the held connection's second answer");
    expect(onRs2!.lines[1]).toBe("rs2");
    for (const h of holders) h.proc.stdin!.end();
    const back = vsadm("-e", "-t", `${VIP}:80`, "-r", "10.202.2.2:80", "--activate");
    expect(back.status, back.stderr).toBe(0);
  });

  it("a reload asking the kernel engine for what it cannot do is refused whole; forwarding goes on", async () => {
    const good = fs.readFileSync(path.join(dir, "director.yaml"), "utf8");
    const cfg = { virtualServices: [{ address: `${VIP}:80`, engine: "kernel", scheduler: "sh", realServers: [{ address: "10.202.1.2:80" }] }], api: { listen: "127.0.0.1:9443" } };
    fs.writeFileSync(path.join(dir, "director.yaml"), stringify(cfg));
    const from = out.length;
    process.kill(agent.pid!, "SIGHUP");
    await waitFor(() => out.slice(from).includes("reload rejected"), "the reload to be rejected");
    expect(out.slice(from)).toMatch(/scheduler sh is not available in the kernel engine yet[^"]*use engine: userspace/);
    expect(inNs(NS.director, "nft", "list", "table", "ip", "director").stdout).toMatch(/10\.202\.3\.2/);
    expect(["rs1", "rs2", "rs3"]).toContain(curl());
    fs.writeFileSync(path.join(dir, "director.yaml"), good);
  });
});
