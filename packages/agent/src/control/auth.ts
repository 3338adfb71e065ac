/**
 * Bearer-token authentication for the control API, with scopes (default deny):
 *   read     every query, /metrics
 *   operate  + drain, maintenance, activate, weight, zero counters
 *   admin    + services, real servers, timeouts, everything else
 * The admin token is 32 random bytes (base64url) in `<state-dir>/agent.token`, mode 0600, created on first
 * start. More tokens are made with `director-agent token create --scope read|operate|admin`: only their
 * SHA-256 is kept (`<state-dir>/tokens.json`), the token itself is printed once. Comparison is constant-time.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../state/store.js";

export const SCOPES = ["read", "operate", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

export function scopeAllows(have: Scope, need: Scope): boolean {
  return SCOPES.indexOf(have) >= SCOPES.indexOf(need);
}

export interface Caller {
  name: string;
  scope: Scope;
}

interface StoredToken {
  name: string;
  scope: Scope;
  sha256: string;
  createdAt: string;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest();

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

function tokensFile(stateDir: string): string {
  return path.join(stateDir, "tokens.json");
}

export function readTokens(stateDir: string): StoredToken[] {
  try {
    const list = JSON.parse(fs.readFileSync(tokensFile(stateDir), "utf8")) as StoredToken[];
    return Array.isArray(list) ? list.filter((t) => SCOPES.includes(t.scope) && /^[0-9a-f]{64}$/.test(t.sha256)) : [];
  } catch {
    return [];
  }
}

/** Creates a token; returns it (the only time it is shown). */
export function createToken(stateDir: string, name: string, scope: Scope): string {
  if (!/^[\w.@-]{1,64}$/.test(name)) throw new Error("a token name is 1-64 letters, digits, . _ @ -");
  const list = readTokens(stateDir);
  if (list.some((t) => t.name === name)) throw new Error(`a token named ${name} exists (revoke it first)`);
  const token = randomBytes(32).toString("base64url");
  list.push({ name, scope, sha256: sha256(token).toString("hex"), createdAt: new Date().toISOString() });
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(tokensFile(stateDir), `${JSON.stringify(list, null, 2)}\n`, 0o600);
  return token;
}

export function revokeToken(stateDir: string, name: string): boolean {
  const list = readTokens(stateDir);
  const next = list.filter((t) => t.name !== name);
  if (next.length === list.length) return false;
  writeFileAtomic(tokensFile(stateDir), `${JSON.stringify(next, null, 2)}\n`, 0o600);
  return true;
}

/** Resolves callers from Authorization headers; re-reads tokens.json when it changes (no restart needed). */
export class Authenticator {
  private adminHash: Buffer;
  private tokens: { name: string; scope: Scope; hash: Buffer }[] = [];
  private mtime = -1;

  constructor(
    private readonly stateDir: string,
    adminToken: string,
  ) {
    this.adminHash = sha256(adminToken);
  }

  authenticate(header: string | undefined): Caller | null {
    if (!header?.startsWith("Bearer ")) return null;
    const given = sha256(header.slice(7).trim());
    // Compare against every token so the time does not tell which one (or whether any) matched.
    let found: Caller | null = timingSafeEqual(given, this.adminHash) ? { name: "agent.token", scope: "admin" } : null;
    for (const t of this.current()) if (timingSafeEqual(given, t.hash) && !found) found = { name: t.name, scope: t.scope };
    return found;
  }

  private current() {
    let m = -1;
    try {
      m = fs.statSync(tokensFile(this.stateDir)).mtimeMs;
    } catch {
      m = -1;
    }
    if (m !== this.mtime) {
      this.mtime = m;
      this.tokens = readTokens(this.stateDir).map((t) => ({ name: t.name, scope: t.scope, hash: Buffer.from(t.sha256, "hex") }));
    }
    return this.tokens;
  }
}
