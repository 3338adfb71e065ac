/**
 * The console's tRPC building blocks: the context (store, agent hub, the caller's session and address) and the
 * procedure builders. Every procedure checks the session and the role here, on the server, whatever the UI shows:
 * `viewerProcedure` (read), `operatorProcedure` (drain, maintenance, activate, weight), `adminProcedure`
 * (services, real servers, agents, users, audit). A refused mutation is written to the audit log as "denied".
 */
import type { Role, Store } from "@director/db";
import { roleRank } from "@director/db";
import { initTRPC, TRPCError } from "@trpc/server";
import { z } from "zod";
import type { AgentHub } from "./hub/hub.js";

export interface SessionUser {
  id: string;
  username: string;
  role: Role;
  totp: boolean;
}

export interface Context {
  store: Store;
  hub: AgentHub;
  /** null when the request carries no valid session. */
  session: { id: string; user: SessionUser } | null;
  ip: string;
  userAgent: string;
  /** Admins must have a second factor (CONSOLE_REQUIRE_ADMIN_TOTP). */
  requireAdminTotp: boolean;
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    // zod issues are returned as a list of "field: message", never as a stack.
    const zodIssues = error.cause instanceof z.ZodError ? error.cause.issues.map((i) => `${i.path.join(".") || "(input)"}: ${i.message}`) : undefined;
    return { ...shape, data: { code: shape.data.code, httpStatus: shape.data.httpStatus, path: shape.data.path, zodIssues } };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure;

const SECRET_KEY = /pass|token|secret|totp|code|ca(Pem)?$/i;

/** What a refused caller tried to change, for the audit log: the raw input, secrets blanked, at most 300 characters. */
async function attempted(getRawInput: () => Promise<unknown>): Promise<string | null> {
  try {
    const raw = await getRawInput();
    if (raw === undefined) return null;
    const text = JSON.stringify(raw, (k, v) => (k && SECRET_KEY.test(k) ? "[redacted]" : v));
    return text.length > 300 ? `${text.slice(0, 299)}…` : text;
  } catch {
    return null;
  }
}

function roleProcedure(min: Role) {
  return t.procedure.use(async ({ ctx, next, type, path, getRawInput }) => {
    if (!ctx.session) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in first" });
    const user = ctx.session.user;
    if (roleRank(user.role) < roleRank(min) || (min === "admin" && ctx.requireAdminTotp && !user.totp)) {
      if (type === "mutation")
        await ctx.store.appendAudit({ actor: user.username, actorRole: user.role, ip: ctx.ip, action: path, target: await attempted(getRawInput), result: "denied", detail: `needs role ${min}` });
      throw new TRPCError({
        code: "FORBIDDEN",
        message: roleRank(user.role) < roleRank(min) ? `this needs the ${min} role (you are ${user.role})` : "admins must enrol a second factor (TOTP) first",
      });
    }
    return next({ ctx: { ...ctx, session: ctx.session, user } });
  });
}

/** Signed in, any role, second factor not required (the user's own account pages). */
export const viewerProcedure = roleProcedure("viewer");
export const authedProcedure = viewerProcedure;
export const operatorProcedure = roleProcedure("operator");
export const adminProcedure = roleProcedure("admin");



