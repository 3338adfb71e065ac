/**
 * tcp — keepalived TCP_CHECK: a real server is up when a TCP connection to the checked port completes within
 * the timeout; the connection is closed at once and nothing is sent. A refusal ("connect ECONNREFUSED"), an
 * unreachable network or the timeout are failures.
 *
 * This file also holds the plumbing the other checkers share, because in keepalived and HAProxy every check is
 * "a connection plus a conversation" with the same rules: settle exactly once, close whatever was opened however
 * the check ends, turn the caller's abort into "timeout after N ms" (N = time elapsed since the check started),
 * and describe failures in words (`runCheck`, `connectTcp`, `errorWords`, `printable`, `compilePattern`).
 */
import net from "node:net";
import type { HealthCheck } from "@director/model";
import type { CheckOutcome, CheckTarget, CheckerFactory } from "./types.js";

type Extra = Pick<CheckOutcome, "weight" | "weightPercent" | "adminRequest">;

/** One running check: how a checker settles its outcome and registers what to undo. */
export interface CheckRun {
  /** performance.now() when the check started. */
  readonly start: number;
  /** True once the outcome is settled: late events must do nothing. */
  readonly settled: boolean;
  /** What the check was doing, appended to a timeout ("timeout after 1000 ms waiting for the SMTP banner"). */
  phase: string;
  /** Replaces the whole timeout reason (exec: "killed after timeout (1000 ms)"). */
  timeoutReason?: (elapsedMs: number) => string;
  /** Settles the check (only the first call counts), then runs every cleanup. */
  finish(ok: boolean, reason: string, extra?: Extra): void;
  /** Registers a cleanup: close a socket, kill a child. Runs however the check settles. */
  onSettle(cleanup: () => void): void;
}

function elapsedMs(start: number): number {
  return performance.now() - start;
}

/**
 * Runs one check body under an AbortSignal. The body reports through `run.finish`; an abort settles with a
 * timeout reason; a body that throws (it should not) settles as a failure. The returned promise never rejects.
 */
export function runCheck(signal: AbortSignal, body: (run: CheckRun) => void | Promise<void>): Promise<CheckOutcome> {
  return new Promise<CheckOutcome>((resolve) => {
    const start = performance.now();
    const cleanups: (() => void)[] = [];
    let settled = false;
    const safely = (fn: () => void) => {
      try {
        fn();
      } catch {
        // A cleanup that fails (socket already closed, child already gone) has nothing left to undo.
      }
    };
    const onAbort = () => {
      const ms = Math.round(elapsedMs(start));
      run.finish(false, run.timeoutReason ? run.timeoutReason(ms) : `timeout after ${ms} ms${run.phase ? ` ${run.phase}` : ""}`);
    };
    const run: CheckRun = {
      start,
      get settled() {
        return settled;
      },
      phase: "",
      finish(ok, reason, extra) {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        for (const cleanup of cleanups.splice(0)) safely(cleanup);
        resolve({ ok, reason, latencyMs: Math.round(elapsedMs(start) * 100) / 100, ...extra });
      },
      onSettle(cleanup) {
        if (settled) safely(cleanup);
        else cleanups.push(cleanup);
      },
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    const fail = (err: unknown) => run.finish(false, `check failed: ${err instanceof Error ? err.message : String(err)}`);
    try {
      const pending = body(run);
      if (pending) pending.catch(fail);
    } catch (err) {
      fail(err);
    }
  });
}

/** "connect ECONNREFUSED": a step and the system's error code (or message when there is no code). */
export function errorWords(step: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e && typeof e.code === "string") return `${step} ${e.code}`;
  return `${step} failed: ${e instanceof Error ? e.message : String(err)}`;
}

/** Text from a peer, made safe for a reason: control characters become spaces, trimmed, capped. */
export function printable(text: string, max = 120): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point.
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** A configured regular expression, or the words for why it does not compile (the checker then always fails). */
export function compilePattern(source: string | undefined): RegExp | string | undefined {
  if (source === undefined) return undefined;
  try {
    return new RegExp(source);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Opens a TCP connection for `run`: destroyed when the run settles; a connect error settles it as
 * "connect <CODE>", a later error as "connection <CODE>" unless `onError` takes it. `onConnect` runs once
 * connected. The phase reads "while connecting" until then.
 */
export function connectTcp(
  target: CheckTarget,
  run: CheckRun,
  onConnect: (socket: net.Socket) => void,
  onError?: (err: Error) => void,
): net.Socket {
  let connected = false;
  run.phase = "while connecting";
  const socket = net.connect({ host: target.host, port: target.port, family: target.family });
  run.onSettle(() => socket.destroy());
  socket.on("error", (err) => {
    if (run.settled) return;
    if (connected && onError) onError(err);
    else run.finish(false, errorWords(connected ? "connection" : "connect", err));
  });
  socket.once("connect", () => {
    connected = true;
    run.phase = "";
    if (!run.settled) onConnect(socket);
  });
  return socket;
}

export const tcp: CheckerFactory<Extract<HealthCheck, { type: "tcp" }>> = () => (target, signal) =>
  runCheck(signal, (run) => {
    connectTcp(target, run, () => run.finish(true, "connected"));
  });
