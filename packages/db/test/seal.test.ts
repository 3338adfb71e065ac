import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, sealKeyFrom, seal, unseal } from "../src/index.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "director-seal-"));
  dirs.push(d);
  return path.join(d, "console.db");
};

describe("agent tokens at rest", () => {
  it("are sealed in the database and read back in the clear", async () => {
    const file = tmp();
    const token = "agent-admin-token-0123456789abcdef";
    const store = await openStore({ sqliteFile: file, sealKey: sealKeyFrom("console secret one") });
    const a = await store.createAgent({ name: "a", url: "https://127.0.0.1:9443/trpc", token, caPem: null });
    expect((await store.agent(a.id))?.token).toBe(token);
    expect((await store.listAgents())[0]?.token).toBe(token);
    const raw = store.db.all<{ token: string }>(sql`select token from agents`);
    expect(raw[0]?.token.startsWith("v1:")).toBe(true);
    expect(JSON.stringify(raw)).not.toContain(token);
    expect(fs.readFileSync(file).includes(Buffer.from(token))).toBe(false);
    await store.close();
  });

  it("under another key read as an empty token (the agent refuses it), never as garbage or a crash", async () => {
    const file = tmp();
    const one = await openStore({ sqliteFile: file, sealKey: sealKeyFrom("console secret one") });
    await one.createAgent({ name: "a", url: "https://127.0.0.1:9443/trpc", token: "t".repeat(40), caPem: null });
    await one.close();
    const two = await openStore({ sqliteFile: file, sealKey: sealKeyFrom("console secret two") });
    expect((await two.listAgents())[0]?.token).toBe("");
    await two.close();
  });

  it("seal is authenticated: a flipped byte does not open", () => {
    const key = sealKeyFrom("k");
    const s = seal(key, "secret");
    expect(unseal(key, s)).toBe("secret");
    const raw = Buffer.from(s.slice(3), "base64url");
    raw[raw.length - 1]! ^= 1;
    expect(() => unseal(key, `v1:${raw.toString("base64url")}`)).toThrow();
    expect(unseal(key, "plain-token")).toBe("plain-token");
  });
});
