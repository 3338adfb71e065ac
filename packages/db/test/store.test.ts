/**
 * The Store against both dialects: the same suite runs on a SQLite file in a temp dir and on a real PostgreSQL
 * server (Debian's binaries, started by ./postgres.ts). Every test gets a fresh, freshly migrated database.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type SQL, sql } from "drizzle-orm";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type AuditInput, type AuditRow, hashPassword, openStore, type Store, type StoreOptions, verifyPassword } from "../src/index.js";
import { isRoot, postgresBinDir, startPostgres, type TestPostgres } from "./postgres.js";

interface Target {
  name: "sqlite" | "postgresql";
  setup(): Promise<void>;
  /** Options for a new, empty database. */
  fresh(): Promise<StoreOptions>;
  teardown(): Promise<void>;
}

let dbCounter = 0;

function sqliteTarget(): Target {
  let dir = "";
  return {
    name: "sqlite",
    async setup() {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-db-test-"));
    },
    async fresh() {
      return { sqliteFile: path.join(dir, `t${++dbCounter}`, "store.db") };
    },
    async teardown() {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresTarget(): Target {
  let server: TestPostgres | undefined;
  return {
    name: "postgresql",
    async setup() {
      server = await startPostgres();
    },
    async fresh() {
      if (!server) throw new Error("PostgreSQL did not start");
      return { databaseUrl: await server.createDatabase(`t${++dbCounter}`) };
    },
    async teardown() {
      await server?.stop();
    },
  };
}

// As root the PostgreSQL run is mandatory (startPostgres throws a clear error if the binaries are missing, and the
// suite fails); an unprivileged run without the binaries skips it, saying why.
const pgSkipReason = !isRoot() && !postgresBinDir() ? "PostgreSQL binaries not found under /usr/lib/postgresql/<major>/bin (install the Debian package postgresql); PostgreSQL store tests skipped" : undefined;
if (pgSkipReason) console.warn(pgSkipReason);
const targets: Target[] = pgSkipReason ? [sqliteTarget()] : [sqliteTarget(), postgresTarget()];
if (pgSkipReason) describe.skip(`postgresql store: ${pgSkipReason}`, () => it("runs against PostgreSQL", () => {}));

/** Raw SQL through the store's own driver (for tampering behind the store's back); resolves the rows changed. */
async function exec(store: Store, query: SQL): Promise<number> {
  if (store.dialect === "sqlite") return store.db.run(query).changes;
  const r = await (store.db as unknown as NodePgDatabase).execute(query);
  return r.rowCount ?? 0;
}

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;
const GENESIS = "0".repeat(64);

const entry = (over: Partial<AuditInput> = {}): AuditInput => ({ actor: "alice", actorRole: "admin", ip: "10.0.0.1", action: "user.create", result: "ok", ...over });

describe.each(targets)("$name store", (target) => {
  let store: Store;
  let options: StoreOptions;

  beforeAll(() => target.setup());
  afterAll(() => target.teardown());
  beforeEach(async () => {
    options = await target.fresh();
    store = await openStore(options);
  });
  afterEach(() => store.close());

  it("opens the requested dialect, migrated and empty", async () => {
    expect(store.dialect).toBe(target.name);
    expect(await store.countUsers()).toBe(0);
    expect(await store.listAgents()).toEqual([]);
    expect(await store.listAudit()).toEqual([]);
    expect(await store.verifyAudit()).toEqual({ ok: true, entries: 0 });
  });

  it("reopens an existing database: migrations run again without error and the data is kept", async () => {
    const u = await store.createUser({ username: "alice", passwordHash: "h", role: "admin" }, T0);
    await store.setSetting("k", { v: 1 });
    await store.appendAudit(entry({ at: T0 }));
    await store.close();
    store = await openStore(options);
    expect(await store.userById(u.id)).toEqual(u);
    expect(await store.getSetting("k")).toEqual({ v: 1 });
    expect(await store.verifyAudit()).toEqual({ ok: true, entries: 1 });
  });

  describe("users", () => {
    it("createUser lowercases the name; lookups by name are case-insensitive; the stored row is the returned one", async () => {
      const u = await store.createUser({ username: "Alice.Admin", passwordHash: "hash-a", role: "admin" }, T0);
      expect(u).toMatchObject({ username: "alice.admin", passwordHash: "hash-a", role: "admin", totpSecret: null, sessionEpoch: 0, disabled: false, createdAt: T0, updatedAt: T0 });
      expect(u.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(await store.userByName("ALICE.admin")).toEqual(u);
      expect(await store.userById(u.id)).toEqual(u);
      expect(await store.userByName("bob")).toBeUndefined();
      expect(await store.userById("no-such-id")).toBeUndefined();
      const b = await store.createUser({ username: "Bob", passwordHash: "hash-b", role: "viewer" }, T0 + 1);
      expect(await store.countUsers()).toBe(2);
      expect((await store.listUsers()).map((x) => x.id)).toEqual([u.id, b.id]);
    });

    it("rejects a second user with the same name in any case", async () => {
      await store.createUser({ username: "alice", passwordHash: "h1", role: "admin" }, T0);
      await expect(store.createUser({ username: "ALICE", passwordHash: "h2", role: "viewer" }, T0)).rejects.toThrow();
      expect(await store.countUsers()).toBe(1);
      expect((await store.userByName("alice"))?.passwordHash).toBe("h1");
    });

    it("updateUser with endSessions bumps the epoch and revokes that user's live sessions only", async () => {
      const a = await store.createUser({ username: "alice", passwordHash: "h", role: "admin" }, T0);
      const b = await store.createUser({ username: "bob", passwordHash: "h", role: "viewer" }, T0);
      const a0 = await store.createSession({ userId: a.id, epoch: 0, ip: "10.0.0.1", userAgent: "ua" }, T0 + 1);
      await store.revokeSession(a0.id, T0 + 2);
      const a1 = await store.createSession({ userId: a.id, epoch: 0, ip: "10.0.0.1", userAgent: "ua" }, T0 + 3);
      const a2 = await store.createSession({ userId: a.id, epoch: 0, ip: "10.0.0.2", userAgent: "ua" }, T0 + 4);
      const b1 = await store.createSession({ userId: b.id, epoch: 0, ip: "10.0.0.3", userAgent: "ua" }, T0 + 5);

      const next = await store.updateUser(a.id, { role: "operator" }, true, T0 + 10);
      expect(next).toMatchObject({ id: a.id, role: "operator", sessionEpoch: 1, updatedAt: T0 + 10, createdAt: T0 });
      expect(await store.userById(a.id)).toEqual(next);
      expect((await store.session(a1.id))?.revokedAt).toBe(T0 + 10);
      expect((await store.session(a2.id))?.revokedAt).toBe(T0 + 10);
      // Already revoked: keeps its own revocation time.
      expect((await store.session(a0.id))?.revokedAt).toBe(T0 + 2);
      expect(await store.listSessions(a.id)).toEqual([]);
      // The other user is untouched.
      expect((await store.session(b1.id))?.revokedAt).toBeNull();
      expect(await store.listSessions(b.id)).toEqual([b1]);
      expect((await store.userById(b.id))?.sessionEpoch).toBe(0);

      // Without endSessions: the epoch stays and live sessions stay.
      const a3 = await store.createSession({ userId: a.id, epoch: 1, ip: "10.0.0.1", userAgent: "ua" }, T0 + 20);
      const again = await store.updateUser(a.id, { totpSecret: "SECRET", disabled: true }, false, T0 + 30);
      expect(again).toMatchObject({ sessionEpoch: 1, totpSecret: "SECRET", disabled: true, updatedAt: T0 + 30 });
      expect(await store.userById(a.id)).toEqual(again);
      expect(await store.listSessions(a.id)).toEqual([a3]);

      expect(await store.updateUser("no-such-id", { role: "admin" }, true, T0)).toBeUndefined();
    });

    it("deleteUser removes the user and revokes its sessions; a second delete reports false", async () => {
      const a = await store.createUser({ username: "alice", passwordHash: "h", role: "admin" }, T0);
      const b = await store.createUser({ username: "bob", passwordHash: "h", role: "viewer" }, T0);
      const s = await store.createSession({ userId: a.id, epoch: 0, ip: "10.0.0.1", userAgent: "ua" }, T0);
      const sb = await store.createSession({ userId: b.id, epoch: 0, ip: "10.0.0.2", userAgent: "ua" }, T0);
      expect(await store.deleteUser(a.id, T0 + 5)).toBe(true);
      expect(await store.userById(a.id)).toBeUndefined();
      expect(await store.userByName("alice")).toBeUndefined();
      expect((await store.session(s.id))?.revokedAt).toBe(T0 + 5);
      expect((await store.session(sb.id))?.revokedAt).toBeNull();
      expect(await store.deleteUser(a.id, T0 + 6)).toBe(false);
      expect((await store.listUsers()).map((u) => u.username)).toEqual(["bob"]);
    });

    it("countAdmins counts enabled admins only", async () => {
      expect(await store.countAdmins()).toBe(0);
      const a1 = await store.createUser({ username: "a1", passwordHash: "h", role: "admin" }, T0);
      await store.createUser({ username: "a2", passwordHash: "h", role: "admin" }, T0);
      await store.createUser({ username: "op", passwordHash: "h", role: "operator" }, T0);
      await store.createUser({ username: "view", passwordHash: "h", role: "viewer" }, T0);
      expect(await store.countAdmins()).toBe(2);
      await store.updateUser(a1.id, { disabled: true }, true, T0 + 1);
      expect(await store.countAdmins()).toBe(1);
      await store.updateUser(a1.id, { disabled: false }, false, T0 + 2);
      expect(await store.countAdmins()).toBe(2);
      await store.updateUser(a1.id, { role: "viewer" }, true, T0 + 3);
      expect(await store.countAdmins()).toBe(1);
    });
  });

  describe("sessions", () => {
    it("create, get, touch, revoke and list (live sessions, most recently seen first)", async () => {
      const u = await store.createUser({ username: "alice", passwordHash: "h", role: "admin" }, T0);
      const other = await store.createUser({ username: "bob", passwordHash: "h", role: "viewer" }, T0);
      const longUa = "x".repeat(300);
      const s1 = await store.createSession({ userId: u.id, epoch: 0, ip: "10.0.0.1", userAgent: longUa }, T0 + 1);
      const s2 = await store.createSession({ userId: u.id, epoch: 0, ip: "10.0.0.2", userAgent: "curl" }, T0 + 2);
      const so = await store.createSession({ userId: other.id, epoch: 0, ip: "10.0.0.3", userAgent: "curl" }, T0 + 3);
      expect(s1.id).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(new Set([s1.id, s2.id, so.id]).size).toBe(3);
      expect(s1).toMatchObject({ userId: u.id, epoch: 0, createdAt: T0 + 1, lastSeenAt: T0 + 1, revokedAt: null, ip: "10.0.0.1" });
      expect(s1.userAgent).toBe("x".repeat(256));
      expect(await store.session(s1.id)).toEqual(s1);
      expect(await store.session("no-such-session")).toBeUndefined();
      expect((await store.listSessions(u.id)).map((s) => s.id)).toEqual([s2.id, s1.id]);

      await store.touchSession(s1.id, T0 + 10);
      expect(await store.session(s1.id)).toEqual({ ...s1, lastSeenAt: T0 + 10 });
      expect((await store.listSessions(u.id)).map((s) => s.id)).toEqual([s1.id, s2.id]);

      await store.revokeSession(s2.id, T0 + 20);
      expect((await store.session(s2.id))?.revokedAt).toBe(T0 + 20);
      await store.revokeSession(s2.id, T0 + 30);
      expect((await store.session(s2.id))?.revokedAt).toBe(T0 + 20);
      expect((await store.listSessions(u.id)).map((s) => s.id)).toEqual([s1.id]);
      expect((await store.listSessions(other.id)).map((s) => s.id)).toEqual([so.id]);
      expect(await store.listSessions("no-such-user")).toEqual([]);
    });
  });

  describe("login throttling", () => {
    it("failuresSince counts a key's failures within the window and after its last success", async () => {
      const user = "user:alice";
      const ip = "ip:10.0.0.1";
      await store.recordLogin([user, ip], false, T0);
      await store.recordLogin([user, ip], false, T0 + 1000);
      await store.recordLogin([user], true, T0 + 2000);
      await store.recordLogin([user, ip], false, T0 + 3000);
      await store.recordLogin([ip], false, T0 + 4000);

      expect(await store.failuresSince(user, T0)).toEqual({ count: 1, last: T0 + 3000 });
      expect(await store.failuresSince(ip, T0)).toEqual({ count: 4, last: T0 + 4000 });
      // The window: only attempts at or after `since`.
      expect(await store.failuresSince(ip, T0 + 1000)).toEqual({ count: 3, last: T0 + 4000 });
      expect(await store.failuresSince(ip, T0 + 3500)).toEqual({ count: 1, last: T0 + 4000 });
      expect(await store.failuresSince(ip, T0 + 4001)).toEqual({ count: 0, last: 0 });
      expect(await store.failuresSince("user:nobody", T0)).toEqual({ count: 0, last: 0 });

      // A success resets the count for that key only.
      await store.recordLogin([user], true, T0 + 5000);
      expect(await store.failuresSince(user, T0)).toEqual({ count: 0, last: 0 });
      expect(await store.failuresSince(ip, T0)).toEqual({ count: 4, last: T0 + 4000 });

      // Attempts older than a day are pruned on the next record.
      await store.recordLogin(["user:bob"], false, T0 + DAY + 3500);
      expect(await store.failuresSince(ip, 0)).toEqual({ count: 1, last: T0 + 4000 });
      expect(await store.failuresSince("user:bob", 0)).toEqual({ count: 1, last: T0 + DAY + 3500 });
    });
  });

  describe("agents", () => {
    it("create, get, list by name, unique name, delete", async () => {
      const e2 = await store.createAgent({ name: "edge-2", url: "https://10.0.0.2:9443", token: "t2", caPem: null }, T0);
      const e1 = await store.createAgent({ name: "edge-1", url: "https://10.0.0.1:9443", token: "t1", caPem: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n" }, T0 + 1);
      expect(e2).toMatchObject({ name: "edge-2", caPem: null, createdAt: T0 });
      expect(await store.agent(e1.id)).toEqual(e1);
      expect(await store.agent(e2.id)).toEqual(e2);
      expect(await store.listAgents()).toEqual([e1, e2]);
      await expect(store.createAgent({ name: "edge-1", url: "https://x", token: "t", caPem: null }, T0)).rejects.toThrow();
      expect(await store.listAgents()).toHaveLength(2);
      expect(await store.deleteAgent(e1.id)).toBe(true);
      expect(await store.agent(e1.id)).toBeUndefined();
      expect(await store.deleteAgent(e1.id)).toBe(false);
      expect(await store.listAgents()).toEqual([e2]);
    });
  });

  describe("settings", () => {
    it("get, set, overwrite and delete JSON values", async () => {
      expect(await store.getSetting("a")).toBeUndefined();
      await store.setSetting("a", { x: 1, list: [1, "two", null] });
      await store.setSetting("b", "text");
      expect(await store.getSetting("a")).toEqual({ x: 1, list: [1, "two", null] });
      await store.setSetting("a", 42);
      expect(await store.getSetting("a")).toBe(42);
      await store.setSetting("n", null);
      expect(await store.getSetting("n")).toBeNull();
      await store.deleteSetting("a");
      expect(await store.getSetting("a")).toBeUndefined();
      expect(await store.getSetting("b")).toBe("text");
      await expect(store.deleteSetting("missing")).resolves.toBeUndefined();
    });
  });

  describe("alert rules", () => {
    it("upsert inserts then updates (keeping createdAt), list by name, delete", async () => {
      const b = await store.upsertAlertRule({ name: "b-rule", kind: "cpsAbove", threshold: 1000, enabled: true }, T0);
      const a = await store.upsertAlertRule({ name: "a-rule", kind: "quorumLost", threshold: null, enabled: false }, T0 + 1);
      expect(b).toMatchObject({ name: "b-rule", kind: "cpsAbove", threshold: 1000, enabled: true, createdAt: T0 });
      expect(await store.listAlertRules()).toEqual([a, b]);

      const c = await store.upsertAlertRule({ id: b.id, name: "c-rule", kind: "agentStale", threshold: 5, enabled: false }, T0 + 50);
      expect(c).toEqual({ id: b.id, name: "c-rule", kind: "agentStale", threshold: 5, enabled: false, createdAt: T0 });
      expect(await store.listAlertRules()).toEqual([a, c]);

      // An id that does not exist yet is inserted under that id.
      const d = await store.upsertAlertRule({ id: "fixed-id", name: "d-rule", kind: "realServerDown", threshold: null, enabled: true }, T0 + 60);
      expect(d).toEqual({ id: "fixed-id", name: "d-rule", kind: "realServerDown", threshold: null, enabled: true, createdAt: T0 + 60 });
      expect(await store.listAlertRules()).toEqual([a, c, d]);

      expect(await store.deleteAlertRule(a.id)).toBe(true);
      expect(await store.deleteAlertRule(a.id)).toBe(false);
      expect(await store.listAlertRules()).toEqual([c, d]);
    });
  });

  describe("audit log", () => {
    async function appendMany(n: number): Promise<AuditRow[]> {
      const rows: AuditRow[] = [];
      for (let i = 0; i < n; i++) rows.push(await store.appendAudit(entry({ at: T0 + i, detail: `entry ${i}` })));
      return rows;
    }

    it("append assigns increasing ids, links each entry to the previous hash, and the chain verifies", async () => {
      const before = Date.now();
      const e1 = await store.appendAudit(entry({ at: T0, target: "bob", before: null, after: { role: "viewer", tags: ["x"] }, detail: "created" }));
      const e2 = await store.appendAudit(entry({ at: T0 + 1, actor: null, actorRole: null, ip: null, action: "system.start" }));
      const e3 = await store.appendAudit(entry({ action: "user.delete", result: "denied", before: { role: "viewer" } }));
      const after = Date.now();

      expect(e1.id).toBeGreaterThan(0);
      expect(e2.id).toBeGreaterThan(e1.id);
      expect(e3.id).toBeGreaterThan(e2.id);
      expect(e1).toMatchObject({ at: T0, actor: "alice", actorRole: "admin", ip: "10.0.0.1", action: "user.create", target: "bob", before: "null", after: '{"role":"viewer","tags":["x"]}', result: "ok", detail: "created", prevHash: GENESIS });
      expect(e2).toMatchObject({ actor: null, actorRole: null, ip: null, target: null, before: null, after: null, detail: null, prevHash: e1.hash });
      expect(e3.prevHash).toBe(e2.hash);
      expect(e3.before).toBe('{"role":"viewer"}');
      // `at` defaults to now.
      expect(e3.at).toBeGreaterThanOrEqual(before);
      expect(e3.at).toBeLessThanOrEqual(after);
      for (const e of [e1, e2, e3]) expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(new Set([e1.hash, e2.hash, e3.hash]).size).toBe(3);

      // What was stored is what append returned, newest first.
      expect(await store.listAudit()).toEqual([e3, e2, e1]);
      expect(await store.verifyAudit()).toEqual({ ok: true, entries: 3 });
    });

    it("an edited detail breaks the chain at that entry (and restoring it mends it)", async () => {
      const rows = await appendMany(5);
      expect(await store.verifyAudit()).toEqual({ ok: true, entries: 5 });
      const victim = rows[2]!;
      expect(await exec(store, sql`UPDATE audit SET detail = ${"nothing happened"} WHERE id = ${victim.id}`)).toBe(1);
      expect(await store.verifyAudit()).toEqual({ ok: false, entries: 2, brokenAt: victim.id });
      expect(await exec(store, sql`UPDATE audit SET detail = ${victim.detail} WHERE id = ${victim.id}`)).toBe(1);
      expect(await store.verifyAudit()).toEqual({ ok: true, entries: 5 });
    });

    it("a deleted middle entry breaks the chain at the entry after it", async () => {
      const rows = await appendMany(5);
      expect(await store.verifyAudit()).toEqual({ ok: true, entries: 5 });
      expect(await exec(store, sql`DELETE FROM audit WHERE id = ${rows[2]!.id}`)).toBe(1);
      expect(await store.verifyAudit()).toEqual({ ok: false, entries: 2, brokenAt: rows[3]!.id });
    });

    it("an edited first entry breaks the chain at the first entry", async () => {
      const rows = await appendMany(3);
      expect(await store.verifyAudit()).toEqual({ ok: true, entries: 3 });
      expect(await exec(store, sql`UPDATE audit SET at = ${T0 + 999} WHERE id = ${rows[0]!.id}`)).toBe(1);
      expect(await store.verifyAudit()).toEqual({ ok: false, entries: 0, brokenAt: rows[0]!.id });
    });

    it("a failed append does not stall the queue or break the chain", async () => {
      const first = await store.appendAudit(entry({ at: T0 }));
      // action is NOT NULL: the insert fails in the database.
      await expect(store.appendAudit(entry({ at: T0 + 1, action: null as unknown as string }))).rejects.toThrow();
      const next = await store.appendAudit(entry({ at: T0 + 2, action: "after.failure" }));
      expect(next.prevHash).toBe(first.hash);
      expect(await store.verifyAudit()).toEqual({ ok: true, entries: 2 });
    });

    it("50 concurrent appends form one valid chain, in call order", async () => {
      const rows = await Promise.all(Array.from({ length: 50 }, (_, i) => store.appendAudit(entry({ at: T0 + (i % 7), detail: `concurrent ${i}` }))));
      for (let i = 1; i < rows.length; i++) {
        expect(rows[i]!.id).toBeGreaterThan(rows[i - 1]!.id);
        expect(rows[i]!.prevHash).toBe(rows[i - 1]!.hash);
        expect(rows[i]!.detail).toBe(`concurrent ${i}`);
      }
      expect(rows[0]!.prevHash).toBe(GENESIS);
      expect(new Set(rows.map((r) => r.hash)).size).toBe(50);
      expect(await store.verifyAudit()).toEqual({ ok: true, entries: 50 });
      expect(await store.listAudit({ limit: 100 })).toEqual([...rows].reverse());
    });

    it("listAudit filters by actor, action, target, result and time, and pages backwards with before", async () => {
      const specs: Partial<AuditInput>[] = [
        { at: T0 + 1000, actor: "alice", action: "user.create", target: "bob", result: "ok" },
        { at: T0 + 2000, actor: "bob", actorRole: "operator", action: "agent.add", target: "edge-1", result: "denied" },
        { at: T0 + 3000, actor: "alice", action: "agent.add", target: "edge-2", result: "ok" },
        { at: T0 + 4000, actor: null, actorRole: null, action: "agent.poll", target: "edge-1", result: "error" },
        { at: T0 + 5000, actor: "alice", action: "user.delete", target: "bob", result: "denied" },
        { at: T0 + 6000, actor: "bob", actorRole: "operator", action: "user.create", target: "carol", result: "ok" },
      ];
      const rows: AuditRow[] = [];
      for (const s of specs) rows.push(await store.appendAudit(entry(s)));
      // Positions (1-based, in append order) of the entries a query returns; listAudit is newest first.
      const pos = (found: AuditRow[]) => found.map((r) => rows.findIndex((x) => x.id === r.id) + 1);

      expect(pos(await store.listAudit())).toEqual([6, 5, 4, 3, 2, 1]);
      expect(pos(await store.listAudit({ actor: "alice" }))).toEqual([5, 3, 1]);
      expect(pos(await store.listAudit({ action: "agent.add" }))).toEqual([3, 2]);
      expect(pos(await store.listAudit({ target: "edge-1" }))).toEqual([4, 2]);
      expect(pos(await store.listAudit({ result: "denied" }))).toEqual([5, 2]);
      expect(pos(await store.listAudit({ result: "error" }))).toEqual([4]);
      expect(pos(await store.listAudit({ from: T0 + 2000, to: T0 + 4000 }))).toEqual([4, 3, 2]);
      expect(pos(await store.listAudit({ from: T0 + 4500 }))).toEqual([6, 5]);
      expect(pos(await store.listAudit({ to: T0 + 1999 }))).toEqual([1]);
      expect(pos(await store.listAudit({ actor: "alice", result: "ok", from: T0 + 2000 }))).toEqual([3]);
      expect(pos(await store.listAudit({ actor: "nobody" }))).toEqual([]);
      expect(pos(await store.listAudit({ before: rows[3]!.id }))).toEqual([3, 2, 1]);
      expect(pos(await store.listAudit({ actor: "bob", before: rows[5]!.id }))).toEqual([2]);

      // Paging: limit, then before = the last id seen, until empty.
      const pages: number[][] = [];
      let cursor: number | undefined;
      for (;;) {
        const page = await store.listAudit({ limit: 4, ...(cursor === undefined ? {} : { before: cursor }) });
        if (page.length === 0) break;
        pages.push(pos(page));
        cursor = page[page.length - 1]!.id;
      }
      expect(pages).toEqual([
        [6, 5, 4, 3],
        [2, 1],
      ]);
    });
  });

  describe("passwords", () => {
    it("argon2id hashes round-trip through the users table and verify only the right password", async () => {
      const hash = await hashPassword("correct horse battery staple");
      expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(await hashPassword("correct horse battery staple")).not.toBe(hash);
      await store.createUser({ username: "alice", passwordHash: hash, role: "admin" }, T0);
      const stored = (await store.userByName("alice"))?.passwordHash;
      expect(stored).toBe(hash);
      expect(await verifyPassword(stored, "correct horse battery staple")).toBe(true);
      expect(await verifyPassword(stored, "correct horse battery stapl")).toBe(false);
      expect(await verifyPassword(stored, "")).toBe(false);
      // An unknown user: no stored hash, always false.
      expect(await verifyPassword((await store.userByName("nobody"))?.passwordHash, "correct horse battery staple")).toBe(false);
      expect(await verifyPassword(undefined, "not a real password")).toBe(false);
      // A garbled stored hash is a failed verification, not an exception.
      expect(await verifyPassword("not-a-hash", "correct horse battery staple")).toBe(false);
    });
  });
});
