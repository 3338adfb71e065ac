/**
 * Network-namespace topologies for the kernel engine's end-to-end tests: a client, a director running the real
 * agent (from dist/) and nginx real servers, on veth links, all made and removed by the test. Needs root,
 * iproute2 and nginx. Commands are argument arrays, never shell strings.
 */
import type { VirtualServiceSpec } from "@director/model";
import { follow, newServiceState, planService } from "../../src/engine/kernel/plan.js";
import type { Dispatch } from "../../src/engine/kernel/ruleset.js";
import { VirtualService } from "../../src/state/virtual-service.js";
import { type ChildProcess, execFileSync, type SpawnOptions, type SpawnSyncReturns, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";

const AGENT = fileURLToPath(new URL("../../dist/director-agent.js", import.meta.url));
const VSADM = fileURLToPath(new URL("../../dist/vsadm.js", import.meta.url));

/** `ip …` (in this namespace, or another with `-n NS`); throws, with ip's stderr, when it fails. */
export const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });

/** Runs a command to its end in a namespace (20 s at most). */
export const inNs = (ns: string, cmd: string, ...args: string[]): SpawnSyncReturns<string> =>
  spawnSync("ip", ["netns", "exec", ns, cmd, ...args], { encoding: "utf8", timeout: 20_000 });

/** Starts a command in a namespace (`ip netns exec` execs it: the child's pid is the command's). */
export const spawnInNs = (ns: string, cmd: string, args: string[], options: SpawnOptions): ChildProcess => spawn("ip", ["netns", "exec", ns, cmd, ...args], options);

/** Polls cond every 50 ms until it holds; throws after ms. */
export async function waitFor(cond: () => boolean, what: string, ms = 15_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Writes dir/NAME.conf, an nginx config (its own files under dir/NAME) for one real server listening on listen and
 * answering `GET /` with "NAME\n" and `GET /addr` with the client's address as it sees it; returns the config's path.
 */
export function nginxConfig(dir: string, name: string, listen: string): string {
  const own = path.join(dir, name);
  fs.mkdirSync(own);
  const conf = path.join(dir, `${name}.conf`);
  fs.writeFileSync(
    conf,
    `daemon off; worker_processes 1; pid ${own}/pid; error_log ${own}/err warn;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${own}/b; proxy_temp_path ${own}/p; fastcgi_temp_path ${own}/f; uwsgi_temp_path ${own}/u; scgi_temp_path ${own}/s;
  keepalive_timeout 65s;
  server { listen ${listen}; location = / { default_type text/plain; return 200 "${name}\\n"; }
    location = /addr { default_type text/plain; return 200 "$remote_addr\\n"; } } }
`,
  );
  return conf;
}

/** The processes running in a network namespace. */
export const pidsIn = (ns: string): number[] =>
  spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" })
    .stdout.split("\n")
    .filter((l) => /^\d+$/.test(l))
    .map(Number);

/**
 * Deletes network namespaces, first killing whatever still runs in them (what a crashed earlier run left: its
 * agent, nginx; a namespace with a process in it would live on after `ip netns del`). Only our own namespaces.
 */
export async function deleteNamespaces(names: Iterable<string>) {
  const all = [...names];
  const pids = all.flatMap(pidsIn);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  const gone = (pid: number) => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  };
  await waitFor(() => pids.every(gone), "the processes in the namespaces to end", 5_000).catch(() => {});
  for (const ns of all) spawnSync("ip", ["netns", "del", ns]);
}

/** Stops nginx masters and waits for them: SIGTERM, so that they take their workers with them (SIGKILL would orphan them). */
export async function stopNginx(masters: ChildProcess[]) {
  await Promise.all(
    masters.map((p) =>
      p.exitCode !== null || p.signalCode !== null
        ? null
        : new Promise<void>((resolve) => {
            p.once("exit", () => resolve());
            p.kill("SIGTERM");
          }),
    ),
  );
}

/**
 * Namespaces TAG-c (client), TAG-d (director) and TAG-r1… (real servers), and the veth links between them
 * (TAGc0–TAGd0, TAGxI–TAGeI). Call cleanup() in afterAll: it also removes whatever a failed set-up left.
 */
export class Topology {
  readonly ns: { client: string; director: string; rs: string[] };
  /** The temporary directory: nginx files, the agent's config (configFile) and state. */
  dir = "";
  /** The agent last started by startAgent. */
  agent!: ChildProcess;
  /** All the agents wrote (stdout and stderr), across restarts. */
  out = "";
  private readonly tag: string;
  /** Processes killed (SIGKILL) by cleanup. */
  private readonly procs: ChildProcess[] = [];
  /** nginx masters, stopped by cleanup with stopNginx. */
  private readonly nginxes: ChildProcess[] = [];

  constructor(tag: string, realServers = 3) {
    this.tag = tag;
    this.ns = { client: `${tag}-c`, director: `${tag}-d`, rs: Array.from({ length: realServers }, (_, k) => `${tag}-r${k + 1}`) };
  }

  get configFile() {
    return path.join(this.dir, "director.yaml");
  }

  /** Removes what an earlier run may have left, makes the temporary directory (dirPrefix…) and the namespaces. */
  async create(dirPrefix: string) {
    if (process.getuid?.() !== 0) throw new Error("the kernel engine test needs root (network namespaces, nftables)");
    await this.cleanup();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), dirPrefix));
    fs.chmodSync(this.dir, 0o755); // nginx workers run unprivileged and must read the files
    for (const ns of [this.ns.client, this.ns.director, ...this.ns.rs]) {
      ip("netns", "add", ns);
      ip("-n", ns, "link", "set", "lo", "up");
    }
  }

  /** The client–director link: the client's addresses and the director's, with prefix lengths; the director forwards. */
  linkClient(clientAddresses: string[], directorAddress: string) {
    const { tag, ns } = this;
    ip("link", "add", `${tag}c0`, "type", "veth", "peer", "name", `${tag}d0`);
    ip("link", "set", `${tag}c0`, "netns", ns.client);
    ip("link", "set", `${tag}d0`, "netns", ns.director);
    for (const a of clientAddresses) ip("-n", ns.client, "addr", "add", a, "dev", `${tag}c0`);
    ip("-n", ns.director, "addr", "add", directorAddress, "dev", `${tag}d0`);
    ip("-n", ns.client, "link", "set", `${tag}c0`, "up");
    ip("-n", ns.director, "link", "set", `${tag}d0`, "up");
    inNs(ns.director, "sysctl", "-qw", "net.ipv4.ip_forward=1");
  }

  /**
   * Real server I on NET.I.0/24 (NET as "10.202"): the director is NET.I.1, the server NET.I.2 and routes back through
   * the director (VS/NAT; with routeBack false it has no route beyond its link, as for full NAT); nginx on
   * NET.I.2:80 answers "rsI". Returns once every server answers the director.
   */
  async startRealServers(net: string, routeBack = true) {
    const { tag, ns } = this;
    ns.rs.forEach((rs, k) => {
      const i = k + 1;
      ip("link", "add", `${tag}x${i}`, "type", "veth", "peer", "name", `${tag}e${i}`);
      ip("link", "set", `${tag}x${i}`, "netns", ns.director);
      ip("link", "set", `${tag}e${i}`, "netns", rs);
      ip("-n", ns.director, "addr", "add", `${net}.${i}.1/24`, "dev", `${tag}x${i}`);
      ip("-n", rs, "addr", "add", `${net}.${i}.2/24`, "dev", `${tag}e${i}`);
      ip("-n", ns.director, "link", "set", `${tag}x${i}`, "up");
      ip("-n", rs, "link", "set", `${tag}e${i}`, "up");
      if (routeBack) ip("-n", rs, "route", "add", "default", "via", `${net}.${i}.1`);
      const conf = nginxConfig(this.dir, `rs${i}`, `${net}.${i}.2:80`);
      this.nginxes.push(spawnInNs(rs, "nginx", ["-c", conf], { stdio: "ignore" }));
    });
    const answers = (i: number) => inNs(ns.director, "curl", "-s", "--max-time", "1", `http://${net}.${i}.2/`).stdout.trim();
    await waitFor(() => ns.rs.every((_rs, k) => answers(k + 1) === `rs${k + 1}`), "nginx real servers");
  }

  /** Writes the agent's config file. */
  writeConfig(config: unknown) {
    fs.writeFileSync(this.configFile, stringify(config));
  }

  /** Starts a command in a namespace; cleanup kills it if it still runs. */
  spawn(ns: string, cmd: string, args: string[], options: SpawnOptions): ChildProcess {
    const p = spawnInNs(ns, cmd, args, options);
    this.procs.push(p);
    return p;
  }

  /** Starts the agent in the director namespace on configFile; returns once it says it started, throws if it exits. */
  async startAgent(what = "the agent"): Promise<ChildProcess> {
    const from = this.out.length;
    const agent = this.spawn(this.ns.director, process.execPath, [AGENT, "--config", this.configFile, "--state-dir", path.join(this.dir, "state")], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.agent = agent;
    agent.stdout!.on("data", (d) => {
      this.out += d;
    });
    agent.stderr!.on("data", (d) => {
      this.out += d;
    });
    await waitFor(() => this.out.slice(from).includes("director agent started") || agent.exitCode !== null, what);
    if (agent.exitCode !== null) throw new Error(`agent exited: ${this.out.slice(from)}`);
    return agent;
  }

  /** vsadm in the director namespace, on the agent's state directory. */
  vsadm(...args: string[]) {
    return inNs(this.ns.director, "env", `DIRECTOR_STATE_DIR=${this.dir}/state`, process.execPath, VSADM, ...args);
  }

  /** Kills the processes, stops nginx, deletes the namespaces (and with them the director's nft table) and the directory. */
  async cleanup() {
    for (const p of this.procs.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
    await stopNginx(this.nginxes.splice(0));
    await deleteNamespaces([this.ns.client, this.ns.director, ...this.ns.rs]);
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * One Ethernet segment for the VS/DR tests: a bridge in a namespace of its own (TAG-sw, the "switch": nothing is
 * bridged in the host's namespace) and hosts, namespace TAG-NAME each, with one interface eth0 on it (a veth
 * pair made directly in the two namespaces; the switch side is TAGpK). Hosts run nginx real servers, agents (each
 * with its own configuration and state directory) or clients. cleanup() removes everything, also what a failed
 * earlier run left.
 */
export class Segment {
  readonly switch: string;
  /** The temporary directory: nginx files, the agents' configurations and state. */
  dir = "";
  /** Each agent's output (stdout and stderr), by host. */
  readonly out = new Map<string, string>();
  readonly agents = new Map<string, ChildProcess>();
  private readonly hosts: string[] = [];
  private readonly procs: ChildProcess[] = [];
  private readonly nginxes: ChildProcess[] = [];

  constructor(
    private readonly tag: string,
    private readonly names: readonly string[],
  ) {
    this.switch = `${tag}-sw`;
  }

  /** The namespace of host NAME. */
  ns(name: string): string {
    return `${this.tag}-${name}`;
  }

  /** Removes what an earlier run may have left, makes the temporary directory, the switch and its bridge. */
  async create(dirPrefix: string) {
    if (process.getuid?.() !== 0) throw new Error("the VS/DR test needs root (network namespaces, nftables)");
    await this.cleanup();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), dirPrefix));
    fs.chmodSync(this.dir, 0o755);
    ip("netns", "add", this.switch);
    ip("-n", this.switch, "link", "add", "br0", "type", "bridge");
    ip("-n", this.switch, "link", "set", "br0", "up");
  }

  /** Host NAME on the segment with these addresses (with prefix lengths) on its eth0; returns its namespace. */
  addHost(name: string, addresses: string[]): string {
    const ns = this.ns(name);
    const port = `${this.tag}p${this.hosts.length}`;
    ip("netns", "add", ns);
    this.hosts.push(name);
    ip("-n", ns, "link", "set", "lo", "up");
    ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", this.switch);
    ip("-n", this.switch, "link", "set", port, "master", "br0");
    ip("-n", this.switch, "link", "set", port, "up");
    for (const a of addresses) ip("-n", ns, "addr", "add", a, "dev", "eth0");
    ip("-n", ns, "link", "set", "eth0", "up");
    return ns;
  }

  /** nginx on host NAME, listening on port 80 of every address (the VIPs on lo included), answering "NAME\n". */
  startNginx(name: string) {
    const conf = nginxConfig(this.dir, name, "80");
    this.nginxes.push(spawnInNs(this.ns(name), "nginx", ["-c", conf], { stdio: "ignore" }));
  }

  /** Starts a command in host NAME's namespace; cleanup kills it if it still runs. */
  spawn(name: string, cmd: string, args: string[], options: SpawnOptions): ChildProcess {
    const p = spawnInNs(this.ns(name), cmd, args, options);
    this.procs.push(p);
    return p;
  }

  configFile(name: string) {
    return path.join(this.dir, `${name}.yaml`);
  }

  /** Starts an agent on host NAME with `config`; returns once it says it started, throws if it exits. */
  async startAgent(name: string, config: unknown): Promise<ChildProcess> {
    fs.writeFileSync(this.configFile(name), stringify(config));
    const from = (this.out.get(name) ?? "").length;
    const agent = this.spawn(name, process.execPath, [AGENT, "--config", this.configFile(name), "--state-dir", path.join(this.dir, `${name}-state`)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.agents.set(name, agent);
    const add = (d: Buffer) => this.out.set(name, (this.out.get(name) ?? "") + d);
    agent.stdout!.on("data", add);
    agent.stderr!.on("data", add);
    const said = () => (this.out.get(name) ?? "").slice(from);
    await waitFor(() => said().includes("director agent started") || agent.exitCode !== null, `the agent on ${name}`);
    if (agent.exitCode !== null) throw new Error(`agent on ${name} exited: ${said()}`);
    return agent;
  }

  /** vsadm on host NAME, on its agent's state directory. */
  vsadm(name: string, ...args: string[]) {
    return inNs(this.ns(name), "env", `DIRECTOR_STATE_DIR=${this.dir}/${name}-state`, process.execPath, VSADM, ...args);
  }

  /** Kills the processes, stops nginx, deletes the hosts' namespaces and the switch's (with its bridge), and the directory. */
  async cleanup() {
    for (const p of this.procs.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    await stopNginx(this.nginxes.splice(0));
    await deleteNamespaces([...[...new Set([...this.names, ...this.hosts])].map((name) => this.ns(name)), this.switch]);
    this.hosts.length = 0;
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The kernel engine's plan for one service of a config, as a fresh agent would build it (optionally after a
 * change), for predicting where the kernel sends each flow.
 */
export function planOf(spec: VirtualServiceSpec, mutate?: (vs: VirtualService) => void): Dispatch {
  const vs = new VirtualService(spec, { now: Date.now, random: Math.random });
  const st = newServiceState();
  follow(vs, st);
  if (mutate) {
    mutate(vs);
    vs.schedulerUpdate();
    follow(vs, st);
  }
  return planService(vs, st, false).dispatch;
}

/** The named counters of a table in a namespace (`nft -j list counters table FAMILY director`): name → packets. */
export function tableCounters(ns: string, family: "ip" | "netdev"): Map<string, number> {
  const r = inNs(ns, "nft", "-j", "list", "counters", "table", family, "director");
  if (r.status !== 0) throw new Error(`nft list counters in ${ns}: ${r.stderr}`);
  const json = JSON.parse(r.stdout) as { nftables: { counter?: { name: string; packets: number } }[] };
  return new Map(json.nftables.flatMap((i) => (i.counter ? [[i.counter.name, i.counter.packets] as const] : [])));
}
