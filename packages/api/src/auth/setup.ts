/**
 * The first administrator. There is no default password: on a store without users the console either creates
 * the first admin from the environment (CONSOLE_ADMIN_PASSWORD, for automation) or issues a one-time setup token
 * (kept only as a SHA-256 hash, valid 24 h) that the operator opens as /setup?token=… to choose a name and a
 * password.
 */
import crypto from "node:crypto";
import { hashPassword, PASSWORD_MAX, PASSWORD_MIN, type Store } from "@director/db";

const SETUP_KEY = "setup.token";
const SETUP_TTL_MS = 24 * 3600_000;

const sha256 = (s: string) => crypto.createHash("sha256").update(s).digest();

export interface FirstAdminOptions {
  username?: string | undefined;
  password?: string | undefined;
}

/** Returns a fresh setup token when the store has no users and no password was given; else nothing. */
export async function ensureFirstAdmin(store: Store, o: FirstAdminOptions, now = Date.now()): Promise<{ setupToken?: string; created?: string }> {
  if ((await store.countUsers()) > 0) return {};
  if (o.password) {
    if (o.password.length < PASSWORD_MIN || o.password.length > PASSWORD_MAX) throw new Error(`CONSOLE_ADMIN_PASSWORD must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`);
    const username = (o.username ?? "admin").toLowerCase();
    await store.createUser({ username, passwordHash: await hashPassword(o.password), role: "admin" }, now);
    await store.appendAudit({ at: now, actor: null, actorRole: null, ip: null, action: "user.create", target: username, after: { role: "admin" }, result: "ok", detail: "first admin from the environment" });
    return { created: username };
  }
  const token = crypto.randomBytes(24).toString("base64url");
  await store.setSetting(SETUP_KEY, { hash: sha256(token).toString("hex"), expiresAt: now + SETUP_TTL_MS });
  return { setupToken: token };
}

export async function setupPending(store: Store, now = Date.now()): Promise<boolean> {
  const s = await store.getSetting<{ hash: string; expiresAt: number }>(SETUP_KEY);
  return s !== undefined && s.expiresAt > now && (await store.countUsers()) === 0;
}

export async function completeSetup(store: Store, token: string, username: string, password: string, ip: string, now = Date.now()): Promise<boolean> {
  const s = await store.getSetting<{ hash: string; expiresAt: number }>(SETUP_KEY);
  const good = s !== undefined && s.expiresAt > now && crypto.timingSafeEqual(Buffer.from(s.hash, "hex"), sha256(token)) && (await store.countUsers()) === 0;
  if (!good) {
    await store.appendAudit({ at: now, actor: null, actorRole: null, ip, action: "setup.complete", target: username, result: "denied", detail: "bad or expired setup token" });
    return false;
  }
  await store.deleteSetting(SETUP_KEY);
  await store.createUser({ username, passwordHash: await hashPassword(password), role: "admin" }, now);
  await store.appendAudit({ at: now, actor: username.toLowerCase(), actorRole: "admin", ip, action: "setup.complete", target: username.toLowerCase(), after: { role: "admin" }, result: "ok" });
  return true;
}
