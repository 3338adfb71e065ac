/**
 * UDP through the userspace engine against real UDP echo processes: per-flow sessions (a client flow stays on
 * one real server and is counted as an inactive connection), one-packet scheduling (each datagram scheduled on
 * its own), and the idle timeout.
 */
import { type ChildProcess, spawn } from "node:child_process";
import dgram from "node:dgram";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestAgent, type TestAgent, until } from "./helpers/agent.js";
import { udpAsk } from "./helpers/clients.js";
import { freePort } from "./helpers/ports.js";

const echoes: ChildProcess[] = [];
let rs: string[] = [];
let t: TestAgent | undefined;
let vip: number;

beforeAll(async () => {
  const ports = [await freePort(), await freePort()];
  rs = ports.map((p) => `127.0.0.1:${p}`);
  await Promise.all(
    ports.map(
      (p, i) =>
        new Promise<void>((resolve, reject) => {
          const c = spawn(process.execPath, [fileURLToPath(new URL("./fixtures/udp-echo.mjs", import.meta.url)), String(p), `U${i}`], { stdio: ["ignore", "pipe", "inherit"] });
          echoes.push(c);
          c.stdout!.once("data", () => resolve());
          c.once("exit", (code) => reject(new Error(`udp echo exited ${code}`)));
        }),
    ),
  );
});
afterAll(() => {
  for (const c of echoes) c.kill("SIGTERM");
});
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function udpService(onePacket: boolean, udpTimeout = 300) {
  vip = await freePort();
  t = await startTestAgent({
    timeouts: { tcp: 900, tcpFin: 120, udp: udpTimeout },
    virtualServices: [{ protocol: "udp", address: `127.0.0.1:${vip}`, scheduler: "rr", onePacket, realServers: rs.map((address) => ({ address, weight: 1 })) }],
  });
}

describe("UDP", () => {
  it("keeps a client flow on one real server (a session), spreads flows with rr, counts sessions as inactive", async () => {
    await udpService(false);
    const a = dgram.createSocket("udp4");
    const b = dgram.createSocket("udp4");
    try {
      const first = (await udpAsk(vip, "x", a)).split(":")[0];
      for (let i = 0; i < 4; i++) expect(await udpAsk(vip, `m${i}`, a)).toBe(`${first}:m${i}`);
      const other = (await udpAsk(vip, "y", b)).split(":")[0];
      expect(other).not.toBe(first);
      const [svc] = await t!.client.service.list.query({});
      expect(svc!.realServers.map((r) => [r.activeConns, r.inactiveConns])).toEqual([
        [0, 1],
        [0, 1],
      ]);
      expect(svc!.stats.conns).toBe(2);
      expect(svc!.stats.inPkts).toBe(6);
      expect(svc!.stats.outPkts).toBe(6);
      const entries = await t!.client.connection.list.query({});
      expect(entries.filter((e) => e.protocol === "udp" && e.state === "UDP")).toHaveLength(2);
    } finally {
      a.close();
      b.close();
    }
  });

  it("one-packet scheduling: every datagram of one flow is scheduled on its own", async () => {
    await udpService(true);
    const a = dgram.createSocket("udp4");
    try {
      const seen: string[] = [];
      for (let i = 0; i < 4; i++) seen.push((await udpAsk(vip, `p${i}`, a)).split(":")[0]!);
      expect(seen).toEqual(["U0", "U1", "U0", "U1"]);
      const [svc] = await t!.client.service.list.query({});
      expect(svc!.stats.conns).toBe(4);
      expect(svc!.realServers.every((r) => r.inactiveConns === 0 && r.activeConns === 0)).toBe(true);
    } finally {
      a.close();
    }
  });

  it("ends an idle session after the udp timeout and releases its counter", async () => {
    await udpService(false, 1);
    const a = dgram.createSocket("udp4");
    try {
      await udpAsk(vip, "hello", a);
      let [svc] = await t!.client.service.list.query({});
      expect(svc!.realServers.reduce((n, r) => n + r.inactiveConns, 0)).toBe(1);
      await until(async () => {
        [svc] = await t!.client.service.list.query({});
        return svc!.realServers.reduce((n, r) => n + r.inactiveConns, 0) === 0;
      }, "the idle UDP session to expire");
    } finally {
      a.close();
    }
  });

  it("localAddresses: each session leaves from the next listed address", async () => {
    const seen: string[] = [];
    const server = dgram.createSocket("udp4");
    server.on("message", (m, r) => {
      seen.push(r.address);
      server.send(m, r.port, r.address);
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.bind(port, "127.0.0.1", resolve));
    vip = await freePort();
    t = await startTestAgent({
      virtualServices: [{ protocol: "udp", address: `127.0.0.1:${vip}`, scheduler: "rr", localAddresses: ["127.0.0.4", "127.0.0.5"], realServers: [{ address: `127.0.0.1:${port}` }] }],
    });
    const clients = [dgram.createSocket("udp4"), dgram.createSocket("udp4"), dgram.createSocket("udp4")];
    try {
      for (const [i, c] of clients.entries()) expect(await udpAsk(vip, `s${i}`, c)).toBe(`s${i}`);
      expect(seen).toEqual(["127.0.0.4", "127.0.0.5", "127.0.0.4"]);
    } finally {
      for (const c of clients) c.close();
      server.close();
    }
  });
});

