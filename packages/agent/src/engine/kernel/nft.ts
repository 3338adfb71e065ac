/**
 * Running nft. Each ruleset change is one batch, which the kernel applies as one transaction (all or nothing;
 * existing connections keep their conntrack mapping). Argument arrays, no shell.
 *
 * Two ways to send a batch:
 *   nft(script)            `nft -f -`, a process per batch.
 *   NftSession.run(script) a long-lived `nft -i` that takes each batch as one line (one line is one transaction:
 *                          nft runs a line as one buffer, like a file), for the small batches of everyday changes.
 * Why the session: measured on this machine (kernel 6.18, nft 1.0.6) a `nft -f` that commits anything costs
 * 17-25 ms, of which ~5 ms is starting nft and 5-15 ms is closing its netlink socket after a commit (the
 * kernel waits there for the transaction's release: an RCU grace period); the same commit through the session
 * took 4-5 ms. Its cost is reading the line (libedit, ~0.25 µs a character), so batches above SESSION_MAX_CHARS
 * (the first load of a large table) still go through `nft -f`.
 *
 * The session knows a batch is done by the line after it: a marker nft cannot parse, which it reports on
 * stderr with the line's text; whatever stderr holds before that report is the batch's own error. A session
 * that fails to answer in time, exits, or has read SESSION_MAX_TOTAL characters (libedit keeps a history of
 * every line) is ended and the next batch starts a new one; if the first batch of a new session gets no answer,
 * interactive mode is taken as unusable here and every batch goes through `nft -f`.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";

export function nft(script: string, args: string[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("nft", [...args, "-f", "-"], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === "ENOENT" ? "nft is not installed (Debian package nftables)" : `cannot run nft: ${e.message}`)),
    );
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`nft refused the ruleset: ${stderr.trim().split("\n")[0]}`))));
    child.stdin.end(script);
  });
}

/** Runs `nft ARGS…` and returns its standard output (for listing, e.g. counters as JSON). */
export function nftOutput(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("nft", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(err.trim().split("\n")[0] || `nft exited ${code}`))));
  });
}

/** Larger batches go through `nft -f` (reading a line costs the session ~0.25 µs a character). */
export const SESSION_MAX_CHARS = 64 * 1024;
/** Characters a session reads before it is replaced (its line history grows with each). */
export const SESSION_MAX_TOTAL = 16 * 1024 * 1024;
/** How long a batch may take before the session is given up. */
const SESSION_TIMEOUT_MS = 20_000;

interface Pending {
  marker: string;
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class NftSession {
  private child: ChildProcessWithoutNullStreams | undefined;
  private stderr = "";
  private pending: Pending | undefined;
  private seq = 0;
  private read = 0;
  /** Batches the current child answered. */
  private answered = 0;
  /** Interactive mode did not work here: every batch goes through `nft -f`. */
  private unusable = false;
  /** Batches run one after the other. */
  private queue: Promise<void> = Promise.resolve();

  /**
   * command: how nft is started (tests run it in a namespace: ["ip", "netns", "exec", NS, "nft"]);
   * oneShot: what takes the batches the session does not (`nft -f`).
   */
  constructor(
    private readonly command: readonly string[] = ["nft"],
    private readonly oneShot: (script: string) => Promise<void> = nft,
  ) {}

  /** The pid of the session's nft, if one runs (tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Applies one batch (lines of nft commands) as one transaction; rejects with nft's error. */
  run(script: string): Promise<void> {
    const next = this.queue.then(() => (this.unusable || script.length > SESSION_MAX_CHARS ? this.oneShot(script) : this.send(script)));
    this.queue = next.catch(() => {});
    return next;
  }

  /** Ends the session's nft (it exits at the end of its input). */
  close(): void {
    this.end();
  }

  private send(script: string): Promise<void> {
    const line = script
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "")
      .join("; ");
    if (this.child && this.read + line.length > SESSION_MAX_TOTAL) this.end();
    const child = this.child ?? this.start();
    this.read += line.length;
    const marker = `director-batch-end-${++this.seq}`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        // No answer: this session is stuck. If it never answered at all, interactive mode does not work here.
        if (this.answered === 0) this.unusable = true;
        this.fail(new Error(`nft did not answer within ${SESSION_TIMEOUT_MS / 1000} s`));
      }, SESSION_TIMEOUT_MS);
      this.pending = { marker, resolve, reject, timer };
      child.stdin.write(`${line}\n${marker}\n`);
    });
  }

  private start(): ChildProcessWithoutNullStreams {
    // HOME: nft's interactive mode keeps a history file there; this one must not write any.
    const child = spawn(this.command[0]!, [...this.command.slice(1), "-i"], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, HOME: "/nonexistent" } });
    this.child = child;
    this.stderr = "";
    this.read = 0;
    this.answered = 0;
    child.stdout.resume(); // nothing of interest is written there
    // An idle session does not keep the agent running (a pending batch's timer does, while it waits).
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      if (this.child !== child) return;
      this.stderr += d;
      this.check();
    });
    child.stdin.on("error", () => {}); // an exited nft: reported by "exit"
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (this.child !== child) return;
      this.fail(new Error(e.code === "ENOENT" ? "nft is not installed (Debian package nftables)" : `cannot run nft: ${e.message}`));
    });
    child.on("exit", (code, signal) => {
      if (this.child !== child) return;
      this.fail(new Error(`nft exited (${signal ?? code})`));
    });
    return child;
  }

  /** Settles the pending batch once nft reported its marker line (and the caret line after it). */
  private check(): void {
    const p = this.pending;
    if (!p) return;
    const at = this.stderr.indexOf(`\n${p.marker}\n`);
    if (at < 0) return;
    const end = this.stderr.indexOf("\n", at + p.marker.length + 2);
    if (end < 0) return;
    // Before the marker's own report ("Error: syntax error…" on the line before it): the batch's errors.
    const before = this.stderr.slice(0, at);
    const own = before.lastIndexOf("Error:");
    const errors = (own < 0 ? before : before.slice(0, own)).trim();
    this.stderr = this.stderr.slice(end + 1);
    this.pending = undefined;
    this.answered++;
    clearTimeout(p.timer);
    if (errors === "") p.resolve();
    else p.reject(new Error(`nft refused the ruleset: ${errors.split("\n")[0]}`));
  }

  private fail(e: Error): void {
    const p = this.pending;
    this.pending = undefined;
    this.end();
    if (p) {
      clearTimeout(p.timer);
      p.reject(e);
    }
  }

  private end(): void {
    const child = this.child;
    this.child = undefined;
    if (!child) return;
    child.stdin.end();
    // One that does not leave at the end of its input is stopped.
    const kill = setTimeout(() => child.kill("SIGKILL"), 2_000);
    kill.unref();
    child.once("exit", () => clearTimeout(kill));
  }
}
