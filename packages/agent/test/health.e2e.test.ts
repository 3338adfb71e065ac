/**
 * Health monitoring end to end: real real-server processes, a real agent, HTTP checks every second.
 *  - a killed real server is out of rotation within 4 s (interval 1 s, timeout 1 s, fall 3), and no new
 *    connection goes to it after detection; it comes back after `rise` passes when restarted;
 *  - a server that accepts but never answers (black hole) is caught by the timeout path;
 *  - a flapping server (every other check fails) does not thrash with fall 3;
 *  - onFailure inhibit keeps the server listed with weight 0.
 */
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";
import http from "node:http";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { nextEvent, startTestAgent, type TestAgent, until } from "./helpers/agent.js";
import { httpGet } from "./helpers/clients.js";
import { freePort, waitForPort } from "./helpers/ports.js";

const SERVER = fileURLToPath(new URL("../dist/demo-real-server.js", import.meta.url));
const procs = new Map<string, ChildProcess>();
let t: TestAgent | undefined;
const closers: (() => void)[] = [];

async function startServer(port: number, name: string): Promise<void> {
  const p = spawn(process.execPath, [SERVER, `127.0.0.1:${port}`, name], { stdio: "ignore" });
  procs.set(name, p);
  await waitForPort(port);
}
function kill(name: string): Promise<void> {
  const p = procs.get(name)!;
  procs.delete(name);
  return new Promise((r) => {
    p.once("exit", () => r());
    p.kill("SIGKILL");
  });
}

afterEach(async () => {
  await t?.stop();
  t = undefined;
  for (const p of procs.values()) p.kill("SIGKILL");
  procs.clear();
  for (const c of closers.splice(0)) c();
});

const check = { type: "http" as const, path: "/", interval: 1, timeout: 1, rise: 2, fall: 3 };

describe("health checks through the engine", () => {
  it("takes a killed server out within 4 s, sends it nothing after, and brings it back after rise passes", async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    await Promise.all(ports.map((p, i) => startServer(p, `rs${i + 1}`)));
    const vip = await freePort();
    t = await startTestAgent({
      virtualServices: [{ address: `127.0.0.1:${vip}`, scheduler: "rr", healthCheck: check, realServers: ports.map((p) => ({ address: `127.0.0.1:${p}` })) }],
    });
    // Load during the failure: 3 client loops; after detection no answer may come from rs2 and no request may fail.
    let detected = false;
    let stopLoad = false;
    const afterDetection: string[] = [];
    let failedAfter = 0;
    const loops = Array.from({ length: 3 }, async () => {
      while (!stopLoad) {
        const wasDetected = detected;
        try {
          const who = (await httpGet(vip)).split(" ")[0]!;
          if (wasDetected) afterDetection.push(who);
        } catch {
          if (wasDetected) failedAfter++;
        }
      }
    });
    const down = nextEvent(t.agent, "health.changed", (e) => e.to === "down");
    const killedAt = Date.now();
    await kill("rs2");
    const e = await down;
    detected = true;
    const detectedMs = Date.now() - killedAt;
    while (afterDetection.length < 100) await new Promise((r) => setTimeout(r, 20));
    stopLoad = true;
    await Promise.all(loops);
    expect(afterDetection.filter((w) => w === "rs2")).toEqual([]);
    expect(failedAfter).toBe(0);
    expect(e.realServer).toBe(`127.0.0.1:${ports[1]}`);
    expect(e.reason).toMatch(/ECONNREFUSED/);
    expect(detectedMs).toBeLessThanOrEqual(4000);
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) seen.add((await httpGet(vip)).split(" ")[0]!);
    expect(seen).toEqual(new Set(["rs1", "rs3"]));
    const [svc] = await t.client.service.list.query({});
    const rs2 = svc!.realServers[1]!;
    const history = await t.client.health.history.query({ key: { protocol: "tcp", address: `127.0.0.1:${vip}` }, address: rs2.address });
    expect(history.slice(-3).map((h) => h.ok)).toEqual([false, false, false]);
    expect(history.at(-1)!.reason).toMatch(/ECONNREFUSED/);
    expect(rs2.available).toBe(false);
    expect(rs2.health?.state).toBe("down");
    expect(rs2.health?.reason).toMatch(/ECONNREFUSED/);

    const up = nextEvent(t.agent, "health.changed", (ev) => ev.to === "up");
    await startServer(ports[1]!, "rs2");
    await up;
    const back = new Set<string>();
    for (let i = 0; i < 6; i++) back.add((await httpGet(vip)).split(" ")[0]!);
    expect(back.has("rs2")).toBe(true);
  }, 30_000);

  it("catches a black hole (accepts, never answers) through the timeout", async () => {
    const good = await freePort();
    await startServer(good, "good");
    const hole = net.createServer(() => {});
    await new Promise<void>((r) => hole.listen(0, "127.0.0.1", r));
    closers.push(() => hole.close());
    const holePort = (hole.address() as net.AddressInfo).port;
    const vip = await freePort();
    t = await startTestAgent({
      virtualServices: [
        {
          address: `127.0.0.1:${vip}`,
          scheduler: "rr",
          healthCheck: { ...check, timeout: 0.5 },
          realServers: [{ address: `127.0.0.1:${good}` }, { address: `127.0.0.1:${holePort}` }],
        },
      ],
    });
    const e = await nextEvent(t.agent, "health.changed", (ev) => ev.to === "down");
    expect(e.realServer).toBe(`127.0.0.1:${holePort}`);
    expect(e.reason).toMatch(/timeout after \d+ ms/);
    for (let i = 0; i < 4; i++) expect((await httpGet(vip)).split(" ")[0]).toBe("good");
  }, 30_000);

  it("does not thrash on a flapping server (every other check fails, fall 3)", async () => {
    let n = 0;
    const flappy = http.createServer((_req, res) => {
      n++;
      res.statusCode = n % 2 === 0 ? 503 : 200;
      res.end("flappy\n");
    });
    await new Promise<void>((r) => flappy.listen(0, "127.0.0.1", r));
    closers.push(() => flappy.close());
    const port = (flappy.address() as net.AddressInfo).port;
    const vip = await freePort();
    t = await startTestAgent({
      virtualServices: [{ address: `127.0.0.1:${vip}`, healthCheck: { ...check, interval: 0.2 }, realServers: [{ address: `127.0.0.1:${port}` }] }],
    });
    let changes = 0;
    t.agent.events.on("health.changed", () => {
      changes++;
    });
    // Wait (on the server's own count of checks) for 12 checks: 6 failures, never 3 in a row.
    await new Promise<void>((resolve) => {
      flappy.on("request", () => {
        if (n >= 12) resolve();
      });
    });
    expect(changes).toBe(0);
    const [svc] = await t.client.service.list.query({});
    expect(svc!.realServers[0]!.health?.state).toBe("up");
    expect(svc!.realServers[0]!.available).toBe(true);
  }, 30_000);

  it("onFailure inhibit keeps a failed server listed with weight 0 (keepalived inhibit_on_failure)", async () => {
    const a = await freePort();
    const b = await freePort();
    await startServer(a, "a");
    const vip = await freePort();
    t = await startTestAgent({
      virtualServices: [
        {
          address: `127.0.0.1:${vip}`,
          healthCheck: { ...check, onFailure: "inhibit", startState: "down", rise: 1 },
          realServers: [{ address: `127.0.0.1:${a}`, weight: 5 }, { address: `127.0.0.1:${b}`, weight: 5 }],
        },
      ],
    });
    // The state, not the event: the first check may pass before startTestAgent returns (the event would be missed).
    await until(async () => (await t!.client.service.list.query({}))[0]!.realServers[0]!.health?.state === "up", "a up");
    const [svc] = await t.client.service.list.query({});
    const rb = svc!.realServers[1]!;
    expect(rb.available).toBe(true);
    expect(rb.effectiveWeight).toBe(0);
    expect(rb.weight).toBe(5);
    expect(rb.health?.state).toBe("down");
    for (let i = 0; i < 3; i++) expect((await httpGet(vip)).split(" ")[0]).toBe("a");
  }, 30_000);
});

afterAll(() => {
  for (const p of procs.values()) p.kill("SIGKILL");
});
