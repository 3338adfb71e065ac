/**
 * Secrets at rest (agents' API tokens): AES-256-GCM under a key that lives beside the console, not in the
 * database, so a copy of the database (a PostgreSQL dump, a SQLite backup) does not hand out admin tokens for
 * every director. Sealed values read "v1:" + base64url(iv ‖ tag ‖ ciphertext); a value without the prefix is
 * read as it is (stores written before sealing).
 */
import crypto from "node:crypto";

export type SealKey = Buffer;

/** Derives the sealing key from a console secret (HKDF-SHA-256, its own label). */
export function sealKeyFrom(secret: string): SealKey {
  return Buffer.from(crypto.hkdfSync("sha256", secret, "director-console", "agent-token-seal v1", 32));
}

export function seal(key: SealKey, plain: string): string {
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([c.update(plain, "utf8"), c.final()]);
  return `v1:${Buffer.concat([iv, c.getAuthTag(), body]).toString("base64url")}`;
}

export function unseal(key: SealKey, stored: string): string {
  if (!stored.startsWith("v1:")) return stored;
  const raw = Buffer.from(stored.slice(3), "base64url");
  const d = crypto.createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
  d.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString("utf8");
}
