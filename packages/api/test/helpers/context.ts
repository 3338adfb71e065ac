/**
 * Real parts for the API tests: a fresh SQLite store in a temp dir, a real AgentHub over it, users created with
 * real argon2 hashes, and tRPC callers acting as a given user (a real session in the store, as the console's
 * request context would build it).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { hashPassword, openStore, type Role, type Store, type User } from "@director/db";
import { AgentHub } from "../../src/hub/hub.js";
import { appRouter } from "../../src/root.js";
import { type Context, createCallerFactory } from "../../src/trpc.js";

export const PASSWORD = "correct horse battery staple";
export const createCaller = createCallerFactory(appRouter);
export type Caller = ReturnType<typeof createCaller>;

export interface TestEnv {
  dir: string;
  store: Store;
  hub: AgentHub;
  /** A user with a real hash of PASSWORD. */
  user(username: string, role: Role): Promise<User>;
  /** A context for this user with a fresh session in the store, or without a session (null). */
  ctx(user: User | null, o?: { ip?: string; requireAdminTotp?: boolean }): Promise<Context>;
  caller(user: User | null, o?: { ip?: string; requireAdminTotp?: boolean; signal?: AbortSignal }): Promise<Caller>;
  close(): Promise<void>;
}

export async function testEnv(hubOptions: ConstructorParameters<typeof AgentHub>[1] = {}): Promise<TestEnv> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-api-test-"));
  const store = await openStore({ sqliteFile: path.join(dir, "console.db") });
  const hub = new AgentHub(store, hubOptions);
  let hash: Promise<string> | undefined;
  const env: TestEnv = {
    dir,
    store,
    hub,
    async user(username, role) {
      hash ??= hashPassword(PASSWORD);
      return store.createUser({ username, passwordHash: await hash, role });
    },
    async ctx(user, o = {}) {
      const ip = o.ip ?? "192.0.2.10";
      let session: Context["session"] = null;
      if (user) {
        const s = await store.createSession({ userId: user.id, epoch: user.sessionEpoch, ip, userAgent: "vitest" });
        session = { id: s.id, user: { id: user.id, username: user.username, role: user.role, totp: user.totpSecret !== null } };
      }
      return { store, hub, session, ip, userAgent: "vitest", requireAdminTotp: o.requireAdminTotp ?? false };
    },
    async caller(user, o = {}) {
      return createCaller(await env.ctx(user, o), o.signal ? { signal: o.signal } : undefined);
    },
    async close() {
      hub.stop();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return env;
}
