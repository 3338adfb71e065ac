/**
 * NftSession against the real nft, in a network namespace made and removed here (root, nftables).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { NftSession, SESSION_MAX_CHARS } from "./nft.js";

const NS = `nfts${process.pid % 100000}`;
const list = () => spawnSync("ip", ["netns", "exec", NS, "nft", "list", "ruleset"], { encoding: "utf8" }).stdout;
const oneShots: string[] = [];
const session = new NftSession(["ip", "netns", "exec", NS, "nft"], async (script) => {
  oneShots.push(script);
  execFileSync("ip", ["netns", "exec", NS, "nft", "-f", "-"], { input: script, stdio: ["pipe", "ignore", "pipe"] });
});

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error("needs root (network namespace, nftables)");
  spawnSync("ip", ["netns", "del", NS]);
  execFileSync("ip", ["netns", "add", NS]);
});
afterAll(() => {
  session.close();
  spawnSync("ip", ["netns", "del", NS]);
});

describe("NftSession: one long-lived nft -i, a line per batch", () => {
  it("applies a batch of several lines, and the next one after it, through the same nft", async () => {
    await session.run("add table ip t1\nadd chain ip t1 c { type filter hook input priority 0; policy accept; }\nadd counter ip t1 k\n");
    const pid = session.pid;
    expect(pid).toBeDefined();
    await session.run("add rule ip t1 c tcp dport 9 counter name k\n");
    expect(session.pid).toBe(pid);
    expect(list()).toMatch(/chain c \{[^}]*tcp dport 9 counter name "k"/);
    expect(oneShots).toEqual([]);
  });

  it("a batch with an error is refused whole, with nft's message; the session goes on", async () => {
    await expect(session.run("add table ip t2\nadd rule ip t1 nosuchchain accept\n")).rejects.toThrow(/nft refused the ruleset: Error: .*No such file or directory/);
    expect(list()).not.toMatch(/table ip t2/);
    await session.run("add table ip t3\n");
    expect(list()).toMatch(/table ip t3/);
  });

  it("batches sent at once are applied in order, each settled by its own answer", async () => {
    const results = await Promise.allSettled([
      session.run("add table ip t4\n"),
      session.run("delete table ip nosuch\n"),
      session.run("delete table ip t4\n"),
      session.run("add table ip t5\n"),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect(list()).not.toMatch(/table ip t4/);
    expect(list()).toMatch(/table ip t5/);
  });

  it("a batch too large for a line goes through nft -f", async () => {
    const elements = Array.from({ length: 6000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const script = `add table ip t6\nadd set ip t6 s { type ipv4_addr; }\nadd element ip t6 s { ${elements.join(", ")} }\n`;
    expect(script.length).toBeGreaterThan(SESSION_MAX_CHARS);
    await session.run(script);
    expect(oneShots).toHaveLength(1);
    expect(list()).toMatch(/10\.0\.23\.111/);
  });

  it("a session whose nft died is replaced by a new one at the next batch", async () => {
    const pid = session.pid!;
    process.kill(pid, "SIGKILL");
    await expect.poll(() => session.pid).not.toBe(pid);
    await session.run("add table ip t7\n");
    expect(session.pid).toBeDefined();
    expect(session.pid).not.toBe(pid);
    expect(list()).toMatch(/table ip t7/);
  });

  it("a script that cannot be one line (a comment, a list over lines) goes through nft -f, newlines kept", async () => {
    const before = oneShots.length;
    await session.run("# the agent writes none of these\nadd table ip t8\nadd set ip t8 s { type ipv4_addr;\n elements = { 10.0.0.1,\n 10.0.0.2 }\n}\n");
    expect(oneShots.length).toBe(before + 1);
    expect(list()).toMatch(/table ip t8[\s\S]*10\.0\.0\.2/);
  });

  it("close() while a batch is in flight: the batch is still applied and its promise resolves", async () => {
    const s = new NftSession(["ip", "netns", "exec", NS, "nft"]);
    const applied = s.run("add table ip t9\n");
    await vi.waitFor(() => expect(s.pid).toBeDefined());
    const pid = s.pid!;
    s.close();
    await applied;
    expect(list()).toMatch(/table ip t9/);
    // It leaves at the end of its input.
    await vi.waitFor(() => expect(() => process.kill(pid, 0)).toThrow());
  });
});

describe("NftSession: an nft that does not answer", () => {
  // Stands in for a stuck nft: reads its input and never answers.
  // ("--" ends node's options: the "-i" the session appends goes to the script.)
  const stuck = [process.execPath, "-e", "process.stdin.resume()", "--"];

  it("is killed before its batch is refused, and after two silent starts every batch goes through nft -f", async () => {
    const viaFile: string[] = [];
    const s = new NftSession(stuck, async (script) => void viaFile.push(script), 300);
    const first = s.run("add table ip x\n");
    await vi.waitFor(() => expect(s.pid).toBeDefined());
    const pid = s.pid!;
    await expect(first).rejects.toThrow(/did not answer within 0.3 s and was stopped/);
    // Refused only once it exited: it cannot apply the batch later.
    expect(() => process.kill(pid, 0)).toThrow();
    // One silent start is not enough to give up interactive mode.
    const second = s.run("add table ip y\n");
    await vi.waitFor(() => expect(s.pid).toBeDefined());
    expect(s.pid).not.toBe(pid);
    await expect(second).rejects.toThrow(/did not answer/);
    expect(viaFile).toEqual([]);
    await s.run("add table ip z\n");
    expect(viaFile).toEqual(["add table ip z\n"]);
    expect(s.pid).toBeUndefined();
  });

  it("one that exits without answering (an nft without its interactive CLI) hands each batch to nft -f, then is not started again", async () => {
    const starts = `/tmp/nft-test-starts-${process.pid}`;
    rmSync(starts, { force: true });
    const noCli = [
      process.execPath,
      "-e",
      `require("fs").appendFileSync(${JSON.stringify(starts)}, "x"); process.stderr.write("Error: interactive CLI not supported in this build\\n"); process.exit(1)`,
      "--",
    ];
    const viaFile: string[] = [];
    const s = new NftSession(noCli, async (script) => void viaFile.push(script), 5_000);
    await s.run("add table ip a\n");
    await s.run("add table ip b\n");
    expect(viaFile).toEqual(["add table ip a\n", "add table ip b\n"]);
    // Two silent starts: interactive mode is given up; the next batch starts no nft -i.
    await s.run("add table ip c\n");
    expect(viaFile).toHaveLength(3);
    expect(readFileSync(starts, "utf8")).toBe("xx");
    rmSync(starts);
  });
});
