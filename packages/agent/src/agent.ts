/**
 * The director agent process: state dir, configuration, service table, control API, timers and signals.
 *   SIGHUP  re-read the configuration, validate it whole, apply it as a diff; an invalid file changes nothing.
 *   SIGTERM stop accepting, let connections finish up to shutdownGraceSeconds, close the rest, exit.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { AgentConfig, AgentInfo } from "@director/model";
import { parseEndpoint } from "@director/model";
import pino, { type Logger } from "pino";
import { Authenticator, loadOrCreateToken } from "./control/auth.js";
import type { ApiDescriptor } from "./control/client.js";
import { startControlServer } from "./control/server.js";
import { loadOrCreateTls } from "./control/tls.js";
import { loadConfigFile } from "./state/config-file.js";
import { chooseDesired, readPersisted, writePersisted } from "./state/persisted.js";
import { emptyConfig, ServiceTable } from "./state/service-table.js";
import { writeFileAtomic } from "./state/store.js";
import { ESTIMATOR_TICK_MS } from "./telemetry/estimator.js";
import { EventLog } from "./telemetry/event-log.js";
import { EventBus } from "./telemetry/events.js";
import { Sampler } from "./telemetry/sampler.js";
import { Webhooks } from "./telemetry/webhooks.js";
import { createMetrics } from "./telemetry/prometheus.js";

export const VERSION = "0.1.0";

export interface AgentOptions {
  configFile?: string;
  stateDir: string;
  apiListen?: string;
  log?: Logger;
}

/** Listening sockets handed over by the previous process: DIRECTOR_INHERITED_LISTENERS = {"tcp/…": fd}. */
function inheritedListeners(): Map<string, number> | undefined {
  const raw = process.env.DIRECTOR_INHERITED_LISTENERS;
  delete process.env.DIRECTOR_INHERITED_LISTENERS;
  if (!raw) return undefined;
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(JSON.parse(raw) as Record<string, unknown>)) if (typeof v === "number" && Number.isInteger(v) && v > 2) out.set(k, v);
  return out;
}

export interface RunningAgent {
  services: ServiceTable;
  events: EventBus;
  sampler: Sampler;
  apiUrl: string;
  reload(): Promise<{ ok: boolean; errors: string[] }>;
  /** Seamless upgrade: start a new agent process on the same listening sockets, then drain and exit. */
  upgrade(): Promise<{ ok: boolean; error?: string }>;
  shutdown(reason: string): Promise<void>;
}

export async function runAgent(o: AgentOptions): Promise<RunningAgent> {
  const log = o.log ?? pino({ base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
  fs.mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });

  const fileConfig = o.configFile ? loadConfigFile(o.configFile) : null;
  if (fileConfig && !fileConfig.ok) throw new ConfigError(o.configFile!, fileConfig.errors);
  const persisted = readPersisted(o.stateDir);
  if (persisted && "error" in persisted) throw new ConfigError("persisted state", [persisted.error]);
  let configDigest: string | null = fileConfig?.digest ?? persisted?.configDigest ?? null;
  const desired: AgentConfig = chooseDesired(fileConfig?.ok ? fileConfig : null, persisted) ?? emptyConfig();

  const inherited = inheritedListeners();
  /** Set once this process handed its sockets to a new one: from then on the new process owns the state dir. */
  let handedOver = false;
  // A change is applied even if writing it down fails (disk full, read-only): say so loudly, never crash.
  const persist = (config: AgentConfig) => {
    if (handedOver) return;
    try {
      writePersisted(o.stateDir, { configDigest, config, version: services.version });
    } catch (e) {
      log.error({ err: e, stateDir: o.stateDir }, "state not persisted: the change is running but will not survive a restart");
    }
  };
  const events = new EventBus();
  const eventLog = new EventLog(events, Date.now);
  const webhooks = new Webhooks(eventLog, log);
  const services = new ServiceTable({
    log,
    events,
    onChange: (config) => persist(config),
    ...(inherited ? { inherited } : {}),
  });
  services.version = persisted?.version ?? 0;
  events.on("config.applied", (e) => log.info(e, "config applied"));
  events.on("adminState.changed", (e) => log.info(e, "admin state changed"));

  const started = await services.replace(desired, "start");
  if (!started.ok) throw new ConfigError("start", started.errors);
  webhooks.configure(services.config.webhooks);
  persist(services.config);

  const listen = parseEndpoint(o.apiListen ?? desired.api.listen);
  if ("error" in listen) throw new ConfigError("--api-listen", [listen.error]);
  const token = loadOrCreateToken(o.stateDir);
  const tls = await loadOrCreateTls(o.stateDir, desired.api.tls, [listen.host]);
  const startedAt = Date.now();
  const sampler = new Sampler(services, Date.now);
  const info = (): AgentInfo => ({
    version: VERSION,
    pid: process.pid,
    startedAt,
    now: Date.now(),
    ...(o.configFile ? { configPath: path.resolve(o.configFile) } : {}),
  });
  const startControl = () =>
    startControlServer({
    host: listen.host,
    port: listen.port,
    cert: tls.cert,
    key: tls.key,
    ...(desired.api.clientCa ? { clientCa: fs.readFileSync(desired.api.clientCa, "utf8") } : {}),
    auth: new Authenticator(o.stateDir, token),
    metrics: createMetrics(services),
    services,
      sampler,
      eventLog,
      info,
      log,
    });
  let control = await startControl();
  const writeDescriptor = () => {
    const descriptor: ApiDescriptor = { url: control.url, certFile: path.resolve(tls.certFile), pid: process.pid };
    writeFileAtomic(path.join(o.stateDir, "api.json"), `${JSON.stringify(descriptor, null, 2)}\n`, 0o644);
  };
  writeDescriptor();
  log.info({ api: control.url, stateDir: o.stateDir, services: services.services.size }, "director agent started");

  const tick = setInterval(() => {
    services.tick();
    sampler.tick();
  }, 1000);
  const estimate = setInterval(() => services.estimate(), ESTIMATOR_TICK_MS);

  const reload = async (): Promise<{ ok: boolean; errors: string[] }> => {
    if (!o.configFile) return { ok: true, errors: [] };
    const next = loadConfigFile(o.configFile);
    if (!next.ok) {
      log.error({ file: o.configFile, errors: next.errors }, "reload rejected: configuration invalid, running state kept");
      return { ok: false, errors: next.errors };
    }
    if (next.digest === configDigest) {
      log.info({ file: o.configFile }, "reload: configuration file unchanged");
      return { ok: true, errors: [] };
    }
    const prevDigest = configDigest;
    configDigest = next.digest;
    // Evaluated in turn with queued changes, so an admin state set just before the reload is carried over.
    const r = await services.replace((current) => chooseDesired(next, { configDigest: prevDigest, config: current })!, "reload");
    if (!r.ok) {
      configDigest = prevDigest;
      log.error({ file: o.configFile, errors: r.errors }, "reload rejected, running state kept");
      return { ok: false, errors: r.errors };
    }
    persist(services.config);
    webhooks.configure(services.config.webhooks);
    return { ok: true, errors: [] };
  };

  const upgrade = async (): Promise<{ ok: boolean; error?: string }> => {
    if (handedOver) return { ok: false, error: "an upgrade is already under way" };
    if ([...services.services.values()].some((vs) => vs.spec.protocol === "udp")) {
      const error = "UDP services cannot be handed over to a new process: restart the agent instead";
      log.error({ error }, "upgrade refused");
      return { ok: false, error };
    }
    handedOver = true;
    const fds = services.engine.listenerFds();
    const keys = [...fds.keys()];
    log.info({ listeners: keys.length }, "upgrade: starting a new agent process on the same listening sockets");
    await control.close(); // the new process takes the API address
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      stdio: ["ignore", "inherit", "inherit", "ipc", ...keys.map((k) => fds.get(k)!)],
      env: { ...process.env, DIRECTOR_INHERITED_LISTENERS: JSON.stringify(Object.fromEntries(keys.map((k, i) => [k, 4 + i]))) },
      detached: true,
    });
    const ready = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve("the new process was not ready within 30 s"), 30_000);
      child.once("message", (m) => {
        clearTimeout(timer);
        resolve(m === "ready" ? undefined : `unexpected message ${JSON.stringify(m)}`);
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        resolve(`the new process exited (${code})`);
      });
    });
    if (ready) {
      log.error({ error: ready }, "upgrade failed: this process keeps running");
      if (child.exitCode === null) child.kill("SIGKILL");
      control = await startControl();
      writeDescriptor();
      handedOver = false;
      return { ok: false, error: ready };
    }
    child.unref();
    log.info({ pid: child.pid }, "upgrade: the new process is serving; draining this one");
    void shutdown("upgrade").then(() => process.exit(0));
    return { ok: true };
  };

  // Started by an upgrade: tell the old process we serve, then cut the tie.
  if (inherited && process.send) {
    process.send("ready");
    process.disconnect();
  }

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      const grace = services.config.shutdownGraceSeconds;
      await services.stopAccepting();
      log.info({ reason, live: services.liveConnections(), graceSeconds: grace }, "shutting down: no longer accepting");
      const deadline = Date.now() + grace * 1000;
      await new Promise<void>((resolve) => {
        const check = () => {
          if (services.liveConnections() === 0 || Date.now() >= deadline) return resolve();
          setTimeout(check, 50);
        };
        check();
      });
      if (services.liveConnections() > 0) {
        log.warn({ live: services.liveConnections() }, "grace period over: closing remaining connections");
        services.closeEverything("shutdown");
      }
      clearInterval(tick);
      clearInterval(estimate);
      webhooks.stop();
      if (!handedOver) {
        await control.close();
        fs.rmSync(path.join(o.stateDir, "api.json"), { force: true });
      }
      log.info("stopped");
    })();
    return stopping;
  };

  return { services, events, sampler, apiUrl: control.url, reload, upgrade, shutdown };
}

export class ConfigError extends Error {
  constructor(
    readonly where: string,
    readonly errors: string[],
  ) {
    super(`${where}: ${errors.join("; ")}`);
  }
}
