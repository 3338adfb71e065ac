/** Runs a change and writes it to the audit log with before/after values and its result, whatever happens. */
import { TRPCError } from "@trpc/server";
import type { Context, SessionUser } from "./trpc.js";

export async function audited<T>(
  ctx: Context & { user: SessionUser },
  action: string,
  target: string,
  before: unknown,
  run: () => Promise<T>,
  after?: (r: T) => unknown,
): Promise<T> {
  try {
    const r = await run();
    await ctx.store.appendAudit({ actor: ctx.user.username, actorRole: ctx.user.role, ip: ctx.ip, action, target, before, after: after ? after(r) : r, result: "ok" });
    return r;
  } catch (e) {
    await ctx.store.appendAudit({ actor: ctx.user.username, actorRole: ctx.user.role, ip: ctx.ip, action, target, before, result: "error", detail: (e as Error).message.slice(0, 500) });
    throw e;
  }
}

/** An agent's tRPC error, passed on with its code and message (BAD_REQUEST, CONFLICT, NOT_FOUND…). */
export function agentError(e: unknown): TRPCError {
  const err = e as { message?: string; data?: { code?: string } };
  const code = err.data?.code;
  const known = ["BAD_REQUEST", "CONFLICT", "NOT_FOUND", "FORBIDDEN"] as const;
  const c = (known as readonly string[]).includes(code ?? "") ? (code as (typeof known)[number]) : "BAD_GATEWAY";
  return new TRPCError({ code: c, message: c === "BAD_GATEWAY" ? `agent unreachable: ${err.message ?? "error"}` : (err.message ?? "agent refused the change") });
}
