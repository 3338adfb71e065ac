/**
 * Console sessions. next-auth carries only a session id (in its encrypted JWT cookie); the session itself lives in
 * the store, so it can be revoked: sign-out, a role or password change (the user's epoch moves) or disabling
 * the user ends it at the next request. Limits: 12 h absolute, 30 min idle.
 */
import type { Store } from "@director/db";
import type { SessionUser } from "../trpc.js";

export const SESSION_ABSOLUTE_MS = 12 * 3600_000;
export const SESSION_IDLE_MS = 30 * 60_000;
/** lastSeenAt is written at most this often (not on every request). */
const TOUCH_EVERY_MS = 15_000;

export type SessionCheck = { ok: true; id: string; user: SessionUser } | { ok: false; reason: "missing" | "revoked" | "expired" | "idle" | "user" };

export async function checkSession(store: Store, sid: string | undefined | null, now = Date.now(), touch = true): Promise<SessionCheck> {
  if (!sid) return { ok: false, reason: "missing" };
  const s = await store.session(sid);
  if (!s) return { ok: false, reason: "missing" };
  if (s.revokedAt !== null) return { ok: false, reason: "revoked" };
  if (now - s.createdAt > SESSION_ABSOLUTE_MS) {
    await store.revokeSession(sid, now);
    return { ok: false, reason: "expired" };
  }
  if (now - s.lastSeenAt > SESSION_IDLE_MS) {
    await store.revokeSession(sid, now);
    return { ok: false, reason: "idle" };
  }
  const u = await store.userById(s.userId);
  if (!u || u.disabled || u.sessionEpoch !== s.epoch) return { ok: false, reason: "user" };
  if (touch && now - s.lastSeenAt > TOUCH_EVERY_MS) await store.touchSession(sid, now);
  return { ok: true, id: s.id, user: { id: u.id, username: u.username, role: u.role, totp: u.totpSecret !== null } };
}
