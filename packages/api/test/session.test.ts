/**
 * Console sessions (auth/session.ts) in a real store: a session made by a real sign-in ends when the user's role
 * or password changes or the user is disabled (through the admin's and the user's own tRPC calls), when it is
 * revoked, after 30 minutes idle and after 12 hours in any case. Time is injected.
 */
import type { Store, User } from "@director/db";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { authenticate } from "../src/auth/login.js";
import { checkSession, SESSION_ABSOLUTE_MS, SESSION_IDLE_MS } from "../src/auth/session.js";
import { createCaller, PASSWORD, type TestEnv, testEnv } from "./helpers/context.js";

let env: TestEnv;
let store: Store;
let admin: User;
let meta: { ip: string; userAgent: string };

beforeEach(async () => {
  env = await testEnv();
  store = env.store;
  admin = await env.user("root-admin", "admin");
  meta = { ip: "203.0.113.9", userAgent: "vitest" };
});
afterEach(async () => {
  await env?.close();
});

async function signIn(username: string, now = Date.now()): Promise<string> {
  return (await authenticate(store, { username, password: PASSWORD }, meta, now)).session.id;
}

describe("sessions end when the user changes", () => {
  it("a role change by an admin ends the user's sessions", async () => {
    const u = await env.user("olga", "operator");
    const sid = await signIn("olga");
    expect(await checkSession(store, sid)).toMatchObject({ ok: true, user: { username: "olga", role: "operator" } });
    const adminCaller = await env.caller(admin);
    await adminCaller.user.update({ id: u.id, role: "viewer" });
    expect((await checkSession(store, sid)).ok).toBe(false);
    // A new sign-in carries the new role.
    expect(await checkSession(store, await signIn("olga"))).toMatchObject({ ok: true, user: { role: "viewer" } });
    const row = (await store.listAudit({ action: "user.update", limit: 1 }))[0];
    expect(row).toMatchObject({ actor: "root-admin", target: "olga", result: "ok" });
    expect(JSON.parse(row!.before!)).toMatchObject({ role: "operator" });
    expect(JSON.parse(row!.after!)).toMatchObject({ role: "viewer" });
  });

  it("a password reset by an admin ends the user's sessions, and the old password stops working", async () => {
    const u = await env.user("pat", "viewer");
    const sid = await signIn("pat");
    await (await env.caller(admin)).user.update({ id: u.id, password: "a brand new password" });
    expect((await checkSession(store, sid)).ok).toBe(false);
    await expect(signIn("pat")).rejects.toThrow("Invalid username, password or code.");
    const again = await authenticate(store, { username: "pat", password: "a brand new password" }, meta);
    expect((await checkSession(store, again.session.id)).ok).toBe(true);
  });

  it("the user's own password change ends every session of theirs, including the one that made it", async () => {
    const u = await env.user("quinn", "viewer");
    const phone = await signIn("quinn");
    const ctx = await env.ctx(u);
    const caller = createCaller(ctx);
    await expect(caller.session.changePassword({ current: "not my password", next: "another good password" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    expect((await checkSession(store, phone)).ok).toBe(true);
    await caller.session.changePassword({ current: PASSWORD, next: "another good password" });
    expect((await checkSession(store, phone)).ok).toBe(false);
    expect((await checkSession(store, ctx.session!.id)).ok).toBe(false);
    expect((await store.listAudit({ action: "user.changePassword" })).map((r) => r.result)).toEqual(["ok", "denied"]);
  });

  it("disabling a user ends their sessions and refuses their sign-in", async () => {
    const u = await env.user("rita", "operator");
    const sid = await signIn("rita");
    await (await env.caller(admin)).user.update({ id: u.id, disabled: true });
    expect((await checkSession(store, sid)).ok).toBe(false);
    await expect(signIn("rita")).rejects.toThrow("Invalid username, password or code.");
  });

  it("deleting a user ends their sessions", async () => {
    const u = await env.user("sam", "viewer");
    const sid = await signIn("sam");
    await (await env.caller(admin)).user.remove({ id: u.id });
    expect((await checkSession(store, sid)).ok).toBe(false);
  });

  it("a change that does not touch the user leaves their sessions alone", async () => {
    await env.user("tess", "viewer");
    const sid = await signIn("tess");
    await (await env.caller(admin)).user.create({ username: "someone-else", password: "a long enough password", role: "viewer" });
    expect((await checkSession(store, sid)).ok).toBe(true);
  });
});

describe("time limits", () => {
  const T0 = Date.UTC(2025, 2, 1, 8, 0, 0);

  it("ends a session idle for more than 30 minutes", async () => {
    await env.user("uma", "viewer");
    const sid = await signIn("uma", T0);
    expect((await checkSession(store, sid, T0 + SESSION_IDLE_MS - 1_000)).ok).toBe(true);
    // That request counted as activity: another 29 minutes from it is still fine.
    expect((await checkSession(store, sid, T0 + 2 * SESSION_IDLE_MS - 2_000)).ok).toBe(true);
    expect(await checkSession(store, sid, T0 + 3 * SESSION_IDLE_MS)).toEqual({ ok: false, reason: "idle" });
    // Once ended, it stays ended.
    expect(await checkSession(store, sid, T0 + 3 * SESSION_IDLE_MS + 1)).toEqual({ ok: false, reason: "revoked" });
  });

  it("ends a session 12 hours after sign-in however active it was", async () => {
    await env.user("vic", "viewer");
    const sid = await signIn("vic", T0);
    let t = T0;
    while (t + 20 * 60_000 <= T0 + SESSION_ABSOLUTE_MS) {
      t += 20 * 60_000;
      expect((await checkSession(store, sid, t)).ok, `at ${(t - T0) / 60_000} min`).toBe(true);
    }
    expect(await checkSession(store, sid, T0 + SESSION_ABSOLUTE_MS + 1)).toEqual({ ok: false, reason: "expired" });
  });

  it("a check that does not touch (the live streams' re-check) does not extend the idle limit", async () => {
    await env.user("wes", "viewer");
    const sid = await signIn("wes", T0);
    expect((await checkSession(store, sid, T0 + SESSION_IDLE_MS - 1_000, false)).ok).toBe(true);
    expect((await checkSession(store, sid, T0 + SESSION_IDLE_MS + 1_000)).ok).toBe(false);
  });
});

describe("revocation", () => {
  it("a revoked session is refused", async () => {
    await env.user("xena", "viewer");
    const sid = await signIn("xena");
    await store.revokeSession(sid);
    expect(await checkSession(store, sid)).toEqual({ ok: false, reason: "revoked" });
  });

  it("an unknown or missing session id is refused", async () => {
    expect(await checkSession(store, "no-such-session")).toEqual({ ok: false, reason: "missing" });
    expect(await checkSession(store, undefined)).toEqual({ ok: false, reason: "missing" });
  });

  it("sign out everywhere else (session.revokeOthers) keeps only the current session", async () => {
    const u = await env.user("yuri", "operator");
    const laptop = await signIn("yuri");
    const phone = await signIn("yuri");
    const ctx = await env.ctx(u);
    const caller = createCaller(ctx);
    expect((await caller.session.list()).length).toBe(3);
    expect(await caller.session.revokeOthers()).toEqual({ revoked: 2 });
    expect((await checkSession(store, laptop)).ok).toBe(false);
    expect((await checkSession(store, phone)).ok).toBe(false);
    expect((await checkSession(store, ctx.session!.id)).ok).toBe(true);
    const list = await caller.session.list();
    expect(list).toHaveLength(1);
    expect(list[0]!.current).toBe(true);
  });
});
