/**
 * Access control, generated from the router itself: every procedure the app router has is listed from
 * `appRouter._def.procedures` and called through a real tRPC caller (real SQLite store, real AgentHub, real
 * sessions), so a procedure added without a role decision, or with a weaker role than this table says, fails here.
 *
 * The table below is the one place a reviewer reads the access policy: procedure → (type, least role). It must
 * list exactly the router's procedures. For every procedure:
 *  - without a session: UNAUTHORIZED (except the three public ones);
 *  - with every role below its least role: FORBIDDEN, and for a mutation a "denied" audit row;
 *  - with its least role and above: past the role check (any other outcome than UNAUTHORIZED/FORBIDDEN).
 * Inputs are deliberately missing: the role check runs before input validation, so a refusal never depends on,
 * or reveals anything about, what the caller sent.
 */
import type { Role, User } from "@director/db";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "../src/root.js";
import { type Caller, type TestEnv, testEnv } from "./helpers/context.js";

type Kind = "query" | "mutation" | "subscription";
type Need = "public" | Role;

const POLICY: Record<string, [Kind, Need]> = {
  "session.me": ["query", "public"],
  "session.list": ["query", "viewer"],
  "session.revokeOthers": ["mutation", "viewer"],
  "session.changePassword": ["mutation", "viewer"],
  "session.totpBegin": ["mutation", "viewer"],
  "session.totpConfirm": ["mutation", "viewer"],
  "setup.pending": ["query", "public"],
  "setup.complete": ["mutation", "public"],
  "overview.get": ["query", "viewer"],
  "agent.list": ["query", "viewer"],
  "agent.test": ["mutation", "admin"],
  "agent.add": ["mutation", "admin"],
  "agent.remove": ["mutation", "admin"],
  "virtualService.list": ["query", "viewer"],
  "virtualService.get": ["query", "viewer"],
  "virtualService.history": ["query", "viewer"],
  "virtualService.add": ["mutation", "admin"],
  "virtualService.remove": ["mutation", "admin"],
  "realServer.setAdminState": ["mutation", "operator"],
  "realServer.setWeight": ["mutation", "operator"],
  "realServer.add": ["mutation", "admin"],
  "realServer.remove": ["mutation", "admin"],
  "realServer.healthHistory": ["query", "viewer"],
  "connection.list": ["query", "viewer"],
  "simulator.run": ["query", "viewer"],
  "alert.rules": ["query", "viewer"],
  "alert.saveRule": ["mutation", "admin"],
  "alert.removeRule": ["mutation", "admin"],
  "alert.firing": ["query", "viewer"],
  "audit.list": ["query", "admin"],
  "audit.verify": ["query", "admin"],
  "audit.export": ["mutation", "admin"],
  "user.list": ["query", "admin"],
  "user.create": ["mutation", "admin"],
  "user.update": ["mutation", "admin"],
  "user.remove": ["mutation", "admin"],
  "live.overview": ["subscription", "viewer"],
  "live.service": ["subscription", "viewer"],
  "live.events": ["subscription", "viewer"],
};

const ROLES: Role[] = ["viewer", "operator", "admin"];
const rank = (r: Role) => ROLES.indexOf(r);

/** The router's own list of procedures: path → type. */
function routerProcedures(): Map<string, Kind> {
  const procs = appRouter._def.procedures as unknown as Record<string, { _def: { type: Kind } }>;
  return new Map(Object.entries(procs).map(([p, v]) => [p, v._def.type]));
}

const ROUTER = routerProcedures();
const PATHS = [...ROUTER.keys()].sort();
/** A procedure missing from POLICY is held to the strictest rule (admin) below, besides failing the table test. */
const need = (p: string): Need => POLICY[p]?.[1] ?? "admin";
const GATED = PATHS.filter((p) => need(p) !== "public");

/**
 * Calls a procedure by its path with `input`. A subscription resolves to an async iterable once its middleware
 * has passed; its first value is pulled too (bounded by an abort) so an error raised on iteration is seen as well.
 */
async function invoke(caller: Caller, path: string, input: unknown, abort: AbortController): Promise<unknown> {
  let fn: unknown = caller;
  for (const seg of path.split(".")) fn = (fn as Record<string, unknown>)[seg];
  const out = await (fn as (i: unknown) => Promise<unknown>)(input);
  if (ROUTER.get(path) === "subscription") {
    const it = (out as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    const timer = setTimeout(() => abort.abort(), 300);
    try {
      await it.next();
    } finally {
      clearTimeout(timer);
      abort.abort();
      await it.return?.();
    }
  }
  return out;
}

/** The tRPC error code a call by `user` (null: no session) ends with, or "OK". */
async function outcome(user: User | null, path: string, input?: unknown, o: { ip?: string; requireAdminTotp?: boolean } = {}): Promise<string> {
  const abort = new AbortController();
  const caller = await env.caller(user, { ...o, signal: abort.signal });
  try {
    await invoke(caller, path, input, abort);
    return "OK";
  } catch (e) {
    if (e instanceof TRPCError) return e.code;
    if ((e as Error).name === "AbortError") return "OK";
    throw e;
  }
}

let env: TestEnv;
const users = {} as Record<Role, User>;

beforeAll(async () => {
  env = await testEnv();
  for (const r of ROLES) users[r] = await env.user(`${r}-user`, r);
});
afterAll(async () => {
  await env?.close();
});

describe("the access policy table", () => {
  it("lists exactly the router's procedures, with their types", () => {
    expect(PATHS.length).toBeGreaterThan(30);
    expect(Object.keys(POLICY).sort(), "a procedure is missing from POLICY, or POLICY names one the router lacks").toEqual(PATHS);
    for (const p of PATHS) expect(`${p}: ${POLICY[p]![0]}`).toBe(`${p}: ${ROUTER.get(p)}`);
  });

  it("has no lazy routers whose procedures the walk above would miss", () => {
    expect(Object.keys((appRouter._def as unknown as { lazy: Record<string, unknown> }).lazy ?? {})).toEqual([]);
  });

  it("keeps public only session.me, setup.pending and setup.complete", () => {
    expect(PATHS.filter((p) => need(p) === "public")).toEqual(["session.me", "setup.complete", "setup.pending"]);
  });
});

describe("without a session", () => {
  it.each(GATED)("%s is UNAUTHORIZED", async (path) => {
    expect(await outcome(null, path)).toBe("UNAUTHORIZED");
  });

  it("the public procedures answer without a session and give nothing away", async () => {
    const caller = await env.caller(null);
    expect(await caller.session.me()).toBeNull();
    expect(await caller.setup.pending()).toBe(false);
    // The setup mutation is public but guarded by its one-time token: a made-up one is refused.
    await expect(caller.setup.complete({ token: "x".repeat(32), username: "mallory", password: "a long enough password" })).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect(await env.store.userByName("mallory")).toBeUndefined();
  });
});

/** (path, role) pairs where the role is below the procedure's least role. */
const BELOW = GATED.flatMap((p) => ROLES.filter((r) => rank(r) < rank(need(p) as Role)).map((r) => [p, r] as const));
/** (path, role) pairs where the role is enough. */
const ENOUGH = GATED.flatMap((p) => ROLES.filter((r) => rank(r) >= rank(need(p) as Role)).map((r) => [p, r] as const));

describe("with a role below the procedure's least role", () => {
  it("covers every operator mutation for viewers and every admin procedure for operators", () => {
    const pairs = new Set(BELOW.map(([p, r]) => `${p}@${r}`));
    for (const p of GATED) {
      if (need(p) === "operator" || need(p) === "admin") expect(pairs.has(`${p}@viewer`)).toBe(true);
      if (need(p) === "admin") expect(pairs.has(`${p}@operator`)).toBe(true);
    }
    expect(BELOW.filter(([p]) => ROUTER.get(p) === "mutation").length).toBeGreaterThan(20);
  });

  it.each(BELOW)("%s is FORBIDDEN for a %s", async (path, role) => {
    const user = users[role];
    const ip = `198.51.100.${1 + rank(role)}`;
    const denied = () => env.store.listAudit({ actor: user.username, action: path, result: "denied" });
    const before = (await denied()).length;
    expect(await outcome(user, path, undefined, { ip })).toBe("FORBIDDEN");
    const after = await denied();
    if (ROUTER.get(path) === "mutation") {
      // A refused change is on the record: who, with which role, from where, and what was needed.
      expect(after.length).toBe(before + 1);
      expect(after[0]).toMatchObject({ actor: user.username, actorRole: role, ip, action: path, result: "denied", detail: `needs role ${need(path)}` });
    } else {
      expect(after.length).toBe(before);
    }
  });

  it("refuses before looking at the input: a malformed input still gets FORBIDDEN, not a validation error", async () => {
    expect(await outcome(users.viewer, "realServer.setAdminState", { agentId: "not a uuid", state: "gone" })).toBe("FORBIDDEN");
    expect(await outcome(users.viewer, "user.create", { username: "!", password: "", role: "root" })).toBe("FORBIDDEN");
    expect(await env.store.userByName("!")).toBeUndefined();
  });

  it("records what a refused caller tried, with secrets blanked", async () => {
    const secret = "an attempted password 123";
    expect(await outcome(users.operator, "user.create", { username: "mallory", password: secret, role: "admin" })).toBe("FORBIDDEN");
    const [row] = await env.store.listAudit({ actor: users.operator.username, action: "user.create", result: "denied", limit: 1 });
    expect(row?.target).toContain("mallory");
    expect(row?.target).toContain("[redacted]");
    expect(JSON.stringify(row)).not.toContain(secret);
  });
});

describe("with the least role or above", () => {
  it.each(ENOUGH)("%s passes the role check for a %s", async (path, role) => {
    const code = await outcome(users[role], path);
    expect(["UNAUTHORIZED", "FORBIDDEN"]).not.toContain(code);
  });
});

describe("admins without a second factor when CONSOLE_REQUIRE_ADMIN_TOTP is set", () => {
  const adminOnly = GATED.filter((p) => need(p) === "admin");
  it.each(adminOnly)("%s is FORBIDDEN until the admin enrols TOTP", async (path) => {
    expect(await outcome(users.admin, path, undefined, { requireAdminTotp: true })).toBe("FORBIDDEN");
  });

  it("still lets that admin use their own account and read-only pages (to enrol)", async () => {
    const caller = await env.caller(users.admin, { requireAdminTotp: true });
    expect(await caller.session.me()).toMatchObject({ username: "admin-user", role: "admin", mustEnrolTotp: true });
    const begun = await caller.session.totpBegin();
    expect(begun.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(await outcome(users.admin, "overview.get", undefined, { requireAdminTotp: true })).toBe("OK");
  });
});
