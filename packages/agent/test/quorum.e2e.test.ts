/**
 * Quorum with hysteresis and the sorry server (keepalived), slow start (HAProxy slowstart) and passive health
 * (outlier ejection) through a real agent and real servers.
 */
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { nextEvent, startTestAgent, type TestAgent, until } from "./helpers/agent.js";
import { httpGet } from "./helpers/clients.js";
import { freePort, waitForPort } from "./helpers/ports.js";

const SERVER = fileURLToPath(new URL("../dist/demo-real-server.js", import.meta.url));
const procs: ChildProcess[] = [];
let t: TestAgent | undefined;

async function server(name: string): Promise<number> {
  const port = await freePort();
  procs.push(spawn(process.execPath, [SERVER, `127.0.0.1:${port}`, name], { stdio: "ignore" }));
  await waitForPort(port);
  return port;
}
afterEach(async () => {
  await t?.stop();
  t = undefined;
  for (const p of procs.splice(0)) p.kill("SIGKILL");
});

const who = async (vip: number) => (await httpGet(vip)).split(" ")[0];

describe("quorum and sorry server", () => {
  it("loses quorum below minWeight − hysteresis, regains at minWeight + hysteresis; the sorry server answers meanwhile", async () => {
    const [a, b, sorry] = [await server("a"), await server("b"), await server("sorry")];
    const vip = await freePort();
    t = await startTestAgent({
      virtualServices: [
        {
          address: `127.0.0.1:${vip}`,
          scheduler: "rr",
          quorum: { minWeight: 3, hysteresis: 1 },
          sorryServer: `127.0.0.1:${sorry}`,
          realServers: [{ address: `127.0.0.1:${a}`, weight: 2 }, { address: `127.0.0.1:${b}`, weight: 2 }],
        },
      ],
    });
    const key = { protocol: "tcp" as const, address: `127.0.0.1:${vip}` };
    const set = (port: number, state: "active" | "maintenance") =>
      t!.client.config.change.mutate({ ops: [{ op: "realServer.setAdminState", key, address: `127.0.0.1:${port}`, state }] });
    let lost = 0;
    t.agent.events.on("quorum.lost", () => {
      lost++;
    });
    await set(a, "maintenance"); // available weight 2: not below 3 − 1, still up
    expect(await who(vip)).toBe("b");
    expect(lost).toBe(0);
    const down = nextEvent(t.agent, "quorum.lost");
    await set(b, "maintenance"); // 0 < 2: quorum lost
    expect((await down).availableWeight).toBe(0);
    for (let i = 0; i < 3; i++) expect(await who(vip)).toBe("sorry");
    await set(a, "active"); // 2 < 3 + 1: still down
    expect(await who(vip)).toBe("sorry");
    let [svc] = await t.client.service.list.query({});
    expect(svc!.quorumUp).toBe(false);
    expect(svc!.sorryServer?.stats.conns).toBe(4);
    const up = nextEvent(t.agent, "quorum.regained");
    await set(b, "active"); // 4 ≥ 4: up again
    expect((await up).availableWeight).toBe(4);
    const seen = new Set([await who(vip), await who(vip)]);
    expect(seen).toEqual(new Set(["a", "b"]));
    [svc] = await t.client.service.list.query({});
    expect(svc!.quorumUp).toBe(true);
  });

  it("refuses a sorry server that is also a real server", async () => {
    const vip = await freePort();
    t = await startTestAgent({ virtualServices: [{ address: `127.0.0.1:${vip}`, realServers: [{ address: "127.0.0.1:9" }] }] });
    const err = await t.client.config.change
      .mutate({ ops: [{ op: "service.edit", key: { protocol: "tcp", address: `127.0.0.1:${vip}` }, patch: { sorryServer: "127.0.0.1:9" } }] })
      .then(
        () => "",
        (e: Error) => e.message,
      );
    expect(err).toMatch(/sorry server 127\.0\.0\.1:9 is also a real server/);
  });
});

describe("slow start", () => {
  it("ramps the weight from near 0 to the configured weight after leaving maintenance", async () => {
    const a = await server("a");
    const vip = await freePort();
    t = await startTestAgent({
      virtualServices: [{ address: `127.0.0.1:${vip}`, scheduler: "wrr", slowStartSeconds: 3, realServers: [{ address: `127.0.0.1:${a}`, weight: 100, adminState: "maintenance" }] }],
    });
    const key = { protocol: "tcp" as const, address: `127.0.0.1:${vip}` };
    await t.client.config.change.mutate({ ops: [{ op: "realServer.setAdminState", key, address: `127.0.0.1:${a}`, state: "active" }] });
    let [svc] = await t.client.service.list.query({});
    const first = svc!.realServers[0]!.effectiveWeight;
    expect(first).toBeGreaterThanOrEqual(1);
    expect(first).toBeLessThan(50);
    expect(svc!.realServers[0]!.slowStartUntil).toBeGreaterThan(Date.now());
    const weights: number[] = [first];
    await until(async () => {
      [svc] = await t!.client.service.list.query({});
      const w = svc!.realServers[0]!.effectiveWeight;
      if (w !== weights.at(-1)) weights.push(w);
      return w === 100 && svc!.realServers[0]!.slowStartUntil === undefined;
    }, "the weight to reach 100 and the ramp to end", 8000);
    expect(weights.length).toBeGreaterThanOrEqual(3); // it ramped through intermediate weights
    expect([...weights].sort((x, y) => x - y)).toEqual(weights); // never went down
  });
});

describe("passive health", () => {
  it("ejects a real server after consecutive failed connections, never the last one", async () => {
    const a = await server("a");
    const dead = await freePort(); // nothing listens here
    const vip = await freePort();
    t = await startTestAgent({
      virtualServices: [
        {
          address: `127.0.0.1:${vip}`,
          scheduler: "rr",
          passiveHealth: { consecutiveFailures: 3, baseEjectionSeconds: 30, maxEjectionSeconds: 300, maxEjectionPercent: 50 },
          realServers: [{ address: `127.0.0.1:${a}` }, { address: `127.0.0.1:${dead}` }],
        },
      ],
    });
    const ejected = nextEvent(t.agent, "realServer.ejected");
    let failures = 0;
    for (let i = 0; i < 6; i++) {
      try {
        await httpGet(vip);
      } catch {
        failures++;
      }
    }
    expect(failures).toBe(3);
    const e = await ejected;
    expect(e.realServer).toBe(`127.0.0.1:${dead}`);
    expect(e.seconds).toBe(30);
    for (let i = 0; i < 4; i++) expect(await who(vip)).toBe("a");
    const [svc] = await t.client.service.list.query({});
    expect(svc!.realServers[1]!.available).toBe(false);
    expect(svc!.realServers[1]!.ejectedUntil).toBeGreaterThan(Date.now() + 25_000);
  });

  it("does not eject the last available real server", async () => {
    const dead = await freePort();
    const vip = await freePort();
    t = await startTestAgent({
      virtualServices: [
        {
          address: `127.0.0.1:${vip}`,
          passiveHealth: { consecutiveFailures: 2, baseEjectionSeconds: 30, maxEjectionSeconds: 300, maxEjectionPercent: 100 },
          realServers: [{ address: `127.0.0.1:${dead}` }],
        },
      ],
    });
    let ejections = 0;
    t.agent.events.on("realServer.ejected", () => {
      ejections++;
    });
    for (let i = 0; i < 4; i++) await httpGet(vip).catch(() => "");
    const [svc] = await t.client.service.list.query({});
    expect(ejections).toBe(0);
    expect(svc!.realServers[0]!.available).toBe(true);
    expect(net.isIP(svc!.address.split(":")[0]!)).toBe(4);
  });
});
