/** The audit log (admins): filter, page, verify the hash chain, export as JSON lines. */
import { z } from "zod";
import { adminProcedure, router } from "../trpc.js";

const Filter = z.strictObject({
  actor: z.string().max(64).optional(),
  action: z.string().max(64).optional(),
  target: z.string().max(200).optional(),
  result: z.enum(["ok", "error", "denied"]).optional(),
  from: z.number().int().min(0).optional(),
  to: z.number().int().min(0).optional(),
  before: z.number().int().min(1).optional(),
  limit: z.number().int().min(1).max(1000).default(100),
});

export const auditRouter = router({
  list: adminProcedure.input(Filter).query(({ ctx, input }) => ctx.store.listAudit(input)),
  verify: adminProcedure.query(({ ctx }) => ctx.store.verifyAudit()),
  /** Up to 100,000 entries as JSON lines (newest first), for an archive or a SIEM. */
  export: adminProcedure.input(Filter.omit({ limit: true, before: true })).mutation(async ({ ctx, input }) => {
    const rows = await ctx.store.listAudit({ ...input, limit: 100_000 });
    await ctx.store.appendAudit({ actor: ctx.user.username, actorRole: ctx.user.role, ip: ctx.ip, action: "audit.export", target: null, after: { entries: rows.length, filter: input }, result: "ok" });
    // before/after are stored as JSON text: export them as JSON values, not strings of JSON.
    const parse = (v: string | null) => (v === null ? null : (JSON.parse(v) as unknown));
    return rows.map((r) => JSON.stringify({ ...r, before: parse(r.before), after: parse(r.after) })).join("\n");
  }),
});
