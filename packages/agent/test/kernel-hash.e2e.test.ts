/**
 * The kernel engine's hashing schedulers (sh, dh, mh), persistence templates and the lc re-weighting from
 * conntrack, in network namespaces made and removed by this test: a client with many source addresses (two /24s
 * and more), a director running the real agent, three nginx real servers. The hashing schedulers are checked
 * client by client against the simulator (the same jhash, seed and table the agent programs), which is how we
 * know the kernel hashes as we compute. Needs root, iproute2, nftables, conntrack, curl and nginx.
 */
import { AgentConfig, type AgentConfigInput } from "@director/model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { destinationOf } from "../src/engine/kernel/simulate.js";
import type { VirtualService } from "../src/state/virtual-service.js";
import { inNs, ip, planOf, Topology, waitFor } from "./helpers/netns.js";

const t = new Topology(`kh${process.pid % 100000}`);
const NS = t.ns;
const VIP = "10.211.0.1";
/** Client source addresses: 16 in the VIP's /24, two in 10.213.0.0/24, one in 10.214.0.0/24. */
const CLIENTS = Array.from({ length: 16 }, (_, i) => `10.211.0.${10 + i}`);
const OTHER = ["10.213.0.10", "10.213.0.11"];
const THIRD = "10.214.0.10";
const RS = [1, 2, 3].map((i) => `10.212.${i}.2:80`);
const name = (address: string) => `rs${RS.indexOf(address) + 1}`;
const PORT = { sh: 80, mh: 81, persist: 82, lc: 83, dh: 84 };
const rsList = (over: Record<number, object> = {}) => RS.map((address, i) => ({ address, ...over[i] }));
const CONFIG: AgentConfigInput = {
  api: { listen: "127.0.0.1:9443" },
  shutdownGraceSeconds: 1,
  virtualServices: [
    { address: `${VIP}:${PORT.sh}`, engine: "kernel", scheduler: "sh", realServers: rsList() },
    { address: `${VIP}:${PORT.mh}`, engine: "kernel", scheduler: "mh", schedulerFlags: ["mh-fallback"], realServers: rsList() },
    { address: `${VIP}:${PORT.persist}`, engine: "kernel", scheduler: "rr", persistence: { timeout: 300, prefixLength: 24 }, realServers: rsList() },
    {
      address: `${VIP}:${PORT.lc}`,
      engine: "kernel",
      scheduler: "lc",
      kernelReweightSeconds: 1,
      realServers: rsList({ 1: { adminState: "draining" }, 2: { adminState: "draining" } }),
    },
    { address: `${VIP}:${PORT.dh}`, engine: "kernel", scheduler: "dh", realServers: rsList() },
  ],
};

const nftList = (...what: string[]) => inNs(NS.director, "nft", "list", ...what).stdout;
const vsadm = (...args: string[]) => {
  const r = t.vsadm(...args);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
};
/** One HTTP request from a source address; the answering real server's name. */
const curl = (src: string, port: number) => inNs(NS.client, "curl", "-s", "--max-time", "5", "--interface", src, `http://${VIP}:${port}/`).stdout.trim();

/** Where the agent's plan sends each source address now (the simulator), given the same service state. */
function predict(port: number, sources: string[], mutate?: (vs: VirtualService) => void): string[] {
  const spec = AgentConfig.parse(CONFIG).virtualServices.find((s) => s.address === `${VIP}:${port}`)!;
  const dispatch = planOf(spec, mutate);
  return sources.map((clientHost) => {
    const to = destinationOf(dispatch, { clientHost, vHost: VIP });
    return to ? name(to.address) : "refused";
  });
}

beforeAll(async () => {
  await t.create("director-khash-");
  t.linkClient(["10.211.0.2/24", ...CLIENTS.map((a) => `${a}/24`), ...[...OTHER, THIRD].map((a) => `${a}/32`)], `${VIP}/24`);
  for (const net of ["10.213.0.0/24", "10.214.0.0/24"]) ip("-n", NS.director, "route", "add", net, "via", "10.211.0.2");
  await t.startRealServers("10.212");
  t.writeConfig(CONFIG);
  await t.startAgent();
}, 60_000);

afterAll(() => t.cleanup());

describe("kernel engine: sh, dh, mh, persistence and lc in network namespaces", () => {
  it("sh: each client sticks to one real server, the one the simulator predicts; clients spread over all three", () => {
    expect(nftList("chain", "ip", "director", "s_tcp_10_211_0_1_80")).toMatch(/dnat ip to jhash ip saddr mod 256 seed 0xd9bf395d map \{ 0 : 10\.212\.1\.2 \. 80, 1 : 10\.212\.2\.2 \. 80/);
    const want = predict(PORT.sh, CLIENTS);
    const got = CLIENTS.map((src) => {
      const answers = new Set([curl(src, PORT.sh), curl(src, PORT.sh), curl(src, PORT.sh)]);
      expect(answers.size, `${src} answered by ${[...answers]}`).toBe(1);
      return [...answers][0];
    });
    expect(got).toEqual(want);
    expect(new Set(got)).toEqual(new Set(["rs1", "rs2", "rs3"]));
  });

  it("dh: every client goes to the real server of the VIP's bucket", () => {
    const want = predict(PORT.dh, CLIENTS.slice(0, 6));
    expect(new Set(want).size).toBe(1);
    expect(CLIENTS.slice(0, 6).map((src) => curl(src, PORT.dh))).toEqual(want);
  });

  it("mh (mh-fallback): draining one of three moves only that server's clients", async () => {
    const map = () => nftList("map", "ip", "director", "h_tcp_10_211_0_1_81");
    expect(map().match(/ : 10\.212\.\d\.2 \. 80/g)).toHaveLength(4093);
    const before = CLIENTS.map((src) => curl(src, PORT.mh));
    expect(before).toEqual(predict(PORT.mh, CLIENTS));
    expect(before).toContain("rs2");
    vsadm("-e", "-t", `${VIP}:${PORT.mh}`, "-r", RS[1]!, "--drain");
    await waitFor(() => !map().includes("10.212.2.2"), "rs2's positions to move");
    const after = CLIENTS.map((src) => curl(src, PORT.mh));
    expect(after).toEqual(
      predict(PORT.mh, CLIENTS, (vs) => {
        const rs = vs.realServers[1]!;
        rs.spec = { ...rs.spec, adminState: "draining" };
        rs.refresh();
      }),
    );
    CLIENTS.forEach((src, i) => {
      if (before[i] === "rs2") expect(["rs1", "rs3"], src).toContain(after[i]);
      else expect(after[i], src).toBe(before[i]);
    });
    vsadm("-e", "-t", `${VIP}:${PORT.mh}`, "-r", RS[1]!, "--activate");
  });

  it("persistence: a client prefix sticks to its real server, another prefix can go elsewhere; maintenance drops the templates", async () => {
    const P = "p_tcp_10_211_0_1_82_300_24";
    const first = curl(CLIENTS[0]!, PORT.persist);
    expect(["rs1", "rs2", "rs3"]).toContain(first);
    // rr would move on at every connection; the template keeps the whole /24 on one server.
    for (const src of [...CLIENTS.slice(0, 6), CLIENTS[0]!]) expect(curl(src, PORT.persist), src).toBe(first);
    const other = curl(OTHER[0]!, PORT.persist);
    expect(other).not.toBe(first); // the next rr slot
    expect(curl(OTHER[1]!, PORT.persist)).toBe(other);
    const templates = nftList("map", "ip", "director", P);
    expect(templates).toMatch(new RegExp(`10\\.211\\.0\\.0 expires \\S+ : ${RS[Number(first.slice(2)) - 1]!.replace(":", " . ").replaceAll(".", "\\.")}`));
    expect(templates).toMatch(/10\.213\.0\.0 expires/);
    // vsadm -Lc shows the templates as ipvsadm -Lcn shows IPVS's: state NONE, the client prefix with port 0.
    const firstRs = RS[Number(first.slice(2)) - 1]!;
    const lc = vsadm("-L", "-c", "-n");
    expect(lc).toMatch(new RegExp(`^TCP \\d+:\\d\\d +NONE +10\\.211\\.0\\.0:0 +${VIP.replaceAll(".", "\\.")}:${PORT.persist} +${firstRs.replaceAll(".", "\\.")} *$`, "m"));

    // Maintenance: the server's templates are removed; the prefix is scheduled again and sticks to the new choice.
    const firstAddress = RS[Number(first.slice(2)) - 1]!;
    vsadm("-e", "-t", `${VIP}:${PORT.persist}`, "-r", firstAddress, "--maintenance");
    await waitFor(() => !nftList("map", "ip", "director", P).includes("10.211.0.0"), "the template of 10.211.0.0/24 to go");
    const moved = curl(CLIENTS[1]!, PORT.persist);
    expect(["rs1", "rs2", "rs3"].filter((n) => n !== first)).toContain(moved);
    for (const src of CLIENTS.slice(0, 4)) expect(curl(src, PORT.persist)).toBe(moved);
    vsadm("-e", "-t", `${VIP}:${PORT.persist}`, "-r", firstAddress, "--activate");
  });

  it("persistence: a stale template (its server no longer honoured) is checked on use: dropped, then rescheduled", () => {
    const P = "p_tcp_10_211_0_1_82_300_24";
    const r = inNs(NS.director, "nft", "add", "element", "ip", "director", P, "{ 10.214.0.0 : 10.212.9.9 . 80 }");
    expect(r.status, r.stderr).toBe(0);
    // The first SYN goes to 10.212.9.9 by the template, is dropped after DNAT and takes the template with it;
    // the retransmission (≈1 s later) is scheduled by rr and records a fresh template.
    const got = curl(THIRD, PORT.persist);
    expect(["rs1", "rs2", "rs3"]).toContain(got);
    expect(nftList("map", "ip", "director", P)).toMatch(new RegExp(`10\\.214\\.0\\.0 expires \\S+ : 10\\.212\\.${got.slice(2)}\\.2 \\. 80`));
    expect(curl(THIRD, PORT.persist)).toBe(got);
  });

  it(
    "lc: connections held on one real server make new connections prefer the others after the re-weight period",
    async () => {
      const chain = () => nftList("chain", "ip", "director", "s_tcp_10_211_0_1_83");
      // Only rs1 is active: hold 16 connections there.
      const HELD = 16;
      const holder = t.spawn(
        NS.client,
        process.execPath,
        [
          "-e",
          `const net = require("net"); let n = 0;
           for (let i = 0; i < ${HELD}; i++) {
             const s = net.connect(${PORT.lc}, "${VIP}", () => s.write("GET / HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n"));
             s.setEncoding("latin1");
             s.on("data", (d) => { const body = d.split("\\r\\n\\r\\n")[1]; if (body) console.log(body.trim()); });
           }
           process.stdin.on("end", () => process.exit(0)); process.stdin.resume();`,
        ],
        { stdio: ["pipe", "pipe", "inherit"] },
      );
      const held: string[] = [];
      holder.stdout!.setEncoding("utf8");
      holder.stdout!.on("data", (d: string) => held.push(...d.trim().split("\n")));
      await waitFor(() => held.length >= HELD, "the held connections' answers");
      expect(new Set(held)).toEqual(new Set(["rs1"]));
      // conntrack counts them (vsadm shows the counts as ActiveConn)…
      type Svc = { address: string; realServers: { address: string; activeConns: number }[] };
      const active = () => (JSON.parse(vsadm("-L", "-n", "--json")) as Svc[]).find((s) => s.address === `${VIP}:${PORT.lc}`)!.realServers.map((r) => r.activeConns);
      await waitFor(() => active()[0] === HELD, "conntrack's count of rs1's connections");
      // … so once rs2 and rs3 take connections again, the re-weighted map leaves rs1 out until they catch up.
      vsadm("-e", "-t", `${VIP}:${PORT.lc}`, "-r", RS[1]!, "--activate");
      vsadm("-e", "-t", `${VIP}:${PORT.lc}`, "-r", RS[2]!, "--activate");
      await waitFor(() => /numgen random mod \d+ map \{ [^}]*10\.212\.2\.2[^}]*10\.212\.3\.2/.test(chain()), "the map with rs2 and rs3");
      expect(chain()).not.toContain("10.212.1.2");
      const fresh = Array.from({ length: 12 }, (_, i) => curl(CLIENTS[i]!, PORT.lc));
      expect(fresh.filter((n) => n === "rs1")).toEqual([]);
      // Released, the held connections turn inactive (TIME_WAIT counts 1, not 256) and rs1 is back in the map.
      holder.stdin!.end();
      await waitFor(() => chain().includes("10.212.1.2"), "rs1 back in the map", 20_000);
    },
    60_000,
  );

  it("a restarted agent takes the table over: templates and counters stay, nothing is duplicated", async () => {
    const P = "p_tcp_10_211_0_1_82_300_24";
    const templatesBefore = nftList("map", "ip", "director", P).match(/10\.21\d\.0\.0/g)!.sort();
    const conns = () => nftList("counters", "table", "ip", "director").match(/packets \d+/g)!.join();
    const countersBefore = conns();
    const exited = new Promise((r) => t.agent.once("exit", r));
    t.agent.kill("SIGTERM");
    await exited;
    // Forwarding goes on without the agent (the rules are the kernel's).
    expect(curl(CLIENTS[0]!, PORT.sh)).toBe(predict(PORT.sh, [CLIENTS[0]!])[0]);
    const agent = await t.startAgent("the agent again");
    expect(agent.exitCode).toBeNull();
    expect(nftList("map", "ip", "director", P).match(/10\.21\d\.0\.0/g)!.sort()).toEqual(templatesBefore);
    expect(conns().split(",").length).toBe(countersBefore.split(",").length);
    const table = nftList("table", "ip", "director");
    expect(table.match(/chain s_tcp_10_211_0_1_8\d \{/g)).toHaveLength(5);
    expect(table.match(/jump services/g)).toHaveLength(2);
    expect(nftList("map", "ip", "director", "h_tcp_10_211_0_1_81").match(/ : 10\.212\.\d\.2 \. 80/g)).toHaveLength(4093);
    for (const src of CLIENTS.slice(0, 4)) expect(curl(src, PORT.sh)).toBe(predict(PORT.sh, [src])[0]);
  });

  it("the agent logged no kernel engine error or warning", () => {
    const bad = t.out.split("\n").filter((l) => /"level":(40|50)/.test(l) && l.includes("kernel engine"));
    expect(bad).toEqual([]);
  });
});
