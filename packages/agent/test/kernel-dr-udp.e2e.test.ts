/**
 * The kernel engine's VS/DR for UDP on one Ethernet segment made and removed by this test (a bridge, a client, two
 * directors running the real agent with the same configuration, three real servers prepared by
 * scripts/dr-real-server.sh with a UDP echo server bound to the VIP). UDP has no SYN, so every flow is recorded on
 * its first datagram, as IPVS makes a connection entry for it: checked that each flow is answered by the simulator's
 * real server straight from the VIP, through A and through B alike; that a flow seen before a drain stays on its
 * drained server while new flows avoid it; and that new flows, not datagrams, are counted as connections.
 * Needs root, iproute2 and nftables.
 */
import { fileURLToPath } from "node:url";
import { AgentConfig, type AgentConfigInput } from "@director/model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { destinationOf } from "../src/engine/kernel/simulate.js";
import type { VirtualService } from "../src/state/virtual-service.js";
import { inNs, ip, planOf, Segment, tableCounters, waitFor } from "./helpers/netns.js";

const SCRIPT = fileURLToPath(new URL("../../../scripts/dr-real-server.sh", import.meta.url));
const ECHO = fileURLToPath(new URL("./fixtures/udp-echo.mjs", import.meta.url));
const TAG = `kdu${process.pid % 100000}`;
const NET = "10.233.0";
const A = `${NET}.2`;
const B = `${NET}.3`;
const CLIENT = `${NET}.10`;
const RS_HOSTS = ["rs1", "rs2", "rs3"];
const RS = RS_HOSTS.map((_, i) => `${NET}.${11 + i}`);
const VIP = "10.234.0.1";
const SVC = "udp_10_234_0_1_53";
const seg = new Segment(TAG, ["c", "da", "db", ...RS_HOSTS]);

const CONFIG: AgentConfigInput = {
  api: { listen: "127.0.0.1:9443" },
  shutdownGraceSeconds: 1,
  virtualServices: [
    {
      address: `${VIP}:53`,
      protocol: "udp",
      engine: "kernel",
      scheduler: "mh",
      schedulerFlags: ["mh-port", "mh-fallback"],
      realServers: RS.map((h) => ({ address: `${h}:53`, forward: "dr" as const })),
    },
  ],
};
const name = (host: string) => RS_HOSTS[RS.indexOf(host)]!;
const routeVia = (director: string) => ip("-n", seg.ns("c"), "route", "replace", `${VIP}/32`, "via", director);

/** Where the agent's plan sends each client port's flow (the simulator). */
function predict(ports: number[], mutate?: (vs: VirtualService) => void): string[] {
  const spec = AgentConfig.parse(CONFIG).virtualServices[0]!;
  const dispatch = planOf(spec, mutate);
  return ports.map((port) => {
    const to = destinationOf(dispatch, { clientHost: CLIENT, clientPort: port, vHost: VIP });
    return to ? name(to.host) : "refused";
  });
}

/**
 * One datagram per client port, each from a socket bound to that port and connected to VIP:53 (so only a reply
 * from VIP:53 is taken); the answering real server per port, "" when none answered within a second.
 */
function ask(ports: number[]): string[] {
  const script = `
    const dgram = require("dgram");
    const ports = ${JSON.stringify(ports)};
    Promise.all(ports.map((port) => new Promise((resolve) => {
      const s = dgram.createSocket("udp4");
      const done = (v) => { clearTimeout(t); s.close(); resolve(v); };
      const t = setTimeout(() => done(""), 1000);
      s.on("message", (m) => done(m.toString().split(":")[0]));
      s.bind(port, "${CLIENT}", () => s.connect(53, "${VIP}", () => s.send("hi")));
    }))).then((r) => console.log(JSON.stringify(r)));`;
  const r = inNs(seg.ns("c"), process.execPath, "-e", script);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as string[];
}

const nftIn = (host: string, ...args: string[]) => inNs(seg.ns(host), "nft", ...args);
const counters = (host: string) => tableCounters(seg.ns(host), "netdev");
const sum = (host: string, kind: "c" | "i") => RS.reduce((n, h) => n + (counters(host).get(`${kind}_${SVC}__${h.replaceAll(".", "_")}_53`) ?? 0), 0);

beforeAll(async () => {
  await seg.create("director-kdu-");
  seg.addHost("c", [`${CLIENT}/24`]);
  seg.addHost("da", [`${A}/24`]);
  seg.addHost("db", [`${B}/24`]);
  RS_HOSTS.forEach((h, i) => {
    seg.addHost(h, [`${RS[i]}/24`]);
    const r = inNs(seg.ns(h), SCRIPT, "--dev", "eth0", VIP);
    if (r.status !== 0) throw new Error(`dr-real-server.sh on ${h}: ${r.stderr}`);
  });
  const ready = RS_HOSTS.map(
    (h) =>
      new Promise<void>((resolve, reject) => {
        const p = seg.spawn(h, process.execPath, [ECHO, "53", h, VIP], { stdio: ["ignore", "pipe", "inherit"] });
        p.stdout!.once("data", () => resolve());
        p.once("exit", (code) => reject(new Error(`udp echo on ${h} exited ${code}`)));
      }),
  );
  await Promise.all(ready);
  routeVia(A);
  await seg.startAgent("da", CONFIG);
  await seg.startAgent("db", CONFIG);
  const macs = RS_HOSTS.map((h) => JSON.parse(inNs(seg.ns(h), "ip", "-j", "link", "show", "dev", "eth0").stdout)[0].address as string);
  for (const d of ["da", "db"])
    await waitFor(() => {
      const m = nftIn(d, "list", "map", "netdev", "director", `drc_${SVC}`).stdout;
      return macs.every((mac) => m.includes(mac));
    }, `${d}'s table with the three MAC addresses`);
}, 60_000);

afterAll(() => seg.cleanup(), 30_000);

describe("kernel engine: VS/DR for UDP", () => {
  const ports = Array.from({ length: 24 }, (_, i) => 42000 + i);

  it("each flow is answered by the simulator's real server, straight from the VIP, through A and through B alike", () => {
    const want = predict(ports);
    expect(new Set(want)).toEqual(new Set(RS_HOSTS));
    expect(ask(ports)).toEqual(want);
    routeVia(B);
    try {
      expect(ask(ports)).toEqual(want);
    } finally {
      routeVia(A);
    }
  });

  it("counts new flows as connections (once each, their first datagram), every datagram as an inbound packet", () => {
    const fresh = Array.from({ length: 10 }, (_, i) => 43000 + i);
    const conns = sum("da", "c");
    const pkts = sum("da", "i");
    ask(fresh);
    expect(sum("da", "c") - conns).toBe(10);
    ask(fresh); // the same flows again: recorded, not new
    expect(sum("da", "c") - conns).toBe(10);
    expect(sum("da", "i") - pkts).toBe(20);
  });

  it("drain: a flow seen before stays on its drained server; new flows avoid it, as the simulator says", async () => {
    const want = predict(ports);
    const drained = want[0]!;
    const host = RS[RS_HOSTS.indexOf(drained)]!;
    const r = seg.vsadm("da", "-e", "-u", `${VIP}:53`, "-r", `${host}:53`, "-g", "--drain");
    expect(r.status, r.stderr).toBe(0);
    const mac = JSON.parse(inNs(seg.ns(drained), "ip", "-j", "link", "show", "dev", "eth0").stdout)[0].address as string;
    await waitFor(() => !nftIn("da", "list", "map", "netdev", "director", `drc_${SVC}`).stdout.includes(mac), "the drained server out of A's table");
    // The flows of the first test were recorded (within the UDP timeout): each stays where it was.
    expect(ask(ports)).toEqual(want);
    // New flows: where the table sends them now, never to the drained server.
    const fresh = Array.from({ length: 24 }, (_, i) => 44000 + i);
    const now = predict(fresh, (vs) => {
      const rs = vs.realServers.find((x) => x.host === host)!;
      rs.spec = { ...rs.spec, adminState: "draining" };
      rs.refresh();
    });
    expect(now).not.toContain(drained);
    expect(ask(fresh)).toEqual(now);
  });
});
