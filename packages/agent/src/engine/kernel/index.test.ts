import { type VirtualServiceInput, VirtualServiceSpec } from "@director/model";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ConnectionTable } from "../../conn/connection.js";
import { TemplateTable } from "../../conn/persistence.js";
import { KernelEngine } from "./index.js";

const engine = new KernelEngine({
  table: new ConnectionTable({ now: Date.now, lingerSeconds: () => 120, onIdle: () => {} }),
  templates: new TemplateTable(Date.now, () => false),
  now: Date.now,
  timeouts: () => ({ tcp: 900, tcpFin: 120, udp: 300 }),
  log: pino({ level: "silent" }),
});
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
  ] satisfies Partial<VirtualServiceInput>[])("takes $scheduler $schedulerFlags $persistence", (over) => {
    expect(engine.refuse(spec(over))).toBeNull();
  });

  it.each([
    { over: { scheduler: "lblc" }, why: /scheduler lblc is not available in the kernel engine yet \(rr, wrr, lc, wlc, sed, nq, sh, dh and mh are\); use engine: userspace/ },
    { over: { scheduler: "fo" }, why: /scheduler fo is not available/ },
    { over: { scheduler: "mh", realServers: servers(4094) }, why: /4093-position table: at most 4093 real servers \(this service has 4094\)/ },
    { over: { protocol: "udp", onePacket: true }, why: /one-packet scheduling/ },
    { over: { proxyProtocol: "v2" }, why: /cannot send a PROXY header/ },
    { over: { realServers: [{ address: "10.1.0.1:80", forward: "dr" }] }, why: /VS\/DR is not available/ },
    { over: { realServers: [{ address: "10.1.0.1:80", forward: "tun" }] }, why: /IPIP/ },
    { over: { address: "[2001:db8::1]:80", realServers: [{ address: "[2001:db8::2]:80" }] }, why: /IPv4/ },
  ] satisfies { over: Partial<VirtualServiceInput>; why: RegExp }[])("refuses: $why", ({ over, why }) => {
    expect(engine.refuse(spec(over))).toMatch(why);
  });
});
