import { type VirtualServiceInput, VirtualServiceSpec } from "@director/model";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ConnectionTable } from "../../conn/connection.js";
import { TemplateTable } from "../../conn/persistence.js";
import { VirtualService } from "../../state/virtual-service.js";
import { KernelEngine } from "./index.js";
import { memoryLinks } from "./links.js";

const engine = new KernelEngine({
  table: new ConnectionTable({ now: Date.now, lingerSeconds: () => 120, onIdle: () => {} }),
  templates: new TemplateTable(Date.now, () => false),
  now: Date.now,
  timeouts: () => ({ tcp: 900, tcpFin: 120, udp: 300 }),
  log: pino({ level: "silent" }),
});
const dr = (address: string) => ({ address, forward: "dr" as const });
const servers = (n: number) => Array.from({ length: n }, (_, i) => ({ address: `10.1.${i >> 8}.${i & 255}:80` }));
const spec = (over: Partial<VirtualServiceInput>) =>
  VirtualServiceSpec.parse({ address: "10.0.0.1:80", engine: "kernel", realServers: [{ address: "10.1.0.1:80" }], ...over });

describe("kernel engine: what it takes and what it refuses", () => {
  it.each([
    { scheduler: "rr" },
    { scheduler: "wrr" },
    { scheduler: "lc" },
    { scheduler: "wlc", kernelReweightSeconds: 0.5 },
    { scheduler: "sed" },
    { scheduler: "nq", protocol: "udp" },
    { scheduler: "sh", schedulerFlags: ["sh-fallback", "sh-port"] },
    { scheduler: "dh" },
    { scheduler: "mh", schedulerFlags: ["mh-fallback", "mh-port"] },
    { scheduler: "rr", persistence: { timeout: 60, prefixLength: 24 } },
    { scheduler: "mh", realServers: servers(4093) },
    { scheduler: "mh", schedulerFlags: ["mh-fallback"], realServers: [dr("10.1.0.1:80"), dr("10.1.0.2:80")] },
    { scheduler: "sh", schedulerFlags: ["sh-port"], realServers: [dr("10.1.0.1:80")], interface: "eth0" },
    { scheduler: "dh", realServers: [dr("10.1.0.1:80")] },
    { scheduler: "mh", protocol: "udp", realServers: [dr("10.1.0.1:53")], address: "10.0.0.1:53" },
    { scheduler: "rr", localAddresses: ["127.0.0.9"], realServers: [{ address: "127.0.0.1:8080", forward: "fullnat" }] },
  ] satisfies Partial<VirtualServiceInput>[])("takes $scheduler $schedulerFlags $persistence", (over) => {
    expect(engine.refuse(spec(over))).toBeNull();
  });

  it.each([
    { over: { scheduler: "lblc" }, why: /scheduler lblc is not available in the kernel engine yet \(rr, wrr, lc, wlc, sed, nq, sh, dh and mh are\); use engine: userspace/ },
    { over: { scheduler: "fo" }, why: /scheduler fo is not available/ },
    { over: { scheduler: "mh", realServers: servers(4094) }, why: /4093-position table: at most 4093 real servers \(this service has 4094\)/ },
    { over: { protocol: "udp", onePacket: true }, why: /one-packet scheduling/ },
    { over: { proxyProtocol: "v2" }, why: /cannot send a PROXY header/ },
    {
      over: { realServers: [dr("10.1.0.1:80")] },
      why: /^VS\/DR needs a stateless scheduler: sh, dh or mh, not wlc \(the director sees only the client's half of each connection and keeps no connection table/,
    },
    { over: { scheduler: "rr", realServers: [dr("10.1.0.1:80")] }, why: /VS\/DR needs a stateless scheduler: sh, dh or mh, not rr/ },
    {
      over: { scheduler: "mh", realServers: [dr("10.1.0.1:80"), { address: "10.1.0.2:80" }] },
      why: /real servers 10\.1\.0\.1:80 \(dr\) and 10\.1\.0\.2:80 \(nat\): a kernel service forwards either by VS\/DR .* or by VS\/NAT \(DNAT\), not both/,
    },
    {
      over: { scheduler: "mh", realServers: [dr("10.1.0.1:8080")] },
      why: /real server 10\.1\.0\.1:8080: with VS\/DR its port must be the virtual service's \(80\).*IPVS cannot map ports with direct routing either/,
    },
    { over: { scheduler: "sh", persistence: { timeout: 60, prefixLength: 32 }, realServers: [dr("10.1.0.1:80")] }, why: /persistence is not available with VS\/DR/ },
    { over: { scheduler: "sh", interface: "eth0" }, why: /interface is for VS\/DR services/ },
    { over: { scheduler: "rr", localAddresses: ["192.0.2.77"] }, why: /^local address 192\.0\.2\.77 is not an address of this host/ },
    { over: { scheduler: "rr", localAddresses: ["127.0.0.9"] }, why: /^local address 127\.0\.0\.9 is a loopback address, which cannot reach real server 10\.1\.0\.1:80/ },
    { over: { realServers: [{ address: "10.1.0.1:80", forward: "tun" }] }, why: /VS\/TUN needs IPIP tunnels, which this kernel does not have/ },
    { over: { scheduler: "mh", realServers: [{ address: "10.1.0.1:80", forward: "tun" }, dr("10.1.0.2:80")] }, why: /VS\/TUN needs IPIP/ },
    { over: { address: "[2001:db8::1]:80", realServers: [{ address: "[2001:db8::2]:80" }] }, why: /IPv4/ },
  ] satisfies { over: Partial<VirtualServiceInput>; why: RegExp }[])("refuses: $why", ({ over, why }) => {
    expect(engine.refuse(spec(over))).toMatch(why);
  });
});

describe("kernel engine, VS/DR: a new service's real servers must be on the director's segment", () => {
  const ctx = {
    table: new ConnectionTable({ now: Date.now, lingerSeconds: () => 120, onIdle: () => {} }),
    templates: new TemplateTable(Date.now, () => false),
    now: Date.now,
    timeouts: () => ({ tcp: 900, tcpFin: 120, udp: 300 }),
    log: pino({ level: "silent" }),
  };
  const service = (hosts: string[]) =>
    new VirtualService(spec({ scheduler: "mh", realServers: hosts.map((h) => ({ address: `${h}:80`, forward: "dr" })) }), { now: Date.now, random: Math.random });
  const links = memoryLinks({
    routes: {
      "10.1.0.1": { dev: "eth0", local: false },
      "10.1.0.2": { dev: "eth0", local: false },
      "10.9.0.1": { dev: "eth0", gateway: "10.1.0.254", local: false },
      "10.1.1.1": { dev: "eth1", local: false },
      "10.0.0.9": { dev: "lo", local: true },
    },
    macs: {},
    links: { eth0: "02:00:00:00:00:01", eth1: "02:00:00:00:00:02" },
  });

  // Refused before any ruleset is written (no nft runs here).
  it.each([
    { hosts: ["10.1.0.1", "10.9.0.1"], why: /real server 10\.9\.0\.1:80 is reached through the gateway 10\.1\.0\.254 on eth0, not on a segment the director shares with it \(VS\/DR changes only the destination MAC address/ },
    { hosts: ["10.1.0.1", "10.1.0.2", "10.1.1.1"], why: /real server 10\.1\.1\.1:80 is on another interface than the service's other real servers \(eth0: 10\.1\.0\.1:80, 10\.1\.0\.2:80; eth1: 10\.1\.1\.1:80\)/ },
    { hosts: ["10.0.0.9"], why: /real server 10\.0\.0\.9:80 is an address of the director itself/ },
    { hosts: ["10.7.7.7"], why: /real server 10\.7\.7\.7:80: the director has no route to it/ },
  ])("refuses $hosts", async ({ hosts, why }) => {
    const engine = new KernelEngine(ctx, links);
    await expect(engine.open(service(hosts))).rejects.toThrow(why);
  });

  it("refuses an interface that does not exist", async () => {
    const engine = new KernelEngine(ctx, links);
    const vs = new VirtualService(spec({ scheduler: "sh", interface: "eth9", realServers: [{ address: "10.1.0.1:80", forward: "dr" }] }), { now: Date.now, random: Math.random });
    await expect(engine.open(vs)).rejects.toThrow(/eth9/);
  });
});
