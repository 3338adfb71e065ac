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
 * took 1-5 ms. Its cost is reading the line (libedit, ~1.7 µs a character): measured p50 for a rule with a numgen
 * map, session vs `nft -f`: 129 characters 1.2 vs 12.2 ms, 1,171: 2.3 vs 12.5, 4,673: 8.2 vs 14.0, 9,365: 16.3 vs
 * 16.4, 23,550: 45.9 vs 24.5. So batches above SESSION_MAX_CHARS (a rewritten map of many servers, the first load
 * of a table) go through `nft -f`.
 *
 * The session knows a batch is done by the line after it: a marker nft cannot parse, which it reports on
 * stderr with the line's text; an error reported before that is the batch's own. A session that exits or has
 * read SESSION_MAX_TOTAL characters (libedit keeps a history of every line) is ended and the next batch starts a
 * new one. One that does not answer in time is killed, and its batch refused only once it has exited (never
 * applied after its caller was told it failed); one that exits without having answered anything (an nft built
 * without its interactive CLI) hands its batch to `nft -f`. If new sessions twice in a row answer nothing,
 * interactive mode is given up for ten minutes: every batch goes through `nft -f`. Scripts that are not safe to put on one line
 * (comments, lists over several lines) also go through `nft -f`.
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

/** Larger batches go through `nft -f` (reading a line costs the session ~1.7 µs a character; see above). */
export const SESSION_MAX_CHARS = 8 * 1024;
/** Characters a session reads before it is replaced (its line history grows with each). */
export const SESSION_MAX_TOTAL = 16 * 1024 * 1024;
/** How long a batch may take before its nft is killed. */
const SESSION_TIMEOUT_MS = 20_000;
/** How many new sessions in a row may fail to answer their first batch before interactive mode is given up… */
const SESSION_MAX_DEAD_STARTS = 2;
/** …for this long (then tried again). */
const SESSION_GIVE_UP_MS = 10 * 60_000;

/**
 * What cannot be one line: a comment (`#` would swallow the rest of the line), a line continued (`\`), an element
 * list or block spread over lines (`,` or `{` at the end, `}` at the start: "; " is not whitespace there). The
 * agent's renderers write none of these; a script that has one goes through `nft -f`, where newlines stay.
 */
const NOT_ONE_LINE = /#|[\\,{]\s*$|^\s*}/m;

interface Pending {
  marker: string;
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  script: string;
}

/** One `nft -i` and what it has said. Its handlers keep working after it stops being the current one. */
interface Proc {
  child: ChildProcessWithoutNullStreams;
  stderr: string;
  /** Characters it has read. */
  read: number;
  /** Batches it answered. */
  answered: number;
  pending: Pending | undefined;
  exited: boolean;
  exit: Promise<void>;
}

export class NftSession {
  private proc: Proc | undefined;
  private seq = 0;
  /** New sessions in a row that did not answer their first batch. */
  private deadStarts = 0;
  /** Until then, interactive mode is not tried (it did not work): every batch goes through `nft -f`. */
  private unusableUntil = 0;
  /** Batches run one after the other. */
  private queue: Promise<void> = Promise.resolve();

  /**
   * command: how nft is started (tests run it in a namespace: ["ip", "netns", "exec", NS, "nft"]);
   * oneShot: what takes the batches the session does not (`nft -f`);
   * timeoutMs: how long a batch may take (tests shorten it).
   */
  constructor(
    private readonly command: readonly string[] = ["nft"],
    private readonly oneShot: (script: string) => Promise<void> = nft,
    private readonly timeoutMs = SESSION_TIMEOUT_MS,
  ) {}

  /** The pid of the session's nft, if one runs (tests). */
  get pid(): number | undefined {
    return this.proc?.child.pid;
  }

  /** Applies one batch (lines of nft commands) as one transaction; rejects with nft's error. */
  run(script: string): Promise<void> {
    const next = this.queue.then(() =>
      Date.now() < this.unusableUntil || script.length > SESSION_MAX_CHARS || NOT_ONE_LINE.test(script) ? this.oneShot(script) : this.send(script),
    );
    this.queue = next.catch(() => {});
    return next;
  }

  /**
   * Ends the session's nft: it reads to the end of its input and exits, so a batch it was sent is still applied
   * and answered (its promise settles as usual); the next run() starts a new one.
   */
  close(): void {
    const p = this.proc;
    this.proc = undefined;
    if (p) this.end(p);
  }

  private send(script: string): Promise<void> {
    const line = script
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "")
      .join("; ");
    if (this.proc && this.proc.read + line.length > SESSION_MAX_TOTAL) this.close();
    const p = this.proc ?? this.start();
    p.read += line.length;
    const marker = `director-batch-end-${++this.seq}`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => void this.timedOut(p), this.timeoutMs);
      p.pending = { marker, resolve, reject, timer, script };
      p.child.stdin.write(`${line}\n${marker}\n`);
    });
  }

  /** A new session that answered nothing: twice in a row, and interactive mode is given up for a while. */
  private deadStart(): void {
    if (++this.deadStarts < SESSION_MAX_DEAD_STARTS) return;
    this.deadStarts = 0;
    this.unusableUntil = Date.now() + SESSION_GIVE_UP_MS;
  }

  /**
   * No answer in time: the nft is killed, and the batch is refused only once it has exited, so it cannot be
   * applied after the caller was told it failed (the kernel applied it whole or not at all; the caller reads its
   * table again). A new session that never answers, twice in a row, means interactive mode does not work here.
   */
  private async timedOut(p: Proc): Promise<void> {
    const pending = p.pending;
    if (!pending) return;
    p.pending = undefined;
    if (this.proc === p) this.proc = undefined;
    if (p.answered === 0) this.deadStart();
    p.child.kill("SIGKILL");
    await p.exit;
    pending.reject(new Error(`nft did not answer within ${this.timeoutMs / 1000} s and was stopped; its batch may or may not have been applied`));
  }

  private start(): Proc {
    // HOME: nft's interactive mode keeps a history file there; this one must not write any.
    const child = spawn(this.command[0]!, [...this.command.slice(1), "-i"], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, HOME: "/nonexistent" } });
    let exited!: () => void;
    const p: Proc = { child, stderr: "", read: 0, answered: 0, pending: undefined, exited: false, exit: new Promise((r) => (exited = r)) };
    this.proc = p;
    child.stdout.resume(); // nothing of interest is written there
    // An idle session does not keep the agent running (a pending batch's timer does, while it waits).
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      p.stderr += d;
      this.check(p);
    });
    child.stdin.on("error", () => {}); // an exited nft: reported by "close"
    const gone = (why: string) => {
      if (p.exited) return;
      p.exited = true;
      if (this.proc === p) this.proc = undefined;
      exited();
      const pending = p.pending;
      if (!pending) return;
      p.pending = undefined;
      clearTimeout(pending.timer);
      const said = p.stderr.trim().split("\n")[0];
      if (p.answered === 0) {
        // It left without answering anything (an nft built without its interactive CLI says so and exits): the
        // batch goes through `nft -f` instead. Our batches can be applied again (each chain is flushed before its
        // rules are added), in case it was applied before nft died.
        this.deadStart();
        this.oneShot(pending.script).then(pending.resolve, pending.reject);
        return;
      }
      pending.reject(new Error(said ? `${why}: ${said}` : why));
    };
    child.on("error", (e: NodeJS.ErrnoException) => {
      gone(e.code === "ENOENT" ? "nft is not installed (Debian package nftables)" : `cannot run nft: ${e.message}`);
    });
    // "close": the exit and the end of its stderr, so an answer written just before exiting is read first.
    child.on("close", (code, signal) => gone(`nft exited (${signal ?? code})`));
    return p;
  }

  /** Settles the pending batch once nft reported its marker line (and the caret line after it). */
  private check(p: Proc): void {
    const pending = p.pending;
    if (!pending) return;
    const at = p.stderr.indexOf(`\n${pending.marker}\n`);
    if (at < 0) return;
    const end = p.stderr.indexOf("\n", at + pending.marker.length + 2);
    if (end < 0) return;
    // Before the marker's own report ("Error: syntax error…" on the line before it): the batch's own output.
    // Only errors refuse it; a warning nft prints about an applied batch does not.
    const before = p.stderr.slice(0, at);
    const own = before.lastIndexOf("Error:");
    const output = own < 0 ? before : before.slice(0, own);
    const error = output.split("\n").find((l) => /(^|: )Error: /.test(l));
    p.stderr = p.stderr.slice(end + 1);
    p.pending = undefined;
    p.answered++;
    this.deadStarts = 0;
    clearTimeout(pending.timer);
    if (error === undefined) pending.resolve();
    else pending.reject(new Error(`nft refused the ruleset: ${error.trim()}`));
  }

  /** Lets p read to the end of its input and exit; one that does not is stopped. */
  private end(p: Proc): void {
    p.child.stdin.end();
    const kill = setTimeout(() => p.child.kill("SIGKILL"), p.pending ? this.timeoutMs : 2_000);
    kill.unref();
    void p.exit.then(() => clearTimeout(kill));
  }
}
