/** The console's store, PostgreSQL dialect (the scale option): the same tables and columns as sqlite.ts. */
import { bigint, bigserial, boolean, index, uniqueIndex, integer, pgTable, text } from "drizzle-orm/pg-core";

const ms = (name: string) => bigint(name, { mode: "number" });

export const users = pgTable("users", {
  id: text("id").primaryKey(),
  username: text("username").notNull().unique(),
  passwordHash: text("password_hash").notNull(),
  role: text("role", { enum: ["viewer", "operator", "admin"] }).notNull(),
  totpSecret: text("totp_secret"),
  sessionEpoch: integer("session_epoch").notNull().default(0),
  disabled: boolean("disabled").notNull().default(false),
  createdAt: ms("created_at").notNull(),
  updatedAt: ms("updated_at").notNull(),
});

export const sessions = pgTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    epoch: integer("epoch").notNull(),
    createdAt: ms("created_at").notNull(),
    lastSeenAt: ms("last_seen_at").notNull(),
    revokedAt: ms("revoked_at"),
    ip: text("ip").notNull(),
    userAgent: text("user_agent").notNull(),
  },
  (t) => [index("sessions_user").on(t.userId)],
);

export const loginAttempts = pgTable(
  "login_attempts",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    key: text("key").notNull(),
    at: ms("at").notNull(),
    ok: boolean("ok").notNull(),
  },
  (t) => [index("login_attempts_key_at").on(t.key, t.at)],
);

export const agents = pgTable("agents", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  url: text("url").notNull(),
  token: text("token").notNull(),
  caPem: text("ca_pem"),
  createdAt: ms("created_at").notNull(),
});

export const audit = pgTable(
  "audit",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    at: ms("at").notNull(),
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

export const alertRules = pgTable("alert_rules", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  kind: text("kind", { enum: ["realServerDown", "quorumLost", "agentStale", "cpsAbove"] }).notNull(),
  threshold: integer("threshold"),
  enabled: boolean("enabled").notNull().default(true),
  createdAt: ms("created_at").notNull(),
});

export const settings = pgTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});
