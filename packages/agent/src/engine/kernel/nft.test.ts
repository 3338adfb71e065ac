/**
 * NftSession against the real nft, in a network namespace made and removed here (root, nftables).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
});
