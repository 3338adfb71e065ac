/** The caller's own session and account: who am I, my sessions, sign-out elsewhere, my password and TOTP. */
import { hashPassword, verifyPassword } from "@director/db";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { newTotpSecret, totpUri, verifyTotp } from "../auth/totp.js";
import { Password } from "./inputs.js";
import { authedProcedure, publicProcedure, router } from "../trpc.js";

export const sessionRouter = router({
  /** Public: answers null without a session (the sign-in page asks it). */
  me: publicProcedure.query(({ ctx }) => (ctx.session ? { username: ctx.session.user.username, role: ctx.session.user.role, totp: ctx.session.user.totp, mustEnrolTotp: ctx.requireAdminTotp && ctx.session.user.role === "admin" && !ctx.session.user.totp } : null)),
  list: authedProcedure.query(async ({ ctx }) =>
    (await ctx.store.listSessions(ctx.user.id)).map((s) => ({ id: s.id.slice(0, 8), current: s.id === ctx.session.id, createdAt: s.createdAt, lastSeenAt: s.lastSeenAt, ip: s.ip, userAgent: s.userAgent })),
  ),
  revokeOthers: authedProcedure.mutation(async ({ ctx }) => {
    const mine = await ctx.store.listSessions(ctx.user.id);
    let n = 0;
    for (const s of mine)
      if (s.id !== ctx.session.id) {
        await ctx.store.revokeSession(s.id);
        n++;
      }
    await ctx.store.appendAudit({ actor: ctx.user.username, actorRole: ctx.user.role, ip: ctx.ip, action: "session.revokeOthers", target: ctx.user.username, after: { revoked: n }, result: "ok" });
    return { revoked: n };
  }),
  changePassword: authedProcedure.input(z.strictObject({ current: z.string().max(256), next: Password })).mutation(async ({ ctx, input }) => {
    const u = await ctx.store.userById(ctx.user.id);
    if (!u || !(await verifyPassword(u.passwordHash, input.current))) {
      await ctx.store.appendAudit({ actor: ctx.user.username, actorRole: ctx.user.role, ip: ctx.ip, action: "user.changePassword", target: ctx.user.username, result: "denied", detail: "wrong current password" });
      throw new TRPCError({ code: "BAD_REQUEST", message: "the current password is wrong" });
    }
    await ctx.store.updateUser(u.id, { passwordHash: await hashPassword(input.next) }, true);
    await ctx.store.appendAudit({ actor: ctx.user.username, actorRole: ctx.user.role, ip: ctx.ip, action: "user.changePassword", target: ctx.user.username, result: "ok", detail: "every session ended" });
    return { ok: true };
  }),
  /** Step 1 of TOTP enrolment: a new secret to scan (not stored until confirmed with a code). */
  totpBegin: authedProcedure.mutation(({ ctx }) => {
    const secret = newTotpSecret();
    return { secret, uri: totpUri(secret, ctx.user.username) };
  }),
  totpConfirm: authedProcedure.input(z.strictObject({ secret: z.string().regex(/^[A-Z2-7]{32}$/), code: z.string().regex(/^\d{6}$/) })).mutation(async ({ ctx, input }) => {
    if (!verifyTotp(input.secret, input.code)) throw new TRPCError({ code: "BAD_REQUEST", message: "that code does not match; check the authenticator's clock" });
    await ctx.store.updateUser(ctx.user.id, { totpSecret: input.secret }, false);
    await ctx.store.appendAudit({ actor: ctx.user.username, actorRole: ctx.user.role, ip: ctx.ip, action: "user.totpEnrol", target: ctx.user.username, result: "ok" });
    return { ok: true };
  }),
});
