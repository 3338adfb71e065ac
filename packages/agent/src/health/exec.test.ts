import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { HealthCheck } from "@director/model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exec } from "./exec.js";
import type { CheckTarget } from "./types.js";

const spec = (fields: Record<string, unknown>) => HealthCheck.parse({ type: "exec", ...fields }) as Extract<HealthCheck, { type: "exec" }>;
const target: CheckTarget = { host: "10.0.0.7", port: 8080, family: 4 };

let dir: string;
/** A file a smuggled shell command would create; it must never appear. */
let marker: string;

function script(name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-exec-"));
  fs.chmodSync(dir, 0o777); // the `user` test writes here as nobody
  marker = path.join(dir, "pwned");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const run = (fields: Record<string, unknown>, ms = 2000, at = target) => exec(spec(fields))(at, AbortSignal.timeout(ms));

describe("exec (keepalived MISC_CHECK)", () => {
  it.each([
    { code: 0, dynamic: false, ok: true, reason: "exit 0", weight: undefined },
    { code: 1, dynamic: false, ok: false, reason: "exit 1", weight: undefined },
    { code: 5, dynamic: false, ok: false, reason: "exit 5", weight: undefined },
    { code: 0, dynamic: true, ok: true, reason: "exit 0", weight: undefined },
    { code: 1, dynamic: true, ok: false, reason: "exit 1", weight: undefined },
    { code: 2, dynamic: true, ok: true, reason: "exit 2, weight 0", weight: 0 },
    { code: 5, dynamic: true, ok: true, reason: "exit 5, weight 3", weight: 3 },
    { code: 255, dynamic: true, ok: true, reason: "exit 255, weight 253", weight: 253 },
  ])("exit $code (dynamic $dynamic) → ok=$ok, weight $weight", async ({ code, dynamic, ok, reason, weight }) => {
    const outcome = await run({ command: [script(`exit${code}.sh`, `exit ${code}`)], dynamic });
    expect(outcome).toMatchObject({ ok, reason });
    expect(outcome.weight).toBe(weight);
  });

  it("kills the program and its process group at the timeout", async () => {
    const pidFile = path.join(dir, "sleeper.pid");
    const file = script("sleep.sh", `sleep 30 &\necho $! > ${pidFile}\nwait`);
    const outcome = await run({ command: [file] }, 300);
    expect(outcome.ok).toBe(false);
    expect(outcome.reason).toMatch(/^killed after timeout \(\d+ ms\)$/);
    // The grandchild `sleep` went with the group: gone, or a zombie waiting for init to reap it.
    const pid = Number(fs.readFileSync(pidFile, "utf8"));
    const alive = () => {
      try {
        return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(alive()).toBe(false);
  });

  it("reports a missing program by name and code", async () => {
    const outcome = await run({ command: [path.join(dir, "missing"), "--token=s3cr3t"] });
    expect(outcome).toMatchObject({ ok: false, reason: `cannot run ${path.join(dir, "missing")}: ENOENT` });
  });

  it("never puts the arguments in the reason", async () => {
    const outcome = await run({ command: [script("fail.sh", "exit 1"), "--password=hunter2"] });
    expect(outcome.reason).toBe("exit 1");
  });

  it("runs in /, with only PATH from the agent's environment and stdio closed", async () => {
    const out = path.join(dir, "env.out");
    process.env.DIRECTOR_TEST_SECRET = "do-not-leak";
    try {
      await run({ command: [script("env.sh", `{ pwd; env | sort; } > ${out}`)] });
    } finally {
      delete process.env.DIRECTOR_TEST_SECRET;
    }
    const [cwd, ...env] = fs.readFileSync(out, "utf8").trim().split("\n");
    expect(cwd).toBe("/");
    expect(env.join("\n")).not.toContain("DIRECTOR_TEST_SECRET");
    expect(env.some((line) => line.startsWith("PATH="))).toBe(true);
  });
});

describe("exec never uses a shell", () => {
  const hostile = [
    `; touch ${"MARKER"}`,
    "$(touch MARKER)",
    "`touch MARKER`",
    "&& touch MARKER",
    "| touch MARKER",
    "> MARKER",
    "' ; touch MARKER ; '",
    '" ; touch MARKER ; "',
    "\n touch MARKER",
    "*",
    "~",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, meant to arrive unexpanded.
    "$HOME $$ ${IFS}",
  ];

  it("passes every metacharacter through verbatim, as execve arguments", async () => {
    const out = path.join(dir, "args.out");
    const echo = script("args.sh", `for a in "$@"; do printf '%s\\0' "$a"; done > ${out}`);
    const args = hostile.map((a) => a.replaceAll("MARKER", marker));
    const outcome = await run({ command: [echo, ...args, "%h:%p", "host=%h"] });
    expect(outcome).toMatchObject({ ok: true, reason: "exit 0" });
    const received = fs.readFileSync(out, "utf8").split("\0").slice(0, -1);
    expect(received).toEqual([...args, "10.0.0.7:8080", "host=10.0.0.7"]);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("substitutes a hostile host verbatim too", async () => {
    const out = path.join(dir, "host.out");
    const echo = script("host.sh", `printf '%s' "$1" > ${out}`);
    const host = `127.0.0.1; touch ${marker}`;
    await run({ command: [echo, "%h"] }, 2000, { host, port: 1, family: 4 });
    expect(fs.readFileSync(out, "utf8")).toBe(host);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("treats a program field with metacharacters as a file name", async () => {
    for (const program of [`${script("ok.sh", "exit 0")}; touch ${marker}`, `sh -c 'touch ${marker}'`, `$(touch ${marker})`]) {
      const outcome = await run({ command: [program] });
      expect(outcome).toMatchObject({ ok: false, reason: `cannot run ${program}: ENOENT` });
    }
    expect(fs.existsSync(marker)).toBe(false);
  });

  it.skipIf(process.getuid?.() !== 0)("refuses a user field with metacharacters before running anything", async () => {
    const ran = path.join(dir, "ran");
    const file = script("touch.sh", `touch ${ran}`);
    for (const user of [`nobody; touch ${marker}`, "$(id)", "-a", "nobody nobody"]) {
      const outcome = await run({ command: [file], user });
      expect(outcome).toMatchObject({ ok: false, reason: `cannot run ${file}: bad user name "${user}"` });
    }
    expect(fs.existsSync(ran)).toBe(false);
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe.skipIf(process.getuid?.() !== 0)("exec as another user (agent running as root)", () => {
  it("runs as that user's uid and gid", async () => {
    const out = path.join(dir, "id.out");
    const outcome = await run({ command: [script("id.sh", `id -u > ${out}; id -g >> ${out}`)], user: "nobody" });
    expect(outcome).toMatchObject({ ok: true });
    const [uid, gid] = fs.readFileSync(out, "utf8").trim().split("\n").map(Number);
    expect(uid).not.toBe(0);
    expect(gid).not.toBe(0);
  });

  it("fails in words for a user that does not exist", async () => {
    const file = script("noop.sh", "exit 0");
    expect(await run({ command: [file], user: "no-such-user-here" })).toMatchObject({
      ok: false,
      reason: `cannot run ${file}: no user "no-such-user-here"`,
    });
  });
});
