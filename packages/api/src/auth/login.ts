/**
 * Sign-in with a password (and a TOTP code when the user has one). One message for every failure, whether the
 * user exists or not, and the same work (an argon2 verify) either way, so neither text nor timing tells.
 * Throttling: after 10 failures within 15 minutes for an account or for an address, each further attempt waits
 * an exponential back-off (1 s, 2 s, 4 s … capped at 15 min) counted from the last failure. Every attempt is
 * audited as `auth.signIn` with its result.
 */
import { type Store, verifyPassword } from "@director/db";
import { verifyTotp } from "./totp.js";

export const THROTTLE_WINDOW_MS = 15 * 60_000;
export const THROTTLE_FREE_FAILURES = 10;
const BACKOFF_CAP_MS = 15 * 60_000;

export class LoginError extends Error {
  constructor(readonly kind: "invalid" | "throttled") {
    super(kind === "throttled" ? "Too many failed sign-ins. Wait a little and try again." : "Invalid username, password or code.");
  }
}

export interface LoginInput {
  username: string;
  password: string;
  totp?: string | undefined;
}

export interface LoginMeta {
  ip: string;
  userAgent: string;
}

/** How long a key must still wait, in ms (0 = may try now). */
export async function throttleWait(store: Store, key: string, now: number): Promise<number> {
  const { count, last } = await store.failuresSince(key, now - THROTTLE_WINDOW_MS);
  if (count < THROTTLE_FREE_FAILURES) return 0;
  const backoff = Math.min(BACKOFF_CAP_MS, 1000 * 2 ** (count - THROTTLE_FREE_FAILURES));
  return Math.max(0, last + backoff - now);
}

export async function authenticate(store: Store, input: LoginInput, meta: LoginMeta, now = Date.now()) {
  const username = input.username.trim().toLowerCase().slice(0, 64);
  const keys = [`user:${username}`, `ip:${meta.ip}`];
  const audit = (result: "ok" | "denied", detail: string, role: "viewer" | "operator" | "admin" | null = null) =>
    store.appendAudit({ at: now, actor: username, actorRole: role, ip: meta.ip, action: "auth.signIn", target: username, result, detail });
  for (const k of keys)
    if ((await throttleWait(store, k, now)) > 0) {
      await audit("denied", `throttled (${k.split(":")[0]})`);
      throw new LoginError("throttled");
    }
  const user = await store.userByName(username);
  const passwordOk = await verifyPassword(user?.passwordHash, input.password);
  const ok = passwordOk && user !== undefined && !user.disabled && (user.totpSecret === null || verifyTotp(user.totpSecret, input.totp, now));
  await store.recordLogin(keys, ok, now);
  if (!ok || !user) {
    await audit("denied", !user ? "unknown user" : !passwordOk ? "wrong password" : user.disabled ? "user disabled" : "wrong or missing TOTP code");
    throw new LoginError("invalid");
  }
  const session = await store.createSession({ userId: user.id, epoch: user.sessionEpoch, ip: meta.ip, userAgent: meta.userAgent }, now);
  await audit("ok", "signed in", user.role);
  return { user, session };
}
