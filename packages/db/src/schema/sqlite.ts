/**
 * The console's store, SQLite dialect (the embedded default). pg.ts is the same schema for PostgreSQL: same table
 * and column names, so one Store implementation (store.ts) serves both. Times are ms since the epoch.
 */
import { index, uniqueIndex, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  username: text("username").notNull().unique(),
  passwordHash: text("password_hash").notNull(),
  role: text("role", { enum: ["viewer", "operator", "admin"] }).notNull(),
  totpSecret: text("totp_secret"),
  /** Bumped on role or password change: every session issued before is invalid at its next request. */
  sessionEpoch: integer("session_epoch").notNull().default(0),
  disabled: integer("disabled", { mode: "boolean" }).notNull().default(false),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    epoch: integer("epoch").notNull(),
    createdAt: integer("created_at").notNull(),
    lastSeenAt: integer("last_seen_at").notNull(),
    revokedAt: integer("revoked_at"),
    ip: text("ip").notNull(),
    userAgent: text("user_agent").notNull(),
  },
  (t) => [index("sessions_user").on(t.userId)],
);

export const loginAttempts = sqliteTable(
  "login_attempts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** "user:<name>" or "ip:<address>". */
    key: text("key").notNull(),
    at: integer("at").notNull(),
    ok: integer("ok", { mode: "boolean" }).notNull(),
  },
  (t) => [index("login_attempts_key_at").on(t.key, t.at)],
);

export const agents = sqliteTable("agents", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  url: text("url").notNull(),
  token: text("token").notNull(),
  caPem: text("ca_pem"),
  createdAt: integer("created_at").notNull(),
});

export const audit = sqliteTable(
  "audit",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull(),
    actor: text("actor"),
    actorRole: text("actor_role"),
    ip: text("ip"),
    action: text("action").notNull(),
    target: text("target"),
    before: text("before"),
    after: text("after"),
    result: text("result", { enum: ["ok", "error", "denied"] }).notNull(),
    detail: text("detail"),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
  },
  // Unique: two writers racing for the same head cannot both append after it (the loser retries).
  (t) => [index("audit_at").on(t.at), index("audit_actor").on(t.actor), uniqueIndex("audit_prev_hash").on(t.prevHash)],
);

export const alertRules = sqliteTable("alert_rules", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** What fires it: a real server going down, a service losing quorum, a connection rate above threshold… */
  kind: text("kind", { enum: ["realServerDown", "quorumLost", "agentStale", "cpsAbove"] }).notNull(),
  threshold: integer("threshold"),
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
  createdAt: integer("created_at").notNull(),
});

export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});
