/**
 * exec — keepalived MISC_CHECK: run a program; exit 0 = up, anything else = down ("exit 1"). With `dynamic`
 * (keepalived `misc_dynamic`): exit 0 = up with the weight unchanged, 1 = down, 2..255 = up with
 * weight = code − 2 (255 → 253). A program killed by a signal is down ("killed by SIGSEGV"); one still running
 * at the timeout is killed with its whole process group (SIGKILL) and is down ("killed after timeout (N ms)"),
 * as keepalived does with `misc_timeout`.
 *
 * The command is an argument array handed to execve (spawn with shell: false): no shell ever parses it, so
 * `;`, `$(…)`, backquotes, `|`, `&&` reach the program as the literal bytes they are. `%h` and `%p` in the
 * arguments (not the program) become the target's host and port, verbatim. The program starts in its own
 * process group (so the kill reaches its children), in `/`, with stdio closed and only PATH from the agent's
 * environment (which may hold secrets). `user` applies when the agent runs as root, as keepalived's script
 * `user`: uid and gid come from `id -- USER` (execFile, argument array), supplementary groups are dropped.
 *
 * Reasons name the program at most, never its arguments, which may carry credentials.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import type { HealthCheck } from "@director/model";
import { runCheck } from "./tcp.js";
import type { CheckerFactory } from "./types.js";

/** Children get PATH and nothing else of the agent's environment (typed loosely: Next.js's types add NODE_ENV). */
const minimalEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? DEFAULT_PATH }) as unknown as NodeJS.ProcessEnv;

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Portable user names (POSIX) plus a trailing "$" (machine accounts); anything else never reaches `id`. */
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*\$?$/;

function lookupUser(user: string, signal: AbortSignal): Promise<{ uid: number; gid: number } | string> {
  if (!USER_NAME.test(user)) return Promise.resolve(`bad user name "${user}"`);
  return new Promise((resolve) => {
    execFile("id", ["--", user], { signal, timeout: 10_000, env: minimalEnv() }, (err, stdout) => {
      const m = /^uid=(\d+)\S* gid=(\d+)/.exec(String(stdout));
      if (err || !m) resolve(`no user "${user}"`);
      else resolve({ uid: Number(m[1]), gid: Number(m[2]) });
    });
  });
}

function stillRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

export const exec: CheckerFactory<Extract<HealthCheck, { type: "exec" }>> = (spec) => (target, signal) =>
  runCheck(signal, async (run) => {
    const [program, ...rest] = spec.command as [string, ...string[]];
    const args = rest.map((arg) => arg.replaceAll("%h", target.host).replaceAll("%p", String(target.port)));
    let ids: { uid: number; gid: number } | undefined;
    if (spec.user !== undefined && process.getuid?.() === 0) {
      run.phase = "looking up the user";
      const found = await lookupUser(spec.user, signal);
      if (typeof found === "string") return run.finish(false, `cannot run ${program}: ${found}`);
      ids = found;
    }
    if (run.settled) return;
    let child: ChildProcess;
    try {
      child = spawn(program, args, {
        shell: false,
        stdio: "ignore",
        detached: true,
        cwd: "/",
        env: minimalEnv(),
        ...ids,
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return run.finish(false, `cannot run ${program}: ${code ?? "invalid command"}`);
    }
    run.timeoutReason = (ms) => `killed after timeout (${ms} ms)`;
    run.onSettle(() => {
      // Only while the child is unreaped is its pid (and so its group id) certainly still ours.
      if (!child.pid || !stillRunning(child)) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    });
    child.on("error", (err: NodeJS.ErrnoException) => run.finish(false, `cannot run ${program}: ${err.code ?? err.message}`));
    child.on("exit", (code, sig) => {
      if (code === null) return run.finish(false, `killed by ${sig ?? "a signal"}`);
      if (code === 0) return run.finish(true, "exit 0");
      if (spec.dynamic && code >= 2) return run.finish(true, `exit ${code}, weight ${code - 2}`, { weight: code - 2 });
      run.finish(false, `exit ${code}`);
    });
  });
