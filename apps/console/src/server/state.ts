/**
 * The console server's singletons: the store and the agent hub, opened once per process (kept on globalThis
 * because Next.js may load this module more than once) and lazily, never at import time (`next build` imports
 * route modules). `boot()` runs from instrumentation at server start: first admin or setup link, the demo agent.
 */
import fs from "node:fs";
import path from "node:path";
import { AgentHub, ensureFirstAdmin } from "@director/api";
import { openStore, type Store, sealKeyFrom } from "@director/db";
import { env, stateDir } from "~/env";

interface ConsoleServer {
  store: Store;
  hub: AgentHub;
}

const g = globalThis as unknown as { __directorConsole?: Promise<ConsoleServer> };

export function server(): Promise<ConsoleServer> {
  g.__directorConsole ??= (async () => {
    const e = env();
    // Agents' tokens are sealed under a key derived from the console's secret (kept in the state dir, not the database).
    const store = await openStore({ databaseUrl: e.DATABASE_URL, sqliteFile: path.join(stateDir(), "console.db"), ...(e.NEXTAUTH_SECRET ? { sealKey: sealKeyFrom(e.NEXTAUTH_SECRET) } : {}) });
    const hub = new AgentHub(store);
    await hub.sync();
    return { store, hub };
  })();
  return g.__directorConsole;
}

/** Registers a local agent from its state dir (api.json, agent.token, its certificate) when none is registered. */
async function registerLocalAgent(store: Store, dir: string): Promise<string | undefined> {
  if ((await store.listAgents()).length > 0) return;
  const api = JSON.parse(fs.readFileSync(path.join(dir, "api.json"), "utf8")) as { url: string; certFile: string };
  const token = fs.readFileSync(path.join(dir, "agent.token"), "utf8").trim();
  const caPem = fs.readFileSync(api.certFile, "utf8");
  await store.createAgent({ name: "local", url: api.url, token, caPem });
  await store.appendAudit({ actor: null, actorRole: null, ip: null, action: "agent.add", target: "local", after: { url: api.url, caPinned: true }, result: "ok", detail: "registered from CONSOLE_AGENT_STATE_DIR" });
  return api.url;
}

export async function boot(): Promise<void> {
  const { store, hub } = await server();
  const e = env();
  const first = await ensureFirstAdmin(store, { username: e.CONSOLE_ADMIN_USER, password: e.CONSOLE_ADMIN_PASSWORD });
  if (first.created) process.stdout.write(`Director console: created the first admin "${first.created}" from CONSOLE_ADMIN_PASSWORD\n`);
  if (first.setupToken) {
    const url = new URL(`/setup?token=${first.setupToken}`, e.NEXTAUTH_URL);
    // Printed to the terminal (not to a log): the one-time link that creates the first admin. Valid 24 h.
    process.stdout.write(`\nDirector console: no users yet. Create the first admin (one-time link, valid 24 h):\n  ${url.href}\n\n`);
  }
  if (e.CONSOLE_AGENT_STATE_DIR) {
    try {
      const url = await registerLocalAgent(store, e.CONSOLE_AGENT_STATE_DIR);
      if (url) process.stdout.write(`Director console: registered the local agent at ${url}\n`);
    } catch (err) {
      process.stderr.write(`Director console: cannot register the agent in ${e.CONSOLE_AGENT_STATE_DIR}: ${(err as Error).message}\n`);
    }
  }
  await hub.sync();
}
