/**
 * A real cluster for the console's end-to-end tests, all as separate processes on free loopback ports:
 *  - three demo real servers (`demo-real-server.js`, each answering "<name> <address>"),
 *  - a director agent (`director-agent.js`) with one virtual service over them (round robin, HTTP health check),
 *  - the console itself, production build, through its only entry point `server.mjs` (HTTPS), with a fresh state
 *    dir, the agent registered from its state dir and the first admin from CONSOLE_ADMIN_PASSWORD.
 * `stop()` ends exactly these processes, by PID, and removes the temp dir. Needs the agent's dist and the
 * console's `.next` (npm test builds both first).
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort as anyFreePort } from "../../../../packages/agent/test/helpers/ports.js";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
export const CONSOLE_DIR = path.join(ROOT, "apps/console");
const AGENT_BIN = path.join(ROOT, "packages/agent/dist/director-agent.js");
const REAL_SERVER_BIN = path.join(ROOT, "packages/agent/dist/demo-real-server.js");
export const SCREENSHOTS = path.join(ROOT, "test-artifacts/screenshots");

/** Ports other engineers' demo clusters use on this machine right now: never ours. */
const TAKEN = new Set([8080, 8443, 9443, 8611, 8711, 9611, 9711, 18081, 18082, 18083, 18611, 18612, 18613, 18711, 18712, 18713]);

export async function freePort(): Promise<number> {
  for (;;) {
    const p = await anyFreePort();
    if (!TAKEN.has(p)) return p;
  }
}

export const ADMIN_PASSWORD = "e2e admin password 0123";

export interface RealServer {
  name: string;
  address: string;
  port: number;
}

export interface Cluster {
  /** https://127.0.0.1:PORT (also NEXTAUTH_URL). */
  url: string;
  port: number;
  /** The plain-HTTP redirect listener, when asked for. */
  redirectPort: number | null;
  vip: string;
  vipPort: number;
  serviceKey: { protocol: "tcp"; address: string };
  realServers: RealServer[];
  agentStateDir: string;
  consoleStateDir: string;
  /** What the console process printed (for failure messages). */
  consoleOutput(): string;
  /** Freezes the agent process (SIGSTOP): its sockets stay open and answer nothing, as a hung agent's do. */
  pauseAgent(): void;
  /** Lets a frozen agent run again (SIGCONT). */
  resumeAgent(): void;
  /** Kills the agent process (SIGKILL: the agent is gone, as after a crash). */
  killAgent(): Promise<void>;
  stop(): Promise<void>;
}

interface Proc {
  name: string;
  child: ChildProcess;
  output: string;
  exited: Promise<void>;
}

function start(name: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(process.execPath, args, { cwd: o.cwd ?? ROOT, env: o.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  const p: Proc = { name, child, output: "", exited: new Promise((r) => child.once("exit", () => r())) };
  const keep = (d: Buffer) => {
    p.output = (p.output + d.toString()).slice(-20_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  return p;
}

const alive = (p: Proc) => p.child.exitCode === null && p.child.signalCode === null;

/** Ends one process we started, by its PID: SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
async function end(p: Proc, graceMs = 3000, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (!alive(p)) return;
  process.kill(p.child.pid!, signal);
  // A process a test froze (SIGSTOP) acts on nothing but SIGKILL until it runs again.
  if (signal !== "SIGKILL" && alive(p)) process.kill(p.child.pid!, "SIGCONT");
  const timer = setTimeout(() => {
    if (alive(p)) process.kill(p.child.pid!, "SIGKILL");
  }, graceMs);
  await p.exited;
  clearTimeout(timer);
}

/** Polls cond until it is true (bounded), failing early when one of `procs` has exited. */
async function until(cond: () => boolean | Promise<boolean>, what: string, procs: Proc[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = procs.find((p) => !alive(p));
    if (dead) throw new Error(`${dead.name} exited while waiting for ${what}:\n${dead.output}`);
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${procs.map((p) => `--- ${p.name}:\n${p.output.slice(-3000)}`).join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(url, { rejectUnauthorized: false, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
  });
}

/**
 * `env`: extra environment for the console process only (OIDC_*, NODE_EXTRA_CA_CERTS…), set over everything
 * above; a key set to undefined is removed.
 */
export async function startCluster(o: { redirect?: boolean; env?: Record<string, string | undefined> } = {}): Promise<Cluster> {
  for (const [file, how] of [
    [AGENT_BIN, "npx turbo run build --filter=@director/agent"],
    [REAL_SERVER_BIN, "npx turbo run build --filter=@director/agent"],
    [path.join(CONSOLE_DIR, ".next/BUILD_ID"), "cd apps/console && npx next build --webpack"],
  ] as const)
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: build first (${how}; npm test builds everything)`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-console-e2e-"));
  const agentStateDir = path.join(dir, "agent");
  const consoleStateDir = path.join(dir, "console");
  const procs: Proc[] = [];
  const stop = async () => {
    await Promise.all(procs.map((p) => end(p)));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const names = ["alpha", "beta", "gamma"];
    const realServers: RealServer[] = [];
    for (const name of names) {
      const port = await freePort();
      realServers.push({ name, port, address: `127.0.0.1:${port}` });
    }
    const rsProcs = realServers.map((r) => start(`real server ${r.name}`, [REAL_SERVER_BIN, r.address, r.name]));
    procs.push(...rsProcs);
    await until(() => rsProcs.every((p) => p.output.includes("listening")), "the real servers", rsProcs, 10_000);

    const vipPort = await freePort();
    const vip = `127.0.0.1:${vipPort}`;
    const config = path.join(dir, "agent.yaml");
    // JSON is YAML.
    fs.writeFileSync(
      config,
      JSON.stringify({
        api: { listen: `127.0.0.1:${await freePort()}` },
        shutdownGraceSeconds: 0,
        virtualServices: [
          {
            name: "e2e-web",
            protocol: "tcp",
            address: vip,
            scheduler: "rr",
            healthCheck: { type: "http", path: "/", interval: 1, timeout: 0.5, rise: 1, fall: 2 },
            realServers: realServers.map((r) => ({ address: r.address, weight: 1 })),
          },
        ],
      }),
    );
    const agent = start("director-agent", [AGENT_BIN, "--config", config, "--state-dir", agentStateDir]);
    procs.push(agent);
    await until(() => fs.existsSync(path.join(agentStateDir, "api.json")) && fs.existsSync(path.join(agentStateDir, "agent.token")), "the agent's api.json", [agent], 15_000);

    const port = await freePort();
    const redirectPort = o.redirect ? await freePort() : null;
    const url = `https://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: "production",
      PORT: String(port),
      HOST: "127.0.0.1",
      NEXTAUTH_URL: url,
      CONSOLE_STATE_DIR: consoleStateDir,
      CONSOLE_AGENT_STATE_DIR: agentStateDir,
      CONSOLE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      ...(redirectPort ? { CONSOLE_HTTP_REDIRECT_PORT: String(redirectPort) } : {}),
    };
    for (const k of ["CONSOLE_ADMIN_USER", "CONSOLE_REQUIRE_ADMIN_TOTP", "DATABASE_URL", "NEXTAUTH_SECRET", "OIDC_ISSUER", "CONSOLE_TLS_CERT", "CONSOLE_TLS_KEY"]) delete env[k];
    if (!redirectPort) delete env.CONSOLE_HTTP_REDIRECT_PORT;
    for (const [k, v] of Object.entries(o.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    const consoleProc = start("console (server.mjs)", ["server.mjs"], { cwd: CONSOLE_DIR, env });
    procs.push(consoleProc);
    await until(() => answers(`${url}/signin`), "the console to answer /signin", [consoleProc], 60_000);

    return {
      url,
      port,
      redirectPort,
      vip,
      vipPort,
      serviceKey: { protocol: "tcp", address: vip },
      realServers,
      agentStateDir,
      consoleStateDir,
      consoleOutput: () => consoleProc.output,
      pauseAgent: () => {
        if (alive(agent)) process.kill(agent.child.pid!, "SIGSTOP");
      },
      resumeAgent: () => {
        if (alive(agent)) process.kill(agent.child.pid!, "SIGCONT");
      },
      killAgent: () => end(agent, 1000, "SIGKILL"),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
