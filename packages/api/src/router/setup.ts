/** First start: the one-time setup token creates the first admin. The only public mutation. */
import { z } from "zod";
import { completeSetup, setupPending } from "../auth/setup.js";
import { Password, Username } from "./inputs.js";
import { publicProcedure, router } from "../trpc.js";
import { TRPCError } from "@trpc/server";

export const setupRouter = router({
  pending: publicProcedure.query(({ ctx }) => setupPending(ctx.store)),
  complete: publicProcedure.input(z.strictObject({ token: z.string().min(16).max(128), username: Username, password: Password })).mutation(async ({ ctx, input }) => {
    if (!(await completeSetup(ctx.store, input.token, input.username, input.password, ctx.ip))) throw new TRPCError({ code: "FORBIDDEN", message: "this setup link is not valid (used, expired, or the console already has users)" });
    return { ok: true };
  }),
});
