/** Alert rules (admins edit, everyone reads) and the alerts firing now, computed from the hub. */
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { audited } from "../audit.js";
import { firingAlerts } from "../live/alerts.js";
import { adminProcedure, router, viewerProcedure } from "../trpc.js";

const Rule = z.strictObject({
  id: z.uuid().optional(),
  name: z.string().trim().min(1).max(64),
  kind: z.enum(["realServerDown", "quorumLost", "agentStale", "cpsAbove"]),
  threshold: z.number().int().min(0).max(1e9).nullable().default(null),
  enabled: z.boolean().default(true),
});

export const alertRouter = router({
  rules: viewerProcedure.query(({ ctx }) => ctx.store.listAlertRules()),
  saveRule: adminProcedure.input(Rule).mutation(async ({ ctx, input }) => {
    if (input.kind === "cpsAbove" && input.threshold === null) throw new TRPCError({ code: "BAD_REQUEST", message: "threshold: cpsAbove needs a threshold" });
    return audited(ctx, "alert.saveRule", input.name, null, () => ctx.store.upsertAlertRule({ ...input }));
  }),
  removeRule: adminProcedure.input(z.strictObject({ id: z.uuid() })).mutation(async ({ ctx, input }) =>
    audited(ctx, "alert.removeRule", input.id, null, async () => ({ ok: await ctx.store.deleteAlertRule(input.id) })),
  ),
  firing: viewerProcedure.query(async ({ ctx }) => firingAlerts(ctx.hub, await ctx.store.listAlertRules())),
});
