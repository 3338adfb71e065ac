/**
 * Opens the store: PostgreSQL when a postgres:// URL is given (DATABASE_URL), else a SQLite file (the embedded
 * default, WAL mode). Migrations from ../migrations run on open. Open lazily: `next build` evaluates route modules.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { SealKey } from "./seal.js";
import { type Db, Store, type Tables } from "./store.js";

const MIGRATIONS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "migrations");

export interface StoreOptions {
  /** postgres://… or postgresql://… for PostgreSQL. */
  databaseUrl?: string;
  /** The SQLite file when no databaseUrl is given. */
  sqliteFile?: string;
  migrationsDir?: string;
  /** Seals agents' tokens at rest with this key (see seal.ts). */
  sealKey?: SealKey;
}

export async function openStore(o: StoreOptions): Promise<Store> {
  const migrations = o.migrationsDir ?? MIGRATIONS;
  if (o.databaseUrl && /^postgres(ql)?:\/\//.test(o.databaseUrl)) {
    const { default: pg } = await import("pg");
    const { drizzle } = await import("drizzle-orm/node-postgres");
    const { migrate } = await import("drizzle-orm/node-postgres/migrator");
    const schema = await import("./schema/pg.js");
    const pool = new pg.Pool({ connectionString: o.databaseUrl, max: 10 });
    // An idle client's error (server restart) must not crash the console; the next query reconnects.
    pool.on("error", () => {});
    const db = drizzle(pool, { schema });
    await migrate(db, { migrationsFolder: path.join(migrations, "pg") });
    return new Store(db as unknown as Db, "postgresql", () => pool.end(), schema as unknown as Tables, o.sealKey ?? null);
  }
  if (o.databaseUrl) throw new Error("DATABASE_URL must be a postgres:// URL (leave it unset for the embedded SQLite store)");
  if (!o.sqliteFile) throw new Error("no store configured: give a SQLite file or a PostgreSQL URL");
  const { default: Database } = await import("better-sqlite3");
  const { drizzle } = await import("drizzle-orm/better-sqlite3");
  const { migrate } = await import("drizzle-orm/better-sqlite3/migrator");
  const schema = await import("./schema/sqlite.js");
  fs.mkdirSync(path.dirname(o.sqliteFile), { recursive: true, mode: 0o700 });
  const sqlite = new Database(o.sqliteFile);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("busy_timeout = 5000");
  fs.chmodSync(o.sqliteFile, 0o600);
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: path.join(migrations, "sqlite") });
  return new Store(
    db,
    "sqlite",
    async () => {
      sqlite.close();
    },
    undefined,
    o.sealKey ?? null,
  );
}
