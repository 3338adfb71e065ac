/** Starts a real agent in this process (real listeners, real control API over HTTPS) for end-to-end tests. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AgentConfigInput } from "@director/model";
import pino from "pino";
import { stringify } from "yaml";
import { type RunningAgent, runAgent } from "../../src/agent.js";
import { type AgentClient, createAgentClient, resolveAgentEndpoint } from "../../src/control/client.js";
import type { AgentEvents } from "../../src/telemetry/events.js";
import { freePort } from "./ports.js";

export interface TestAgent {
  agent: RunningAgent;
  client: AgentClient;
  stateDir: string;
  configFile: string;
  stop(): Promise<void>;
}

export async function startTestAgent(config: AgentConfigInput, clientTls: { cert?: string; key?: string } = {}): Promise<TestAgent> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "director-agent-"));
  const configFile = path.join(stateDir, "director.yaml");
  const apiPort = await freePort();
  fs.writeFileSync(configFile, stringify({ ...config, api: { ...config.api, listen: `127.0.0.1:${apiPort}` } }));
  const agent = await runAgent({ configFile, stateDir, log: pino({ level: process.env.DIRECTOR_TEST_LOG ?? "silent" }) });
  const client = createAgentClient({ ...resolveAgentEndpoint({ DIRECTOR_STATE_DIR: stateDir }), ...clientTls });
  return {
    agent,
    client,
    stateDir,
    configFile,
    async stop() {
      client.close();
      await agent.shutdown("test over");
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Waits for an agent event matching pred (no sleeping: resolves on the event itself). */
export function nextEvent<K extends keyof AgentEvents>(
  agent: RunningAgent,
  name: K,
  pred: (e: AgentEvents[K]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<AgentEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${name} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = agent.events.on(name, (e) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

/** Polls a condition on agent state (for state that has no event, e.g. a counter), bounded. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
