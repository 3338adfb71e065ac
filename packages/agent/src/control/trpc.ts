/**
 * tRPC setup for the agent's control API: the context (who is calling, what they reach) and the procedure
 * builders. Every procedure is built from `authed`, which refuses a request without the bearer token.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import type { AgentInfo } from "@director/model";
import type { ServiceTable } from "../state/service-table.js";

export interface ControlContext {
  authorized: boolean;
  services: ServiceTable;
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

export const authed = t.procedure.use(({ ctx, next }) => {
  if (!ctx.authorized) throw new TRPCError({ code: "UNAUTHORIZED", message: "missing or wrong bearer token" });
  return next({ ctx });
});
