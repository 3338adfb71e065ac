/**
 * Bearer-token authentication for the control API. The token is 32 random bytes (base64url) in
 * `<state-dir>/agent.token`, mode 0600, created on first start. Compared in constant time.
 * (Scoped tokens — read / operate / admin — come with the control-plane issue; this token is admin.)
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../state/store.js";

export function loadOrCreateToken(stateDir: string): string {
  const file = path.join(stateDir, "agent.token");
  if (fs.existsSync(file)) {
    const mode = fs.statSync(file).mode & 0o777;
    if (mode & 0o077) fs.chmodSync(file, 0o600);
    const t = fs.readFileSync(file, "utf8").trim();
    if (t.length >= 32) return t;
  }
  const token = randomBytes(32).toString("base64url");
  writeFileAtomic(file, `${token}\n`, 0o600);
  return token;
}

export function tokenMatches(expected: string, header: string | undefined): boolean {
  if (!header?.startsWith("Bearer ")) return false;
  const given = header.slice(7).trim();
  // Hash both so the comparison is constant-time whatever the lengths.
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}
