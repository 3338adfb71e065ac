/**
 * A throwaway PostgreSQL server for tests, from Debian's binaries (package `postgresql`): initdb into a fresh
 * temp dir, listening on 127.0.0.1 on a free port and on a unix socket inside that dir, trust auth, superuser
 * `director`. As root the server runs as the `postgres` system user (initdb and postgres refuse to run as root);
 * otherwise as the current user. Every command is an argument array (execFile), never a shell string.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const PG_LIB = "/usr/lib/postgresql";
const SUPERUSER = "director";
const SYSTEM_USER = "postgres";

export const isRoot = (): boolean => process.getuid?.() === 0;

/** The newest /usr/lib/postgresql/<major>/bin holding initdb, pg_ctl, postgres, pg_isready and createdb. */
export function postgresBinDir(): string | undefined {
  let majors: string[];
  try {
    majors = fs.readdirSync(PG_LIB).filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  majors.sort((a, b) => Number(b) - Number(a));
  for (const m of majors) {
    const bin = path.join(PG_LIB, m, "bin");
    if (["initdb", "pg_ctl", "postgres", "pg_isready", "createdb"].every((b) => isExecutable(path.join(bin, b)))) return bin;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command (argument array) and resolves its exit code and output; never rejects on a non-zero exit. */
function run(file: string, args: string[], opts: { cwd: string; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: opts.cwd, timeout: opts.timeoutMs ?? 60_000, env: { ...process.env, LC_ALL: "C", PGTZ: "UTC" } }, (err, stdout, stderr) => {
      if (err && typeof err.code !== "number") return reject(new Error(`${file} ${args.join(" ")}: ${err.message}\n${stderr}`));
      resolve({ code: typeof err?.code === "number" ? err.code : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function mustRun(file: string, args: string[], opts: { cwd: string; timeoutMs?: number }): Promise<RunResult> {
  const r = await run(file, args, opts);
  if (r.code !== 0) throw new Error(`${path.basename(file)} ${args.join(" ")} exited with ${r.code}:\n${r.stdout}${r.stderr}`);
  return r;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.listen(0, "127.0.0.1", resolve);
  });
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface TestPostgres {
  /** postgres://director@127.0.0.1:<port>/<database> of the database created at start. */
  url: string;
  port: number;
  /** The temp dir holding the data directory, the socket directory and the server log. */
  dir: string;
  /** The postmaster's PID. */
  pid: number;
  /** Creates another (empty) database and resolves its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (pg_ctl stop -m fast) and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts the server and creates `database`. Throws (with the server log) if the binaries are missing or the
 * server does not come up: callers decide whether a missing PostgreSQL is a skip or a failure.
 */
export async function startPostgres(database = "director_test"): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (!bin) {
    throw new Error(`PostgreSQL server binaries not found under ${PG_LIB}/<major>/bin (initdb, pg_ctl, postgres, pg_isready, createdb): install the Debian package "postgresql" (apt-get install postgresql)`);
  }
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`bad database name ${JSON.stringify(database)}`);
  const asRoot = isRoot();
  // As root the server runs as `postgres`: run its commands through runuser (argument arrays all the way down).
  const server = (tool: string, args: string[]): [string, string[]] => (asRoot ? ["runuser", ["-u", SYSTEM_USER, "--", path.join(bin, tool), ...args]] : [path.join(bin, tool), args]);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-pg-"));
  const data = path.join(dir, "data");
  const sock = path.join(dir, "sock");
  const log = path.join(dir, "server.log");
  let pid = 0;
  let stopped = false;

  const readLog = (): string => {
    try {
      return fs.readFileSync(log, "utf8").split("\n").slice(-30).join("\n");
    } catch {
      return "(no server log)";
    }
  };
  const removeDir = () => fs.rmSync(dir, { recursive: true, force: true });
  // Last resort if the test process exits without stop() (a crash, an interrupted run): end the postmaster we
  // started (by its PID: SIGQUIT is PostgreSQL's immediate shutdown) and remove the temp dir.
  const onExit = () => {
    if (stopped) return;
    if (pid > 0) {
      try {
        process.kill(pid, "SIGQUIT");
      } catch {}
    }
    try {
      removeDir();
    } catch {}
  };

  try {
    fs.mkdirSync(sock, { mode: 0o700 });
    if (asRoot) {
      const ids = await mustRun("id", ["-u", SYSTEM_USER], { cwd: dir });
      const gids = await mustRun("id", ["-g", SYSTEM_USER], { cwd: dir });
      const uid = Number(ids.stdout.trim());
      const gid = Number(gids.stdout.trim());
      fs.chownSync(dir, uid, gid);
      fs.chownSync(sock, uid, gid);
    }
    const [initFile, initArgs] = server("initdb", ["-D", data, "--auth=trust", "-U", SUPERUSER, "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions"]);
    await mustRun(initFile, initArgs, { cwd: dir, timeoutMs: 120_000 });

    // A bound port can be taken between freePort() and the server's bind: retry a few times on a new port.
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      // Overwriting keeps initdb's file and its owner (the postgres user when root); the server only reads it.
      fs.writeFileSync(
        path.join(data, "postgresql.auto.conf"),
        [
          "# director test server",
          "listen_addresses = '127.0.0.1'",
          `port = ${port}`,
          `unix_socket_directories = '${sock}'`,
          "fsync = off",
          "synchronous_commit = off",
          "full_page_writes = off",
          "max_connections = 100",
          "shared_buffers = '32MB'",
          "dynamic_shared_memory_type = mmap",
          "logging_collector = off",
          "",
        ].join("\n"),
      );
      const [ctlFile, ctlArgs] = server("pg_ctl", ["start", "-D", data, "-l", log, "-w", "-t", "60"]);
      const started = await run(ctlFile, ctlArgs, { cwd: dir, timeoutMs: 90_000 });
      if (started.code === 0) break;
      const serverLog = readLog();
      if (attempt < 3 && /could not bind|address already in use/i.test(serverLog)) continue;
      throw new Error(`pg_ctl start failed (exit ${started.code}):\n${started.stdout}${started.stderr}\nserver log:\n${serverLog}`);
    }
    pid = postmasterPid(data);
    if (!(pid > 0)) throw new Error(`no postmaster PID in ${data}/postmaster.pid`);
    process.once("exit", onExit);

    // pg_ctl -w already waited; pg_isready confirms the TCP listener accepts connections (bounded retry).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await run(path.join(bin, "pg_isready"), ["-q", "-h", "127.0.0.1", "-p", String(port), "-U", SUPERUSER, "-d", "postgres", "-t", "5"], { cwd: dir });
      if (r.code === 0) break;
      if (Date.now() > deadline) throw new Error(`PostgreSQL on 127.0.0.1:${port} not ready (pg_isready exit ${r.code})\nserver log:\n${readLog()}`);
      await new Promise((res) => setTimeout(res, 100));
    }

    const urlOf = (db: string) => `postgres://${SUPERUSER}@127.0.0.1:${port}/${db}`;
    const createDatabase = async (name: string): Promise<string> => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${JSON.stringify(name)}`);
      await mustRun(path.join(bin, "createdb"), ["-h", "127.0.0.1", "-p", String(port), "-U", SUPERUSER, name], { cwd: dir });
      return urlOf(name);
    };
    await createDatabase(database);

    return {
      url: urlOf(database),
      port,
      dir,
      pid,
      createDatabase,
      async stop() {
        if (stopped) return;
        const [stopFile, stopArgs] = server("pg_ctl", ["stop", "-D", data, "-m", "fast", "-w", "-t", "30"]);
        const r = await run(stopFile, stopArgs, { cwd: dir, timeoutMs: 60_000 });
        if (r.code !== 0 && isAlive(pid)) {
          // pg_ctl could not stop it: immediate shutdown of the postmaster we started, by its PID.
          process.kill(pid, "SIGQUIT");
          await waitGone(pid, 10_000);
        }
        stopped = true;
        process.off("exit", onExit);
        removeDir();
        if (r.code !== 0) throw new Error(`pg_ctl stop exited with ${r.code}: ${r.stdout}${r.stderr}`);
      },
    };
  } catch (e) {
    // Leave nothing behind when start-up fails half way (pg_ctl -w can time out with the postmaster running).
    pid ||= postmasterPid(data);
    if (pid > 0 && isAlive(pid)) {
      const [stopFile, stopArgs] = server("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w", "-t", "30"]);
      await run(stopFile, stopArgs, { cwd: dir }).catch(() => undefined);
      if (isAlive(pid)) process.kill(pid, "SIGKILL");
    }
    stopped = true;
    process.off("exit", onExit);
    removeDir();
    throw e;
  }
}

function postmasterPid(data: string): number {
  try {
    const n = Number(fs.readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
