/**
 * What VS/DR needs to know about the director's links (dr.ts): through which interface each real server is reached
 * (and whether directly, on a shared segment), the interface's own MAC address, and each real server's MAC address
 * from the kernel's neighbour table. Read with iproute2's JSON output (`ip -j`), several questions per process
 * (`ip -batch -`), always as argument arrays, never through a shell. Behind an interface so the engine can be
 * tested without touching the machine's links (memoryLinks).
 */
import { execFile, spawn } from "node:child_process";

export interface Route {
  dev: string;
  /** The next hop when the destination is not on a directly connected segment. */
  gateway?: string;
  /** The destination is one of the director's own addresses. */
  local: boolean;
}

export interface Neighbour {
  mac?: string;
  /** The kernel's NUD state, e.g. REACHABLE, STALE, FAILED, INCOMPLETE, PERMANENT. */
  state: string;
}

export interface LinkLayer {
  /** `ip route get` for each host: its route, or absent when there is none. */
  routes(hosts: readonly string[]): Promise<Map<string, Route>>;
  /** The interface (other than lo) holding `host` as one of its addresses, if any. */
  holder(host: string): Promise<string | undefined>;
  /** The interface's own MAC address; throws when there is no such interface or it has no MAC address. */
  linkAddress(dev: string): Promise<string>;
  /** The neighbour table of `dev`, by IPv4 address. */
  neighbours(dev: string): Promise<Map<string, Neighbour>>;
  /**
   * Asks the kernel to resolve (or re-confirm) each host on `dev` as if it were about to send to it
   * (`ip neigh replace HOST dev DEV use`, NTF_USE): an unknown or failed entry starts an ARP request, a stale one
   * is re-probed. No packet is sent to the host itself.
   */
  probe(dev: string, hosts: readonly string[]): Promise<void>;
}

/** Neighbour states whose link-layer address the kernel itself would use. */
export const USABLE_STATES = new Set(["REACHABLE", "STALE", "DELAY", "PROBE", "PERMANENT", "NOARP"]);

const IP_TIMEOUT_MS = 5_000;

function ipJson(args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile("ip", ["-j", ...args], { timeout: IP_TIMEOUT_MS, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`ip ${args.join(" ")}: ${String(stderr).trim().split("\n")[0] || err.message}`));
      try {
        resolve(stdout.trim() ? JSON.parse(stdout) : []);
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** `ip -j -force -batch -` over `lines`: one JSON array per command that printed one (failed commands print none). */
function ipBatch(lines: string[], json: boolean): Promise<unknown[][]> {
  return new Promise((resolve, reject) => {
    const child = spawn("ip", [...(json ? ["-j"] : []), "-force", "-batch", "-"], { stdio: ["pipe", "pipe", "ignore"] });
    let out = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), IP_TIMEOUT_MS);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      out += d;
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", () => {
      clearTimeout(timer);
      // -force: a failed command (no route) is reported on stderr and the batch goes on; the exit status is then 1.
      const arrays: unknown[][] = [];
      for (const line of out.split("\n")) {
        const l = line.trim();
        if (!l.startsWith("[")) continue;
        try {
          arrays.push(JSON.parse(l) as unknown[]);
        } catch {
          // not one of ours
        }
      }
      resolve(arrays);
    });
    child.stdin.end(lines.map((l) => `${l}\n`).join(""));
  });
}

/** A host as iproute2 takes it: a dotted IPv4 address (the engine does IPv4), nothing a batch line could misread. */
function checkHost(host: string): string {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) throw new Error(`not an IPv4 address: ${host}`);
  return host;
}
function checkDev(dev: string): string {
  if (!/^[\w.-]{1,15}$/.test(dev)) throw new Error(`not an interface name: ${dev}`);
  return dev;
}

/** The real links, through iproute2. */
export const ipLinks: LinkLayer = {
  async routes(hosts) {
    const out = new Map<string, Route>();
    if (hosts.length === 0) return out;
    const arrays = await ipBatch(
      hosts.map((h) => `route get ${checkHost(h)}`),
      true,
    );
    for (const a of arrays) {
      for (const r of a as { dst?: string; dev?: string; gateway?: string; type?: string }[]) {
        if (!r.dst || !r.dev) continue;
        out.set(r.dst, { dev: r.dev, ...(r.gateway ? { gateway: r.gateway } : {}), local: r.type === "local" });
      }
    }
    return out;
  },

  async holder(host) {
    const links = (await ipJson(["-4", "addr", "show", "to", checkHost(host)])) as { ifname?: string }[];
    return links.map((l) => l.ifname).find((n): n is string => !!n && n !== "lo");
  },

  async linkAddress(dev) {
    const links = (await ipJson(["link", "show", "dev", checkDev(dev)])) as { address?: string; link_type?: string }[];
    const mac = links[0]?.address;
    if (!mac || links[0]?.link_type !== "ether") throw new Error(`interface ${dev} is not an Ethernet interface (VS/DR rewrites Ethernet addresses)`);
    return mac;
  },

  async neighbours(dev) {
    const entries = (await ipJson(["-4", "neigh", "show", "dev", checkDev(dev)])) as { dst?: string; lladdr?: string; state?: string[] }[];
    const out = new Map<string, Neighbour>();
    for (const e of entries) {
      if (!e.dst) continue;
      out.set(e.dst, { ...(e.lladdr ? { mac: e.lladdr } : {}), state: e.state?.[0] ?? "NONE" });
    }
    return out;
  },

  async probe(dev, hosts) {
    if (hosts.length === 0) return;
    checkDev(dev);
    await ipBatch(
      hosts.map((h) => `neigh replace ${checkHost(h)} dev ${dev} use`),
      false,
    );
  },
};

/**
 * Links in memory, for tests: `routes` and `macs` (host → MAC, what ARP would find) are read at each call, so a test
 * can change them; a neighbour is known once probed.
 */
export function memoryLinks(init: { routes: Record<string, Route>; macs: Record<string, string>; links: Record<string, string>; holders?: Record<string, string> }) {
  const known = new Map<string, Map<string, Neighbour>>();
  const probes: string[] = [];
  const links: LinkLayer & { probes: string[]; state: typeof init } = {
    state: init,
    probes,
    async routes(hosts) {
      return new Map(hosts.filter((h) => init.routes[h]).map((h) => [h, init.routes[h]!]));
    },
    async holder(host) {
      return init.holders?.[host];
    },
    async linkAddress(dev) {
      const mac = init.links[dev];
      if (!mac) throw new Error(`ip link show dev ${dev}: Device "${dev}" does not exist.`);
      return mac;
    },
    async neighbours(dev) {
      return new Map(known.get(dev) ?? []);
    },
    async probe(dev, hosts) {
      let table = known.get(dev);
      if (!table) known.set(dev, (table = new Map()));
      for (const h of hosts) {
        probes.push(h);
        const mac = init.macs[h];
        table.set(h, mac ? { mac, state: "REACHABLE" } : { state: "FAILED" });
      }
    },
  };
  return links;
}
