/**
 * The first administrator (auth/setup.ts) in a real store: from CONSOLE_ADMIN_PASSWORD, or through a one-time
 * setup token that works once, within 24 hours, only while the console has no users. Also through the public
 * tRPC procedures the setup page uses.
 */
import { verifyPassword } from "@director/db";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { completeSetup, ensureFirstAdmin, setupPending } from "../src/auth/setup.js";
import { type TestEnv, testEnv } from "./helpers/context.js";

let env: TestEnv;

beforeEach(async () => {
  env = await testEnv();
});
afterEach(async () => {
  await env?.close();
});

describe("ensureFirstAdmin with a password (CONSOLE_ADMIN_PASSWORD)", () => {
  it("creates the admin once, audited, and never issues a setup token", async () => {
    expect(await ensureFirstAdmin(env.store, { password: "first admin password" })).toEqual({ created: "admin" });
    const u = await env.store.userByName("admin");
    expect(u).toMatchObject({ role: "admin", disabled: false });
    expect(await verifyPassword(u!.passwordHash, "first admin password")).toBe(true);
    expect(await setupPending(env.store)).toBe(false);
    expect((await env.store.listAudit({ action: "user.create" }))[0]).toMatchObject({ target: "admin", result: "ok", actor: null });
    // Second start: users exist, nothing changes (the password in the environment is not applied again).
    expect(await ensureFirstAdmin(env.store, { password: "a different password" })).toEqual({});
    expect(await env.store.countUsers()).toBe(1);
    expect(await verifyPassword((await env.store.userByName("admin"))!.passwordHash, "first admin password")).toBe(true);
  });

  it("takes a custom admin name, lower-cased", async () => {
    expect(await ensureFirstAdmin(env.store, { username: "Root", password: "first admin password" })).toEqual({ created: "root" });
    expect(await env.store.userByName("root")).toMatchObject({ role: "admin" });
  });

  it("refuses a password shorter than 12 characters and creates nobody", async () => {
    await expect(ensureFirstAdmin(env.store, { password: "short" })).rejects.toThrow(/12 to 256 characters/);
    expect(await env.store.countUsers()).toBe(0);
  });
});

describe("ensureFirstAdmin without a password: the one-time setup token", () => {
  it("issues a token; the wrong token is refused and audited; the right one works once", async () => {
    const { setupToken, created } = await ensureFirstAdmin(env.store, {});
    expect(created).toBeUndefined();
    expect(setupToken).toMatch(/^[\w-]{32}$/);
    expect(await setupPending(env.store)).toBe(true);

    expect(await completeSetup(env.store, `${setupToken!.slice(0, -1)}${setupToken!.endsWith("A") ? "B" : "A"}`, "mallory", "mallory's password", "203.0.113.1")).toBe(false);
    expect(await env.store.countUsers()).toBe(0);
    expect((await env.store.listAudit({ action: "setup.complete" }))[0]).toMatchObject({ result: "denied", ip: "203.0.113.1", target: "mallory" });
    expect(await setupPending(env.store)).toBe(true);

    expect(await completeSetup(env.store, setupToken!, "Olivia", "olivia's long password", "203.0.113.2")).toBe(true);
    expect(await env.store.userByName("olivia")).toMatchObject({ role: "admin" });
    expect(await setupPending(env.store)).toBe(false);

    // Once only: the same token again creates nobody.
    expect(await completeSetup(env.store, setupToken!, "second", "second's long password", "203.0.113.3")).toBe(false);
    expect(await env.store.countUsers()).toBe(1);
    expect((await env.store.listAudit({ action: "setup.complete" })).map((r) => r.result)).toEqual(["denied", "ok", "denied"]);
  });

  it("the token expires after 24 hours", async () => {
    const t0 = Date.UTC(2025, 5, 1);
    const { setupToken } = await ensureFirstAdmin(env.store, {}, t0);
    expect(await setupPending(env.store, t0 + 24 * 3600_000 - 1)).toBe(true);
    expect(await setupPending(env.store, t0 + 24 * 3600_000 + 1)).toBe(false);
    expect(await completeSetup(env.store, setupToken!, "late", "a late long password", "203.0.113.4", t0 + 24 * 3600_000 + 1)).toBe(false);
    expect(await env.store.countUsers()).toBe(0);
  });

  it("a newer token replaces the older one (each console start issues a new one)", async () => {
    const first = (await ensureFirstAdmin(env.store, {})).setupToken!;
    const second = (await ensureFirstAdmin(env.store, {})).setupToken!;
    expect(second).not.toBe(first);
    expect(await completeSetup(env.store, first, "old", "the old link's password", "203.0.113.5")).toBe(false);
    expect(await completeSetup(env.store, second, "new", "the new link's password", "203.0.113.5")).toBe(true);
  });

  it("the token is useless once a user exists some other way", async () => {
    const { setupToken } = await ensureFirstAdmin(env.store, {});
    await env.user("existing", "viewer");
    expect(await setupPending(env.store)).toBe(false);
    expect(await completeSetup(env.store, setupToken!, "late", "a late long password", "203.0.113.6")).toBe(false);
    expect(await env.store.userByName("late")).toBeUndefined();
  });
});

describe("through the public tRPC procedures (no session)", () => {
  it("setup.pending / setup.complete: a wrong token is FORBIDDEN, the right one creates the admin once", async () => {
    const { setupToken } = await ensureFirstAdmin(env.store, {});
    const caller = await env.caller(null);
    expect(await caller.setup.pending()).toBe(true);
    await expect(caller.setup.complete({ token: "wrong-token-wrong-token", username: "mallory", password: "mallory's password" })).rejects.toMatchObject({ code: "FORBIDDEN" });
    // Input rules apply to the public mutation too.
    await expect(caller.setup.complete({ token: setupToken!, username: "x", password: "short" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    expect(await caller.setup.complete({ token: setupToken!, username: "Admin.One", password: "admin one's password" })).toEqual({ ok: true });
    expect(await env.store.userByName("admin.one")).toMatchObject({ role: "admin" });
    expect(await caller.setup.pending()).toBe(false);
    await expect(caller.setup.complete({ token: setupToken!, username: "again", password: "again's long password" })).rejects.toMatchObject({ code: "FORBIDDEN" });
  });
});
