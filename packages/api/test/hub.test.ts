/**
 * The agent hub against a real agent (startTestAgent: real listeners, the real HTTPS control API) with three real
 * HTTP servers behind one virtual service: the hub receives the 1 Hz samples and marks the agent reachable; a
 * drain through the tRPC caller reaches the agent (checked with the agent's own client) and is audited with
 * before/after; after the agent stops, the hub marks it stale within 5 s of its last good answer.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { User } from "@director/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveAgentEndpoint } from "../../agent/src/control/client.js";
import { startTestAgent, type TestAgent, until } from "../../agent/test/helpers/agent.js";
import { httpGet } from "../../agent/test/helpers/clients.js";
import { freePort } from "../../agent/test/helpers/ports.js";
import type { AgentState } from "../src/hub/hub.js";
import { type TestEnv, testEnv } from "./helpers/context.js";

let env: TestEnv;
let agent: TestAgent | undefined;
let agentId: string;
let vip: string;
let rs: string[];
const servers: http.Server[] = [];
let operator: User;
let admin: User;

/** A real server: answers every request with its name. */
async function realServer(name: string): Promise<string> {
  const s = http.createServer((_req, res) => res.end(`${name}\n`));
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  servers.push(s);
  return `127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** Resolves when the hub's state for an agent satisfies pred, on the hub's own update events (bounded). */
function hubState(pred: (a: AgentState) => boolean, what: string, timeoutMs = 10_000, id = agentId): Promise<AgentState> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const a = env.hub.get(id);
      if (a && pred(a)) {
        clearTimeout(timer);
        env.hub.off("update", check);
        resolve(a);
      }
    };
    const timer = setTimeout(() => {
      env.hub.off("update", check);
      reject(new Error(`hub: no ${what} within ${timeoutMs} ms (last error: ${JSON.stringify(env.hub.get(id)?.error)})`));
    }, timeoutMs);
    env.hub.on("update", check);
    check();
  });
}

const key = () => ({ protocol: "tcp" as const, address: vip });

beforeAll(async () => {
  env = await testEnv();
  rs = [await realServer("alpha"), await realServer("beta"), await realServer("gamma")];
  vip = `127.0.0.1:${await freePort()}`;
  agent = await startTestAgent({ shutdownGraceSeconds: 0, virtualServices: [{ name: "hub-test", address: vip, scheduler: "rr", realServers: rs.map((address) => ({ address })) }] });
  const ep = resolveAgentEndpoint({ DIRECTOR_STATE_DIR: agent.stateDir });
  agentId = (await env.store.createAgent({ name: "hub-agent", url: ep.url, token: ep.token, caPem: ep.ca ?? null })).id;
  operator = await env.user("oscar", "operator");
  admin = await env.user("ada", "admin");
  await env.hub.sync();
});
afterAll(async () => {
  env?.hub.stop();
  await agent?.stop();
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await env?.close();
});

describe("AgentHub with a real agent", () => {
  it("receives samples and marks the agent reachable", async () => {
    const a = await hubState((s) => s.reachable && !s.stale && s.sample !== null && s.services.length === 1, "reachable agent with a sample");
    expect(a.name).toBe("hub-agent");
    expect(a.info?.version).toMatch(/\d+\.\d+/);
    expect(a.services[0]!.realServers.map((r) => r.address)).toEqual(rs);
    expect(a.sample!.services.map((s) => s.key)).toEqual([`tcp/${vip}`]);
    const caller = await env.caller(operator);
    expect((await caller.agent.list())[0]).toMatchObject({ id: agentId, reachable: true, stale: false, services: 1 });
  });

  it("samples carry the traffic sent through the VIP", async () => {
    const port = Number(vip.split(":")[1]);
    const bodies: string[] = [];
    for (let i = 0; i < 30; i++) bodies.push((await httpGet(port)).trim());
    // Round robin over the three real servers: each answered.
    expect(new Set(bodies)).toEqual(new Set(["alpha", "beta", "gamma"]));
    const a = await hubState((s) => (s.sample?.services[0]?.cps ?? 0) > 0, "a sample with connections per second");
    const perServer = a.sample!.services[0]!.realServers;
    expect(perServer.map((r) => r.address)).toEqual(rs);
    expect(perServer.every((r) => r.cps > 0)).toBe(true);
  });

  it("a drain through the caller reaches the agent and is audited with before and after", async () => {
    const caller = await env.caller(operator, { ip: "192.0.2.77" });
    await caller.realServer.setAdminState({ agentId, key: key(), address: rs[1]!, state: "draining" });
    // The agent's own view, through its own client.
    const services = await agent!.client.service.list.query({});
    const states = services[0]!.realServers.map((r) => [r.address, r.adminState]);
    expect(states).toEqual([
      [rs[0], "active"],
      [rs[1], "draining"],
      [rs[2], "active"],
    ]);
    const row = (await env.store.listAudit({ action: "realServer.drain" }))[0];
    expect(row).toMatchObject({ actor: "oscar", actorRole: "operator", ip: "192.0.2.77", target: `tcp/${vip} ${rs[1]}`, result: "ok" });
    expect(JSON.parse(row!.before!)).toEqual({ adminState: "active" });
    expect(JSON.parse(row!.after!)).toEqual({ adminState: "draining" });

    // The hub sees it at its next poll; activating again records draining as the state before.
    await hubState((s) => s.services[0]!.realServers[1]!.adminState === "draining", "the drain in the hub");
    await caller.realServer.setAdminState({ agentId, key: key(), address: rs[1]!, state: "active" });
    expect((await agent!.client.service.list.query({}))[0]!.realServers[1]!.adminState).toBe("active");
    const back = (await env.store.listAudit({ action: "realServer.activate" }))[0];
    expect(JSON.parse(back!.before!)).toEqual({ adminState: "draining" });
    expect(JSON.parse(back!.after!)).toEqual({ adminState: "active" });
    await hubState((s) => s.services[0]!.realServers[1]!.adminState === "active", "the activation in the hub");
  });

  it("a change the agent refuses is passed on with its code and audited as an error", async () => {
    const caller = await env.caller(admin);
    await expect(caller.realServer.add({ agentId, key: key(), realServer: { address: rs[0]! } })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    const row = (await env.store.listAudit({ action: "realServer.add" }))[0];
    expect(row).toMatchObject({ actor: "ada", result: "error", target: `tcp/${vip} ${rs[0]}` });
    expect(row!.detail).toMatch(/already exists/);
    // An address the hub does not know is refused before anything reaches the agent.
    await expect((await env.caller(operator)).realServer.setWeight({ agentId, key: key(), address: "127.0.0.1:1", weight: 5 })).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await agent!.client.service.list.query({}))[0]!.realServers).toHaveLength(3);
  });

  it("marks the agent stale within 5 s of its last answer after it stops", async () => {
    await hubState((s) => s.reachable, "reachable");
    const stopped = Date.now();
    await agent!.stop();
    agent = undefined;
    const a = await hubState((s) => s.stale, "stale", 10_000);
    const took = Date.now() - stopped;
    // The console promises stale within 5 s; 1 s of margin for this test's own scheduling.
    expect(took).toBeLessThanOrEqual(6_000);
    expect(a.reachable).toBe(false);
    expect(a.error).toBeTruthy();
    const caller = await env.caller(operator);
    const o = await caller.overview.get();
    expect(o.agents[0]).toMatchObject({ stale: true, reachable: false });
    // A stale agent's rates are not shown as current.
    expect(o.totals.cps).toBe(0);
    expect((await caller.alert.firing()).map((x) => x.kind)).toContain("agentStale");
  });
});

const AGENT_BIN = fileURLToPath(new URL("../../agent/dist/director-agent.js", import.meta.url));

describe("AgentHub with a hung agent process", () => {
  let proc: ChildProcess | undefined;
  let dir: string | undefined;
  afterAll(() => {
    // Only the process this test started, by its PID (SIGKILL works on a stopped process too).
    if (proc?.pid && proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, "SIGKILL");
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("marks an agent that stops answering (SIGSTOP: connections hang, nothing refuses) stale within 5 s, and live again after SIGCONT", async () => {
    if (!fs.existsSync(AGENT_BIN)) throw new Error(`${AGENT_BIN} is missing: build the agent first (npx turbo run build --filter=@director/agent)`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-api-hub-"));
    const stateDir = path.join(dir, "state");
    const config = path.join(dir, "agent.yaml");
    // JSON is YAML.
    fs.writeFileSync(config, JSON.stringify({ api: { listen: `127.0.0.1:${await freePort()}` }, shutdownGraceSeconds: 0, virtualServices: [{ address: `127.0.0.1:${await freePort()}`, realServers: [{ address: rs[0] }] }] }));
    let stderr = "";
    proc = spawn(process.execPath, [AGENT_BIN, "--config", config, "--state-dir", stateDir], { stdio: ["ignore", "ignore", "pipe"] });
    proc.stderr!.on("data", (d) => {
      stderr += d;
    });
    await until(() => {
      if (proc!.exitCode !== null) throw new Error(`the agent exited: ${stderr}`);
      return fs.existsSync(path.join(stateDir, "api.json"));
    }, "the agent's api.json");
    const ep = resolveAgentEndpoint({ DIRECTOR_STATE_DIR: stateDir });
    const id = (await env.store.createAgent({ name: "hung-agent", url: ep.url, token: ep.token, caPem: ep.ca ?? null })).id;
    await env.hub.sync();
    await hubState((s) => s.reachable && s.sample !== null, "reachable", 10_000, id);

    process.kill(proc.pid!, "SIGSTOP");
    const stopped = Date.now();
    const a = await hubState((s) => s.stale, "stale", 10_000, id);
    expect(Date.now() - stopped).toBeLessThanOrEqual(6_000);
    expect(a.reachable).toBe(false);

    process.kill(proc.pid!, "SIGCONT");
    await hubState((s) => !s.stale && s.reachable, "reachable again", 15_000, id);
  });
});
