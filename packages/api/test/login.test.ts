/**
 * Sign-in (auth/login.ts) against a real SQLite store with real argon2 hashes: one message for every failure,
 * throttling per account and per address (10 free failures in 15 minutes, then exponential back-off), a success
 * resets the count, and every attempt is audited. Time is injected (`now`), never waited for.
 */
import type { Store } from "@director/db";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { authenticate, LoginError, THROTTLE_FREE_FAILURES, THROTTLE_WINDOW_MS } from "../src/auth/login.js";
import { PASSWORD, type TestEnv, testEnv } from "./helpers/context.js";

let env: TestEnv;
let store: Store;
/** A fixed clock: each attempt below is 100 ms after the previous (quicker than any back-off step). */
let now: number;
const T0 = Date.UTC(2025, 0, 15, 9, 0, 0);

beforeEach(async () => {
  env = await testEnv();
  store = env.store;
  now = T0;
});
afterEach(async () => {
  await env?.close();
});

/** One attempt at `now` (then the clock moves 100 ms): "ok", or the LoginError kind. */
async function attempt(username: string, password: string, ip = "203.0.113.5"): Promise<"ok" | "invalid" | "throttled"> {
  const at = now;
  now += 100;
  try {
    await authenticate(store, { username, password }, { ip, userAgent: "vitest" }, at);
    return "ok";
  } catch (e) {
    if (e instanceof LoginError) return e.kind;
    throw e;
  }
}

async function messageOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the sign-in to fail");
}

describe("sign-in", () => {
  it("signs in with the right password, creating a session in the store", async () => {
    const alice = await env.user("alice", "operator");
    const { user, session } = await authenticate(store, { username: "  Alice ", password: PASSWORD }, { ip: "203.0.113.5", userAgent: "vitest" }, T0);
    expect(user.id).toBe(alice.id);
    expect(await store.session(session.id)).toMatchObject({ userId: alice.id, ip: "203.0.113.5", revokedAt: null, createdAt: T0 });
  });

  it("gives one message for an unknown user, a wrong password and a disabled user", async () => {
    const bob = await env.user("bob", "viewer");
    const disabled = await env.user("carol", "viewer");
    await store.updateUser(disabled.id, { disabled: true }, true);
    const meta = { ip: "203.0.113.5", userAgent: "vitest" };
    const unknown = await messageOf(authenticate(store, { username: "nobody", password: PASSWORD }, meta, T0));
    const wrong = await messageOf(authenticate(store, { username: "bob", password: "not the password" }, meta, T0 + 1));
    const off = await messageOf(authenticate(store, { username: "carol", password: PASSWORD }, meta, T0 + 2));
    expect(unknown).toBe("Invalid username, password or code.");
    expect(wrong).toBe(unknown);
    expect(off).toBe(unknown);
    expect(bob.id).toBeTruthy();
  });

  it("audits every attempt: ok with the role, denied with the reason (reasons only in the log)", async () => {
    await env.user("dave", "admin");
    expect(await attempt("dave", PASSWORD)).toBe("ok");
    expect(await attempt("dave", "wrong wrong wrong")).toBe("invalid");
    expect(await attempt("eve", PASSWORD)).toBe("invalid");
    const rows = (await store.listAudit({ action: "auth.signIn" })).reverse();
    expect(rows.map((r) => [r.actor, r.actorRole, r.ip, r.result, r.detail])).toEqual([
      ["dave", "admin", "203.0.113.5", "ok", "signed in"],
      ["dave", null, "203.0.113.5", "denied", "wrong password"],
      ["eve", null, "203.0.113.5", "denied", "unknown user"],
    ]);
    expect(await store.verifyAudit()).toMatchObject({ ok: true, entries: 3 });
  });
});

describe("throttling", () => {
  it("refuses the 11th attempt within 15 minutes even with the right password, then backs off exponentially", async () => {
    await env.user("frank", "viewer");
    for (let i = 0; i < THROTTLE_FREE_FAILURES; i++) expect(await attempt("frank", `wrong ${i}`)).toBe("invalid");
    // The 11th attempt, 100 ms after the 10th failure (T0+900 ms): the back-off after 10 failures is 1 s.
    expect(await attempt("frank", PASSWORD)).toBe("throttled");
    const throttled = await store.listAudit({ action: "auth.signIn", result: "denied", limit: 1 });
    expect(throttled[0]).toMatchObject({ actor: "frank", detail: "throttled (user)" });
    // A throttled attempt is not counted, and the wait is counted from the last real failure.
    now = T0 + 900 + 1_001;
    expect(await attempt("frank", "wrong again")).toBe("invalid");
    // 11 failures: the next wait is 2 s.
    now = T0 + 1_901 + 1_999;
    expect(await attempt("frank", PASSWORD)).toBe("throttled");
    now = T0 + 1_901 + 2_001;
    expect(await attempt("frank", PASSWORD)).toBe("ok");
  });

  it("counts only failures within the last 15 minutes", async () => {
    await env.user("grace", "viewer");
    for (let i = 0; i < THROTTLE_FREE_FAILURES - 1; i++) expect(await attempt("grace", `wrong ${i}`)).toBe("invalid");
    // 9 more once the first 9 have left the window: 18 failures in all, but never 10 within 15 minutes.
    now = T0 + THROTTLE_WINDOW_MS + 1_000;
    for (let i = 0; i < THROTTLE_FREE_FAILURES - 1; i++) expect(await attempt("grace", `wrong later ${i}`)).toBe("invalid");
    expect(await attempt("grace", PASSWORD)).toBe("ok");
  });

  it("throttles an address across different usernames, and only that address", async () => {
    await env.user("heidi", "viewer");
    for (let i = 0; i < THROTTLE_FREE_FAILURES; i++) expect(await attempt(`guess${i}`, "password1234", "203.0.113.66")).toBe("invalid");
    // heidi has no failures of her own, but the address has 10.
    expect(await attempt("heidi", PASSWORD, "203.0.113.66")).toBe("throttled");
    expect((await store.listAudit({ action: "auth.signIn", limit: 1 }))[0]).toMatchObject({ actor: "heidi", result: "denied", detail: "throttled (ip)" });
    expect(await attempt("heidi", PASSWORD, "203.0.113.67")).toBe("ok");
  });

  it("resets an account's count on a successful sign-in", async () => {
    await env.user("ivan", "viewer");
    for (let i = 0; i < THROTTLE_FREE_FAILURES - 1; i++) expect(await attempt("ivan", `wrong ${i}`)).toBe("invalid");
    expect(await attempt("ivan", PASSWORD)).toBe("ok");
    for (let i = 0; i < THROTTLE_FREE_FAILURES - 1; i++) expect(await attempt("ivan", `wrong again ${i}`)).toBe("invalid");
    // 18 failures within the window, but only 9 since the success: not throttled.
    expect(await attempt("ivan", PASSWORD)).toBe("ok");
  });

  it("throttles an unknown username like a known one (no tell)", async () => {
    for (let i = 0; i < THROTTLE_FREE_FAILURES; i++) expect(await attempt("ghost", `wrong ${i}`, `203.0.113.${100 + i}`)).toBe("invalid");
    expect(await attempt("ghost", PASSWORD, "203.0.113.200")).toBe("throttled");
  });
});
