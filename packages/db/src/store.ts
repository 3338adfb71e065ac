/**
 * The console's store: users, sessions, login attempts, agents, the audit log, alert rules and settings, behind
 * one async API. One implementation serves both dialects: the SQLite and PostgreSQL schemas have the same tables
 * and columns, and drizzle's query builder is the same for both, so the PostgreSQL database is typed as the
 * SQLite one here (the one cast in this package; the same test suite runs against both, see test/store.test.ts).
 *
 * The audit log is append-only and hash-chained: each entry's hash is SHA-256 over the previous hash and the
 * entry's fields, so an edited or deleted row breaks `verifyAudit()` from that row on.
 */
import crypto from "node:crypto";
import { and, asc, count, desc, eq, gte, isNull, lt, lte, type SQL } from "drizzle-orm";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import * as sqliteTables from "./schema/sqlite.js";
import { type SealKey, seal, unseal } from "./seal.js";

export type Tables = typeof sqliteTables;
export type Db = BetterSQLite3Database<Tables>;
export type Role = "viewer" | "operator" | "admin";
export const ROLES: readonly Role[] = ["viewer", "operator", "admin"];
export const roleRank = (r: Role): number => ROLES.indexOf(r);

export type User = typeof sqliteTables.users.$inferSelect;
export type Session = typeof sqliteTables.sessions.$inferSelect;
export type AgentRow = typeof sqliteTables.agents.$inferSelect;
export type AuditRow = typeof sqliteTables.audit.$inferSelect;
export type AlertRule = typeof sqliteTables.alertRules.$inferSelect;

export interface AuditInput {
  at?: number;
  actor: string | null;
  actorRole: Role | null;
  ip: string | null;
  action: string;
  target?: string | null;
  before?: unknown;
  after?: unknown;
  result: "ok" | "error" | "denied";
  detail?: string | null;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  result?: "ok" | "error" | "denied";
  from?: number;
  to?: number;
  /** Entries with id below this (paging backwards). */
  before?: number;
  limit?: number;
}

const GENESIS = "0".repeat(64);

function auditHash(prev: string, e: Omit<AuditRow, "id" | "hash" | "prevHash">): string {
  const h = crypto.createHash("sha256");
  h.update(prev);
  h.update(JSON.stringify([e.at, e.actor, e.actorRole, e.ip, e.action, e.target, e.before, e.after, e.result, e.detail]));
  return h.digest("hex");
}

const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));

export class Store {
  /** Serialises audit appends in this process, so the chain has one head. */
  private auditQueue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly db: Db,
    readonly dialect: "sqlite" | "postgresql",
    private readonly closeFn: () => Promise<void>,
    /** The dialect's own table objects (their column types convert driver values, e.g. PostgreSQL int8). */
    private readonly t: Tables = sqliteTables,
    /** Seals agents' tokens at rest (null: stored as given, for tools and tests that have no console secret). */
    private readonly sealKey: SealKey | null = null,
  ) {}

  private open(a: AgentRow): AgentRow {
    if (!this.sealKey) return a;
    try {
      return { ...a, token: unseal(this.sealKey, a.token) };
    } catch {
      // Sealed under another key (the console's secret changed): the agent will refuse the empty token, and
      // the console shows it unreachable until an admin adds it again.
      return { ...a, token: "" };
    }
  }

  close(): Promise<void> {
    return this.closeFn();
  }

  // ---- users
  async countUsers(): Promise<number> {
    const [r] = await this.db.select({ n: count() }).from(this.t.users);
    return Number(r?.n ?? 0);
  }
  async userByName(username: string): Promise<User | undefined> {
    const [u] = await this.db.select().from(this.t.users).where(eq(this.t.users.username, username.toLowerCase()));
    return u;
  }
  async userById(id: string): Promise<User | undefined> {
    const [u] = await this.db.select().from(this.t.users).where(eq(this.t.users.id, id));
    return u;
  }
  listUsers(): Promise<User[]> {
    return this.db.select().from(this.t.users).orderBy(asc(this.t.users.username));
  }
  async createUser(u: { username: string; passwordHash: string; role: Role }, now = Date.now()): Promise<User> {
    const row = { id: crypto.randomUUID(), username: u.username.toLowerCase(), passwordHash: u.passwordHash, role: u.role, totpSecret: null, sessionEpoch: 0, disabled: false, createdAt: now, updatedAt: now };
    await this.db.insert(this.t.users).values(row);
    return row;
  }
  /** Any change that must end existing sessions (role, password, disable) bumps the epoch. */
  async updateUser(id: string, patch: Partial<Pick<User, "role" | "passwordHash" | "disabled" | "totpSecret">>, endSessions: boolean, now = Date.now()): Promise<User | undefined> {
    const u = await this.userById(id);
    if (!u) return undefined;
    const next = { ...patch, updatedAt: now, sessionEpoch: endSessions ? u.sessionEpoch + 1 : u.sessionEpoch };
    await this.db.update(this.t.users).set(next).where(eq(this.t.users.id, id));
    if (endSessions) await this.db.update(this.t.sessions).set({ revokedAt: now }).where(and(eq(this.t.sessions.userId, id), isNull(this.t.sessions.revokedAt)));
    return { ...u, ...next };
  }
  async deleteUser(id: string, now = Date.now()): Promise<boolean> {
    await this.db.update(this.t.sessions).set({ revokedAt: now }).where(and(eq(this.t.sessions.userId, id), isNull(this.t.sessions.revokedAt)));
    const r = await this.db.delete(this.t.users).where(eq(this.t.users.id, id)).returning({ id: this.t.users.id });
    return r.length > 0;
  }
  async countAdmins(): Promise<number> {
    const [r] = await this.db.select({ n: count() }).from(this.t.users).where(and(eq(this.t.users.role, "admin"), eq(this.t.users.disabled, false)));
    return Number(r?.n ?? 0);
  }

  // ---- sessions
  async createSession(s: { userId: string; epoch: number; ip: string; userAgent: string }, now = Date.now()): Promise<Session> {
    const row = { id: crypto.randomBytes(24).toString("base64url"), userId: s.userId, epoch: s.epoch, createdAt: now, lastSeenAt: now, revokedAt: null, ip: s.ip, userAgent: s.userAgent.slice(0, 256) };
    await this.db.insert(this.t.sessions).values(row);
    return row;
  }
  async session(id: string): Promise<Session | undefined> {
    const [s] = await this.db.select().from(this.t.sessions).where(eq(this.t.sessions.id, id));
    return s;
  }
  async touchSession(id: string, now = Date.now()): Promise<void> {
    await this.db.update(this.t.sessions).set({ lastSeenAt: now }).where(eq(this.t.sessions.id, id));
  }
  async revokeSession(id: string, now = Date.now()): Promise<void> {
    await this.db.update(this.t.sessions).set({ revokedAt: now }).where(and(eq(this.t.sessions.id, id), isNull(this.t.sessions.revokedAt)));
  }
  listSessions(userId: string): Promise<Session[]> {
    return this.db.select().from(this.t.sessions).where(and(eq(this.t.sessions.userId, userId), isNull(this.t.sessions.revokedAt))).orderBy(desc(this.t.sessions.lastSeenAt));
  }

  // ---- login throttling
  async recordLogin(keys: string[], ok: boolean, now = Date.now()): Promise<void> {
    if (keys.length === 0) return;
    await this.db.insert(this.t.loginAttempts).values(keys.map((key) => ({ key, at: now, ok })));
    // Keep the table small: attempts older than a day are of no use to the throttle.
    await this.db.delete(this.t.loginAttempts).where(lt(this.t.loginAttempts.at, now - 86_400_000));
  }
  /** Failures for a key since `since` and after its last success. */
  async failuresSince(key: string, since: number): Promise<{ count: number; last: number }> {
    const rows = await this.db.select({ at: this.t.loginAttempts.at, ok: this.t.loginAttempts.ok }).from(this.t.loginAttempts).where(and(eq(this.t.loginAttempts.key, key), gte(this.t.loginAttempts.at, since))).orderBy(desc(this.t.loginAttempts.at), desc(this.t.loginAttempts.id)).limit(200);
    let n = 0;
    let last = 0;
    for (const r of rows) {
      if (r.ok) break;
      n++;
      last = Math.max(last, r.at);
    }
    return { count: n, last };
  }

  // ---- agents
  async listAgents(): Promise<AgentRow[]> {
    return (await this.db.select().from(this.t.agents).orderBy(asc(this.t.agents.name))).map((a) => this.open(a));
  }
  async agent(id: string): Promise<AgentRow | undefined> {
    const [a] = await this.db.select().from(this.t.agents).where(eq(this.t.agents.id, id));
    return a && this.open(a);
  }
  async createAgent(a: { name: string; url: string; token: string; caPem: string | null }, now = Date.now()): Promise<AgentRow> {
    const row = { id: crypto.randomUUID(), ...a, createdAt: now };
    await this.db.insert(this.t.agents).values(this.sealKey ? { ...row, token: seal(this.sealKey, a.token) } : row);
    return row;
  }
  async deleteAgent(id: string): Promise<boolean> {
    const r = await this.db.delete(this.t.agents).where(eq(this.t.agents.id, id)).returning({ id: this.t.agents.id });
    return r.length > 0;
  }

  // ---- audit
  appendAudit(e: AuditInput): Promise<AuditRow> {
    const run = async (attempt = 0): Promise<AuditRow> => {
      const [head] = await this.db.select({ hash: this.t.audit.hash }).from(this.t.audit).orderBy(desc(this.t.audit.id)).limit(1);
      const prevHash = head?.hash ?? GENESIS;
      const fields = { at: e.at ?? Date.now(), actor: e.actor, actorRole: e.actorRole, ip: e.ip, action: e.action, target: e.target ?? null, before: json(e.before), after: json(e.after), result: e.result, detail: e.detail ?? null };
      const hash = auditHash(prevHash, fields);
      try {
        const [row] = await this.db.insert(this.t.audit).values({ ...fields, prevHash, hash }).returning();
        return row!;
      } catch (e) {
        // Another console process appended after the same head (unique prev_hash): read the new head, retry.
        if (attempt < 20 && /unique|duplicate/i.test(String((e as Error).message) + String((e as { cause?: Error }).cause?.message ?? ""))) return run(attempt + 1);
        throw e;
      }
    };
    const p = this.auditQueue.then(() => run(), () => run());
    this.auditQueue = p.catch(() => undefined);
    return p;
  }
  listAudit(f: AuditFilter = {}): Promise<AuditRow[]> {
    const where: SQL[] = [];
    if (f.actor) where.push(eq(this.t.audit.actor, f.actor));
    if (f.action) where.push(eq(this.t.audit.action, f.action));
    if (f.target) where.push(eq(this.t.audit.target, f.target));
    if (f.result) where.push(eq(this.t.audit.result, f.result));
    if (f.from !== undefined) where.push(gte(this.t.audit.at, f.from));
    if (f.to !== undefined) where.push(lte(this.t.audit.at, f.to));
    if (f.before !== undefined) where.push(lt(this.t.audit.id, f.before));
    return this.db.select().from(this.t.audit).where(and(...where)).orderBy(desc(this.t.audit.id)).limit(f.limit ?? 100);
  }
  /** Walks the chain from the start; returns the first entry whose link or hash does not hold. */
  async verifyAudit(): Promise<{ ok: true; entries: number } | { ok: false; entries: number; brokenAt: number }> {
    let prev = GENESIS;
    let n = 0;
    let after = 0;
    for (;;) {
      const rows = await this.db.select().from(this.t.audit).where(gte(this.t.audit.id, after + 1)).orderBy(asc(this.t.audit.id)).limit(1000);
      if (rows.length === 0) return { ok: true, entries: n };
      for (const r of rows) {
        const { id, hash, prevHash, ...fields } = r;
        if (prevHash !== prev || auditHash(prevHash, fields) !== hash) return { ok: false, entries: n, brokenAt: id };
        prev = hash;
        n++;
        after = id;
      }
    }
  }

  // ---- alert rules
  listAlertRules(): Promise<AlertRule[]> {
    return this.db.select().from(this.t.alertRules).orderBy(asc(this.t.alertRules.name));
  }
  async upsertAlertRule(r: Omit<AlertRule, "createdAt" | "id"> & { id?: string }, now = Date.now()): Promise<AlertRule> {
    if (r.id) {
      const [row] = await this.db.update(this.t.alertRules).set({ name: r.name, kind: r.kind, threshold: r.threshold, enabled: r.enabled }).where(eq(this.t.alertRules.id, r.id)).returning();
      if (row) return row;
    }
    const row = { ...r, id: r.id ?? crypto.randomUUID(), createdAt: now };
    await this.db.insert(this.t.alertRules).values(row);
    return row;
  }
  async deleteAlertRule(id: string): Promise<boolean> {
    const r = await this.db.delete(this.t.alertRules).where(eq(this.t.alertRules.id, id)).returning({ id: this.t.alertRules.id });
    return r.length > 0;
  }

  // ---- settings (small JSON values: the setup token hash, the session secret's presence…)
  async getSetting<T>(key: string): Promise<T | undefined> {
    const [r] = await this.db.select().from(this.t.settings).where(eq(this.t.settings.key, key));
    return r ? (JSON.parse(r.value) as T) : undefined;
  }
  async setSetting(key: string, value: unknown): Promise<void> {
    const v = JSON.stringify(value);
    await this.db.insert(this.t.settings).values({ key, value: v }).onConflictDoUpdate({ target: this.t.settings.key, set: { value: v } });
  }
  async deleteSetting(key: string): Promise<void> {
    await this.db.delete(this.t.settings).where(eq(this.t.settings.key, key));
  }
}
