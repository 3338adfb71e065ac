/**
 * tRPC setup for the agent's control API: the context (who is calling, what they reach) and the procedure
 * builders, one per scope. Every procedure is built from one of them: no token → UNAUTHORIZED, a token of too
 * small a scope → FORBIDDEN (default deny).
 */
import type { AgentInfo } from "@director/model";
import { initTRPC, TRPCError } from "@trpc/server";
import type { ServiceTable } from "../state/service-table.js";
import type { EventLog } from "../telemetry/event-log.js";
import type { Sampler } from "../telemetry/sampler.js";
import { type Caller, type Scope, scopeAllows } from "./auth.js";

export interface ControlContext {
  caller: Caller | null;
  services: ServiceTable;
  sampler: Sampler;
  eventLog: EventLog;
  info: () => AgentInfo;
}

const t = initTRPC.context<ControlContext>().create({
  errorFormatter({ shape, error }) {
    // Never echo stack traces to clients.
    const { stack: _stack, ...data } = shape.data as Record<string, unknown>;
    return { ...shape, data: { ...data, errors: (error.cause as { errors?: string[] } | undefined)?.errors } };
  },
});

export const router = t.router;

export function requireScope(caller: Caller | null, need: Scope): Caller {
  if (!caller) throw new TRPCError({ code: "UNAUTHORIZED", message: "missing or wrong bearer token" });
  if (!scopeAllows(caller.scope, need)) throw new TRPCError({ code: "FORBIDDEN", message: `token "${caller.name}" has scope ${caller.scope}; this needs ${need}` });
  return caller;
}

const withScope = (need: Scope) =>
  t.procedure.use(({ ctx, next }) => {
    const caller = requireScope(ctx.caller, need);
    return next({ ctx: { ...ctx, caller } });
  });

/** Queries. */
export const readProcedure = withScope("read");
/** Drain, maintenance, activate, weight, zero. */
export const operateProcedure = withScope("operate");
/** Everything else. */
export const adminProcedure = withScope("admin");
/** Authenticated at any scope; the procedure checks the scope its input needs (config.change). */
export const authedProcedure = withScope("read");
