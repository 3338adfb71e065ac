/**
 * The kernel engine's full NAT (`forward: fullnat`, vsadm --fullnat) in network namespaces made and removed by this
 * test: real servers with no route beyond their own link (they cannot answer the client's address), so only the
 * director's source NAT lets their replies come back. Also the conntrack counts (ActiveConn) of a scheduler outside
 * the lc family. Needs root, iproute2, nftables, conntrack and nginx (npm test installs them).
 */
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inNs, Topology, waitFor } from "./helpers/netns.js";

const HOLD = fileURLToPath(new URL("./fixtures/hold-client.mjs", import.meta.url));
const t = new Topology(`df${process.pid % 100000}`);
const NS = t.ns;
const VIP = "10.231.0.1";
const SERVICE = `${VIP}:80`;
const RS = ["10.232.1.2:80", "10.232.2.2:80", "10.232.3.2:80"];

/** curl through the VIP from the client: body, and curl's exit code (28 = timed out). */
const curl = (path = "/", maxTime = "3") => {
  const r = inNs(NS.client, "curl", "-s", "--max-time", maxTime, `http://${VIP}${path}`);
  return { body: r.stdout.trim(), code: r.status };
};

type Listed = { realServers: { address: string; forward: string; weight: number; activeConns: number }[] };
const listed = (): Listed | undefined => {
  const r = t.vsadm("-L", "-n", "--json");
  return r.status === 0 ? (JSON.parse(r.stdout) as Listed[])[0] : undefined;
};

beforeAll(async () => {
  await t.create("director-fullnat-");
  t.linkClient(["10.231.0.2/24"], `${VIP}/24`);
  await t.startRealServers("10.232", false);
  t.writeConfig({
    api: { listen: "127.0.0.1:9443" },
    shutdownGraceSeconds: 1,
    virtualServices: [
      {
        address: SERVICE,
        engine: "kernel",
        scheduler: "rr",
        kernelReweightSeconds: 0.5,
        realServers: RS.map((address) => ({ address, forward: "fullnat" })),
      },
    ],
  });
  await t.startAgent();
}, 60_000);

afterAll(() => t.cleanup());

describe("kernel engine full NAT (real servers without a route back)", () => {
  it("the real servers really have no route to the client", () => {
    for (const ns of NS.rs) expect(inNs(ns, "ip", "route", "get", "10.231.0.2").status).not.toBe(0);
  });

  it("forwards to every real server, which sees the director's address on its link as the client", () => {
    const seen: Record<string, number> = {};
    for (let i = 0; i < 6; i++) {
      const r = curl();
      expect(r.code).toBe(0);
      seen[r.body] = (seen[r.body] ?? 0) + 1;
    }
    expect(seen).toEqual({ rs1: 2, rs2: 2, rs3: 2 });
    const sources = new Set<string>();
    for (let i = 0; i < 3; i++) sources.add(curl("/addr").body);
    expect(sources).toEqual(new Set(["10.232.1.1", "10.232.2.1", "10.232.3.1"]));
    expect(inNs(NS.director, "nft", "list", "chain", "ip", "director", "postrouting").stdout).toMatch(
      /ct status dnat ip daddr \. tcp dport \{ 10\.232\.1\.2 \. 80, 10\.232\.2\.2 \. 80, 10\.232\.3\.2 \. 80 \} masquerade/,
    );
    const l = t.vsadm("-L", "-n");
    expect(l.stdout).toMatch(/-> 10\.232\.1\.2:80\s+FullNat\s+1\s+/);
  });

  it("counts a held connection as active from conntrack (rr, not only the lc family)", async () => {
    const holder: { proc: ChildProcess; lines: string[] } = {
      proc: t.spawn(NS.client, process.execPath, [HOLD, VIP, "80"], { stdio: ["pipe", "pipe", "ignore"] }),
      lines: [],
    };
    holder.proc.stdout!.setEncoding("utf8");
    holder.proc.stdout!.on("data", (d: string) => holder.lines.push(...d.trim().split("\n")));
    await waitFor(() => holder.lines.length >= 1, "the held connection's first answer");
    const on = RS[Number(holder.lines[0]!.slice(2)) - 1]!;
    await waitFor(() => listed()?.realServers.find((r) => r.address === on)?.activeConns === 1, "ActiveConn 1 on the held connection's server");
    holder.proc.stdin!.end();
    await new Promise((resolve) => holder.proc.once("exit", resolve));
    // Closed: no longer active (conntrack keeps it as TIME_WAIT, an inactive connection, as IPVS would).
    await waitFor(() => listed()?.realServers.find((r) => r.address === on)?.activeConns === 0, "ActiveConn back to 0");
  });

  it("the source NAT is what makes it work: switched to plain NAT (-m) a real server's replies are lost; --fullnat again and they arrive", async () => {
    const edit = (...args: string[]) => {
      const r = t.vsadm("-e", "-t", SERVICE, ...args);
      expect(r.status, r.stderr).toBe(0);
    };
    const chainHas = (what: string) => inNs(NS.director, "nft", "list", "chain", "ip", "director", "postrouting").stdout.includes(what);
    // Only rs1 takes new connections, and by plain NAT.
    edit("-r", RS[1]!, "--fullnat", "-w", "0");
    edit("-r", RS[2]!, "--fullnat", "-w", "0");
    edit("-r", RS[0]!, "-m");
    await waitFor(() => !chainHas("10.232.1.2 . 80"), "rs1 out of the source NAT rule");
    expect(listed()!.realServers[0]!.forward).toBe("nat");
    expect(curl("/", "1").code).toBe(28); // the SYN reaches rs1; its SYN-ACK has no route back
    edit("-r", RS[0]!, "--fullnat");
    await waitFor(() => chainHas("10.232.1.2 . 80"), "rs1 in the source NAT rule again");
    expect(curl()).toEqual({ body: "rs1", code: 0 });
  });

  it("removing a real server leaves the service's totals; added again (from the trash) its own totals go on", async () => {
    type Stats = { stats: { conns: number }; realServers: { address: string; stats: { conns: number } }[] };
    const stats = (): Stats => JSON.parse(t.vsadm("-L", "-n", "--stats", "--json").stdout)[0];
    const before = stats();
    const rs3Before = before.realServers.find((r) => r.address === RS[2])!.stats.conns;
    expect(rs3Before).toBeGreaterThan(0);
    expect(t.vsadm("-d", "-t", SERVICE, "-r", RS[2]!).status).toBe(0);
    for (let i = 0; i < 2; i++) expect(curl().body).toBe("rs1");
    // Once the two new connections are counted, the service's totals are its listed servers' plus what the removed
    // one had counted (rs3 took nothing new since: weight 0).
    const sum = (x: Stats) => x.realServers.reduce((n, r) => n + r.stats.conns, 0);
    await waitFor(() => sum(stats()) >= sum(before) - rs3Before + 2, "the two new connections counted");
    const after = stats();
    expect(after.stats.conns).toBe(sum(after) + rs3Before);
    expect(t.vsadm("-a", "-t", SERVICE, "-r", RS[2]!, "--fullnat", "-w", "1").status).toBe(0);
    const bodies: string[] = [];
    for (let i = 0; i < 4; i++) bodies.push(curl().body);
    expect(bodies.filter((b) => b === "rs3")).toHaveLength(2);
    await waitFor(() => stats().realServers.find((r) => r.address === RS[2])?.stats.conns === rs3Before + 2, "rs3's totals to go on from where they were");
    const last = stats();
    expect(last.stats.conns).toBe(sum(last));
  });

  it("localAddresses: connections leave from the listed addresses in turn (IPVS FULLNAT's local addresses); one the host lacks is refused whole", async () => {
    // Two addresses on the director's lo; the real servers reach them through the director (and still not the client).
    for (const a of ["10.240.0.1/32", "10.240.0.2/32"]) expect(inNs(NS.director, "ip", "addr", "add", a, "dev", "lo").status).toBe(0);
    for (const [i, ns] of NS.rs.entries()) expect(inNs(ns, "ip", "route", "add", "10.240.0.0/24", "via", `10.232.${i + 1}.1`).status).toBe(0);
    const service = (localAddresses: string[]) => ({
      api: { listen: "127.0.0.1:9443" },
      shutdownGraceSeconds: 1,
      virtualServices: [{ address: SERVICE, engine: "kernel", scheduler: "rr", localAddresses, realServers: RS.map((address) => ({ address, forward: "fullnat" })) }],
    });
    const reload = (config: unknown) => {
      t.writeConfig(config);
      const from = t.out.length;
      process.kill(t.agent.pid!, "SIGHUP");
      return from;
    };
    reload(service(["10.240.0.1", "10.240.0.2"]));
    await waitFor(
      () => /snat (ip )?to numgen inc mod 2 map \{ 0 : 10\.240\.0\.1, 1 : 10\.240\.0\.2 \}/.test(inNs(NS.director, "nft", "list", "chain", "ip", "director", "postrouting").stdout),
      "the source NAT to the local addresses",
    );
    const sources = Array.from({ length: 6 }, () => curl("/addr").body);
    expect(new Set(sources)).toEqual(new Set(["10.240.0.1", "10.240.0.2"]));
    expect(sources.filter((a) => a === "10.240.0.1")).toHaveLength(3);
    // An address this host does not hold: the reload is refused whole, forwarding goes on as it was.
    const from = reload(service(["10.240.0.1", "10.240.0.9"]));
    await waitFor(() => t.out.slice(from).includes("reload rejected"), "the reload to be rejected");
    expect(t.out.slice(from)).toMatch(/local address 10\.240\.0\.9 is not an address of this host/);
    expect(["10.240.0.1", "10.240.0.2"]).toContain(curl("/addr").body);
  });
});

