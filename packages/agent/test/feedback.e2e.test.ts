/**
 * Dynamic feedback end to end: two real servers, each with a real `director-feedback` process reporting loads
 * from a file; the loaded one loses weight, the idle one gains, within [0, scale × configured].
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { startTestAgent, type TestAgent, until } from "./helpers/agent.js";
import { freePort, waitForPort } from "./helpers/ports.js";

// Loads from the agents only (the response time measured on loopback would be near 0 for both).
const CPU_AND_MEMORY = { cpu: 0.5, memory: 0.5, swap: 0, disk: 0, responseTime: 0 };
const FEEDBACK = fileURLToPath(new URL("../dist/director-feedback.js", import.meta.url));
const procs: ChildProcess[] = [];
let t: TestAgent | undefined;
let dir: string | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
  for (const p of procs.splice(0)) p.kill("SIGKILL");
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("dynamic feedback", () => {
  it("lowers the weight of a loaded real server and raises an idle one's", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-feedback-"));
    const busy = path.join(dir, "busy.json");
    const idle = path.join(dir, "idle.json");
    fs.writeFileSync(busy, JSON.stringify({ cpu: 1, memory: 1, swap: 1, disk: 1 }));
    fs.writeFileSync(idle, JSON.stringify({ cpu: 0, memory: 0.1, swap: 0, disk: 0 }));
    // The feedback agents listen on one port each; the real servers are "at" the same host, port = agent port.
    const ports = [await freePort(), await freePort()];
    for (const [i, file] of [busy, idle].entries()) {
      procs.push(spawn(process.execPath, [FEEDBACK, "--listen", `127.0.0.1:${ports[i]}`, "--load-file", file], { stdio: "ignore" }));
      await waitForPort(ports[i]!);
    }
    const vip = await freePort();
    t = await startTestAgent({
      virtualServices: [
        {
          address: `127.0.0.1:${vip}`,
          scheduler: "wlc",
          // `feedback.port` is per service, and both agents share 127.0.0.1 here: one service per agent.
          feedback: { port: ports[0]!, interval: 0.2, threshold: 0.5, coefficients: CPU_AND_MEMORY },
          realServers: [{ address: `127.0.0.1:${ports[0]}`, weight: 10 }],
        },
        {
          address: `127.0.0.1:${await freePort()}`,
          scheduler: "wlc",
          feedback: { port: ports[1]!, interval: 0.2, threshold: 0.5, coefficients: CPU_AND_MEMORY },
          realServers: [{ address: `127.0.0.1:${ports[1]}`, weight: 10 }],
        },
      ],
    });
    let svcs = await t.client.service.list.query({});
    await until(async () => {
      svcs = await t!.client.service.list.query({});
      const [b, i] = [svcs[0]!.realServers[0]!, svcs[1]!.realServers[0]!];
      return b.effectiveWeight <= 2 && i.effectiveWeight >= 20;
    }, "weights to move", 10_000);
    const [b, i] = [svcs[0]!.realServers[0]!, svcs[1]!.realServers[0]!];
    expect(b.feedback!.aggregateLoad).toBeGreaterThan(0.95);
    expect(i.feedback!.aggregateLoad).toBeLessThan(0.95);
    expect(b.weight).toBe(10); // the configured weight is untouched
    expect(i.effectiveWeight).toBeLessThanOrEqual(100); // SCALE (10) × 10
    await until(async () => {
      svcs = await t!.client.service.list.query({});
      return svcs[1]!.realServers[0]!.effectiveWeight === 100 && svcs[0]!.realServers[0]!.effectiveWeight === 0;
    }, "weights to reach their bounds", 15_000);
  });
});
