/** Regressions found in review, each reproduced through a real agent. */
import { spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { startTestAgent, type TestAgent } from "./helpers/agent.js";
import { holdConnection, httpGet } from "./helpers/clients.js";
import { startNginx, type RealServerProcess } from "./helpers/nginx.js";
import { freePort } from "./helpers/ports.js";

let t: TestAgent | undefined;
let nginx: RealServerProcess | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
  await nginx?.stop();
  nginx = undefined;
});

describe("review regressions", () => {
  it("a client that resets while waiting in the accept queue does not crash the director (persistence + PROXY v2)", async () => {
    const port = await freePort();
    nginx = await startNginx([{ port, name: "rs1" }]);
    const vip = await freePort();
    t = await startTestAgent({
      virtualServices: [{ address: `127.0.0.1:${vip}`, persistence: { timeout: 60, prefixLength: 24 }, proxyProtocol: "none", realServers: [{ address: `127.0.0.1:${port}` }] }],
    });
    // A separate process connects and resets at once; this process's event loop is blocked meanwhile, so the
    // connection is accepted only after the reset.
    const child = spawn(process.execPath, [
      "-e",
      `const s=require("net").connect(${vip},"127.0.0.1");s.on("connect",()=>{s.resetAndDestroy();setTimeout(()=>process.exit(0),50)});s.on("error",()=>process.exit(0))`,
    ]);
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const until = Date.now() + 600;
    while (Date.now() < until) {
      /* block the event loop */
    }
    await exited;
    expect((await httpGet(vip)).trim()).toBe("rs1"); // still serving
  });

  it("raising an upper threshold makes the server eligible at once (the scheduler is told)", async () => {
    const a = await freePort();
    const b = await freePort();
    nginx = await startNginx([
      { port: a, name: "A" },
      { port: b, name: "B" },
    ]);
    const vip = await freePort();
    t = await startTestAgent({
      virtualServices: [{ address: `127.0.0.1:${vip}`, scheduler: "wlc", realServers: [{ address: `127.0.0.1:${a}`, upperThreshold: 1 }, { address: `127.0.0.1:${b}` }] }],
    });
    const held = [await holdConnection(vip), await holdConnection(vip), await holdConnection(vip)];
    expect(held.map((h) => h.name)).toEqual(["A", "B", "B"]); // A overloaded at 1
    await t.client.config.change.mutate({
      ops: [{ op: "realServer.edit", key: { protocol: "tcp", address: `127.0.0.1:${vip}` }, address: `127.0.0.1:${a}`, patch: { upperThreshold: 100 } }],
    });
    const next = await holdConnection(vip);
    held.push(next);
    expect(next.name).toBe("A"); // A 1 conn vs B 2: least connections
    for (const h of held) h.close();
  });

  it("a refused connect does not linger as TIME_WAIT (no phantom inactive connections)", async () => {
    const dead = await freePort();
    const vip = await freePort();
    t = await startTestAgent({ virtualServices: [{ address: `127.0.0.1:${vip}`, realServers: [{ address: `127.0.0.1:${dead}`, upperThreshold: 3 }] }] });
    for (let i = 0; i < 5; i++) await httpGet(vip).catch(() => "");
    const [svc] = await t.client.service.list.query({});
    expect(svc!.realServers[0]!.inactiveConns).toBe(0);
    expect(svc!.realServers[0]!.overloaded).toBe(false);
    expect(svc!.realServers[0]!.stats.conns).toBe(5);
  });

  it("weight 0 set by an administrator quiesces at once, whatever dynamic feedback said", async () => {
    const vip = await freePort();
    t = await startTestAgent({
      virtualServices: [{ address: `127.0.0.1:${vip}`, feedback: { port: 9, interval: 60 }, realServers: [{ address: "127.0.0.1:9", weight: 5 }] }],
    });
    await t.client.config.change.mutate({
      ops: [{ op: "realServer.edit", key: { protocol: "tcp", address: `127.0.0.1:${vip}` }, address: "127.0.0.1:9", patch: { weight: 0 } }],
    });
    const [svc] = await t.client.service.list.query({});
    expect(svc!.realServers[0]!.effectiveWeight).toBe(0);
  });
});
