/**
 * The built `director-agent` as a process: SIGHUP reload (valid applied as a diff under load with zero failed
 * connections; invalid rejected whole), restart keeps runtime changes, SIGTERM drains, check-config.
 * Needs `npm run build` first (npm test does it).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { createAgentClient, resolveAgentEndpoint } from "../src/control/client.js";
import { holdConnection, httpGet } from "./helpers/clients.js";
import { startNginx, type RealServerProcess } from "./helpers/nginx.js";
import { freePort } from "./helpers/ports.js";

const BIN = fileURLToPath(new URL("../dist/director-agent.js", import.meta.url));
let nginx: RealServerProcess;
let rs: string[];
let dir: string;
const procs: ChildProcess[] = [];

beforeAll(async () => {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build first`);
  const ports = [await freePort(), await freePort(), await freePort()];
  nginx = await startNginx(ports.map((port, i) => ({ port, name: `rs${i + 1}` })));
  rs = ports.map((p) => `127.0.0.1:${p}`);
});
afterAll(async () => {
  await nginx?.stop();
});
const upgradedPids: number[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
  for (const pid of upgradedPids.splice(0)) {
    // Only if that PID is still one of our agents (a PID can be reused once its process is gone).
    let cmd = "";
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (dir && cmd.includes("director-agent") && cmd.includes(dir)) process.kill(pid, "SIGKILL");
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface Daemon {
  proc: ChildProcess;
  logs: Record<string, unknown>[];
  /** Resolves on the first log line with this message from index `from`; rejects if the agent exits first (unless allowExit). */
  waitLog(msg: string, from?: number, allowExit?: boolean): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

function startDaemon(configFile: string, stateDir: string): Promise<Daemon> {
  const proc = spawn(process.execPath, [BIN, "--config", configFile, "--state-dir", stateDir], { stdio: ["ignore", "pipe", "pipe"] });
  procs.push(proc);
  const logs: Record<string, unknown>[] = [];
  const waiters: { msg: string; from: number; resolve: (l: Record<string, unknown>) => void }[] = [];
  let buf = "";
  let stderr = "";
  proc.stderr!.on("data", (d) => {
    stderr += d;
  });
  proc.stdout!.on("data", (d) => {
    buf += d;
    let i = buf.indexOf("\n");
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      i = buf.indexOf("\n");
      try {
        logs.push(JSON.parse(line));
      } catch {
        continue;
      }
      for (const w of [...waiters]) {
        const hit = logs.slice(w.from).find((l) => l.msg === w.msg);
        if (hit) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(hit);
        }
      }
    }
  });
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  const d: Daemon = {
    proc,
    logs,
    exited,
    waitLog: (msg, from = 0, allowExit = false) => {
      const hit = logs.slice(from).find((l) => l.msg === msg);
      if (hit) return Promise.resolve(hit);
      if (allowExit) return new Promise<Record<string, unknown>>((resolve) => waiters.push({ msg, from, resolve }));
      return Promise.race([
        new Promise<Record<string, unknown>>((resolve) => waiters.push({ msg, from, resolve })),
        exited.then((code) => {
          throw new Error(`agent exited (${code}) before "${msg}": ${stderr}`);
        }),
      ]);
    },
  };
  return d.waitLog("director agent started").then(() => d);
}

function writeConfig(file: string, vip: number, apiPort: number, weights: number[]) {
  fs.writeFileSync(
    file,
    stringify({
      api: { listen: `127.0.0.1:${apiPort}` },
      shutdownGraceSeconds: 5,
      virtualServices: [{ address: `127.0.0.1:${vip}`, scheduler: "wrr", realServers: weights.map((w, i) => ({ address: rs[i]!, weight: w })) }],
    }),
  );
}

describe("director-agent process", () => {
  it("SIGHUP under load: applies a valid config as a diff with zero failed connections, rejects an invalid one whole", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-daemon-"));
    const cfg = path.join(dir, "director.yaml");
    const vip = await freePort();
    const apiPort = await freePort();
    writeConfig(cfg, vip, apiPort, [1, 1]);
    const d = await startDaemon(cfg, path.join(dir, "state"));
    const client = createAgentClient(resolveAgentEndpoint({ DIRECTOR_STATE_DIR: path.join(dir, "state") }));
    const held = await holdConnection(vip);

    // Load: 4 concurrent loops of new connections while we reload.
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const loops = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          await httpGet(vip);
          ok++;
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    });
    for (let i = 0; i < 5; i++) {
      writeConfig(cfg, vip, apiPort, i % 2 === 0 ? [1, 1, 1] : [2, 1]);
      const from = d.logs.length;
      d.proc.kill("SIGHUP");
      await d.waitLog("config applied", from);
      // Let the load run through the new config before the next reload.
      const target = ok + 30;
      while (ok < target && failures.length === 0) await new Promise((r) => setTimeout(r, 10));
    }
    const [svc] = await client.service.list.query({});
    expect(svc!.realServers.map((r) => r.weight)).toEqual([1, 1, 1]);

    // An invalid file is rejected whole; the running state stays.
    fs.writeFileSync(cfg, "virtualServices:\n  - address: 127.0.0.1:99999\n    scheduler: nope\n");
    const from = d.logs.length;
    d.proc.kill("SIGHUP");
    const rejected = await d.waitLog("reload rejected: configuration invalid, running state kept", from);
    expect(JSON.stringify(rejected.errors)).toMatch(/line 2/);
    stop = true;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(150);
    expect(await held.again()).toMatch(/^rs\d$/); // the listener (and this connection) survived every reload
    const [after] = await client.service.list.query({});
    expect(after!.realServers.map((r) => r.weight)).toEqual([1, 1, 1]);
    held.close();
    client.close();
    d.proc.kill("SIGTERM");
    expect(await d.exited).toBe(0);
  });

  it("a restart keeps runtime changes: admin states and weights", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-daemon-"));
    const cfg = path.join(dir, "director.yaml");
    const state = path.join(dir, "state");
    const vip = await freePort();
    writeConfig(cfg, vip, await freePort(), [1, 1, 1]);
    let d = await startDaemon(cfg, state);
    let client = createAgentClient(resolveAgentEndpoint({ DIRECTOR_STATE_DIR: state }));
    const key = { protocol: "tcp" as const, address: `127.0.0.1:${vip}` };
    await client.config.change.mutate({
      ops: [
        { op: "realServer.setAdminState", key, address: rs[0]!, state: "draining" },
        { op: "realServer.setAdminState", key, address: rs[1]!, state: "maintenance" },
        { op: "realServer.edit", key, address: rs[2]!, patch: { weight: 7 } },
      ],
    });
    client.close();
    d.proc.kill("SIGTERM");
    expect(await d.exited).toBe(0);
    expect((fs.statSync(path.join(state, "agent.token")).mode & 0o777).toString(8)).toBe("600");

    d = await startDaemon(cfg, state);
    client = createAgentClient(resolveAgentEndpoint({ DIRECTOR_STATE_DIR: state }));
    const [svc] = await client.service.list.query({});
    expect(svc!.realServers.map((r) => [r.adminState, r.weight])).toEqual([
      ["draining", 1],
      ["maintenance", 1],
      ["active", 7],
    ]);
    for (let i = 0; i < 3; i++) expect((await httpGet(vip)).trim()).toBe("rs3");
    client.close();
    d.proc.kill("SIGTERM");
    expect(await d.exited).toBe(0);
  });

  it("SIGTERM: stops accepting at once, lets a held connection finish, then exits 0", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-daemon-"));
    const cfg = path.join(dir, "director.yaml");
    const vip = await freePort();
    writeConfig(cfg, vip, await freePort(), [1]);
    const d = await startDaemon(cfg, path.join(dir, "state"));
    const held = await holdConnection(vip);
    const from = d.logs.length;
    d.proc.kill("SIGTERM");
    await d.waitLog("shutting down: no longer accepting", from);
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port: vip });
      s.on("connect", () => {
        s.destroy();
        resolve("connected");
      });
      s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    });
    expect(refused).toBe("ECONNREFUSED");
    expect(await held.again()).toBe("rs1");
    expect(d.proc.exitCode).toBeNull();
    held.close();
    expect(await d.exited).toBe(0);
  });
});

describe("hitless reload and upgrade", () => {
  it("20 reloads and 3 binary upgrades under wrk load: zero failed connections", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-upgrade-"));
    const cfg = path.join(dir, "director.yaml");
    const state = path.join(dir, "state");
    const vip = await freePort();
    const apiPort = await freePort();
    writeConfig(cfg, vip, apiPort, [1, 1, 1]);
    const d = await startDaemon(cfg, state);
    const lua = fileURLToPath(new URL("../bench/wrk-json.lua", import.meta.url));
    const wrk = spawn("wrk", ["-t1", "-c16", "-d15s", "--timeout", "5s", "-s", lua, "-H", "Connection: close", `http://127.0.0.1:${vip}/`], { stdio: ["ignore", "pipe", "pipe"] });
    procs.push(wrk);
    let wrkOut = "";
    wrk.stdout!.on("data", (x) => {
      wrkOut += x;
    });
    const wrkDone = new Promise<void>((r) => wrk.once("exit", () => r()));
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      writeConfig(cfg, vip, apiPort, i % 2 === 0 ? [2, 1, 1] : [1, 1, 1]);
      const from = d.logs.length;
      d.proc.kill("SIGHUP");
      await d.waitLog("config applied", from);
    }
    const pids = new Set<number>([d.proc.pid!]);
    const apiPid = () => (JSON.parse(fs.readFileSync(path.join(state, "api.json"), "utf8")) as { pid: number }).pid;
    try {
      for (let u = 0; u < 3; u++) {
        const pid = apiPid();
        const from = d.logs.length;
        process.kill(pid, "SIGUSR2");
        // The old process logs its hand-over; the new one shares the first process's stdout.
        await d.waitLog("upgrade: the new process is serving; draining this one", from, true);
        const next = apiPid();
        expect(pids.has(next)).toBe(false);
        pids.add(next);
      }
    } finally {
      // Processes started by the upgrades are ours too: afterEach ends any still running, by PID.
      upgradedPids.push(...pids);
    }
    expect(Date.now() - started).toBeLessThan(15_000); // everything happened while wrk was running
    await wrkDone;
    const json = JSON.parse(/^JSON:(.*)$/m.exec(wrkOut)![1]!) as Record<string, number>;
    expect(json.requests).toBeGreaterThan(500);
    expect({ connect: json.err_connect, read: json.err_read, write: json.err_write, status: json.err_status, timeout: json.err_timeout }).toEqual({
      connect: 0,
      read: 0,
      write: 0,
      status: 0,
      timeout: 0,
    });
    // The last process serves and answers its API; stop it by the PID it published.
    const last = (JSON.parse(fs.readFileSync(path.join(state, "api.json"), "utf8")) as { pid: number }).pid;
    const client = createAgentClient(resolveAgentEndpoint({ DIRECTOR_STATE_DIR: state }));
    expect((await client.info.query()).pid).toBe(last);
    client.close();
    process.kill(last, "SIGTERM");
  }, 60_000);
});

describe("director-agent check-config and bad files", () => {
  it("check-config: exit 0 for a valid file, 1 with every problem by line and field", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-check-"));
    const good = path.join(dir, "good.yaml");
    writeConfig(good, 8080, 9443, [1, 2]);
    const ok = spawnSync(process.execPath, [BIN, "check-config", good], { encoding: "utf8" });
    expect(ok.status).toBe(0);
    const bad = path.join(dir, "bad.yaml");
    fs.writeFileSync(
      bad,
      [
        "virtualServices:",
        "  - address: 127.0.0.1:8080",
        "    scheduler: fastest",
        "    realServers:",
        "      - address: 127.0.0.1:0",
        "      - address: 10.0.0.1:80",
        "        weight: 70000",
        "    bogus: 1",
        "",
      ].join("\n"),
    );
    const r = spawnSync(process.execPath, [BIN, "check-config", bad], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/line 3: virtualServices\.0\.scheduler/);
    expect(r.stderr).toMatch(/line 5: virtualServices\.0\.realServers\.0\.address: port 0 is out of range/);
    expect(r.stderr).toMatch(/line 7: virtualServices\.0\.realServers\.1\.weight/);
    expect(r.stderr).toMatch(/bogus/);
  });

  it("import-keepalived: YAML on stdout that check-config accepts, what it cannot import by line on stderr", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-import-"));
    const fixture = fileURLToPath(new URL("./fixtures/keepalived/keepalived.conf.quorum", import.meta.url));
    const r = spawnSync(process.execPath, [BIN, "import-keepalived", fixture], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/keepalived\.conf\.quorum:\d+: /);
    const out = path.join(dir, "imported.yaml");
    fs.writeFileSync(out, r.stdout);
    const check = spawnSync(process.execPath, [BIN, "check-config", out], { encoding: "utf8" });
    expect(check.status, check.stderr).toBe(0);
    expect(r.stdout).toMatch(/quorum:/);
  });

  it("refuses to start on malformed YAML, with the line, and writes no state", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-check-"));
    const bad = path.join(dir, "bad.yaml");
    fs.writeFileSync(bad, "virtualServices:\n  - address: [127.0.0.1:80\n");
    const r = spawnSync(process.execPath, [BIN, "--config", bad, "--state-dir", path.join(dir, "state")], { encoding: "utf8", timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/line \d+/);
    expect(fs.existsSync(path.join(dir, "state", "state.json"))).toBe(false);
  });
});
