/** Users (admins): list, create, change role, reset password, disable, delete. The last admin cannot be removed. */
import { hashPassword } from "@director/db";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { audited } from "../audit.js";
import { Password, RoleName, Username } from "./inputs.js";
import { adminProcedure, router } from "../trpc.js";

const UserId = z.uuid();

export const userRouter = router({
  list: adminProcedure.query(async ({ ctx }) =>
    (await ctx.store.listUsers()).map((u) => ({ id: u.id, username: u.username, role: u.role, totp: u.totpSecret !== null, disabled: u.disabled, createdAt: u.createdAt, updatedAt: u.updatedAt })),
  ),
  create: adminProcedure.input(z.strictObject({ username: Username, password: Password, role: RoleName })).mutation(async ({ ctx, input }) =>
    audited(ctx, "user.create", input.username, null, async () => {
      if (await ctx.store.userByName(input.username)) throw new TRPCError({ code: "CONFLICT", message: `user ${input.username} exists` });
      const u = await ctx.store.createUser({ username: input.username, passwordHash: await hashPassword(input.password), role: input.role });
      return { id: u.id };
    }, () => ({ role: input.role })),
  ),
  update: adminProcedure
    .input(z.strictObject({ id: UserId, role: RoleName.optional(), password: Password.optional(), disabled: z.boolean().optional(), resetTotp: z.literal(true).optional() }))
    .mutation(async ({ ctx, input }) => {
      const u = await ctx.store.userById(input.id);
      if (!u) throw new TRPCError({ code: "NOT_FOUND", message: "no such user" });
      const losesAdmin = u.role === "admin" && !u.disabled && ((input.role && input.role !== "admin") || input.disabled === true);
      if (losesAdmin && (await ctx.store.countAdmins()) <= 1) throw new TRPCError({ code: "BAD_REQUEST", message: "this is the last admin: make another admin first" });
      return audited(ctx, "user.update", u.username, { role: u.role, disabled: u.disabled, totp: u.totpSecret !== null }, async () => {
        const patch: Parameters<typeof ctx.store.updateUser>[1] = {};
        if (input.role) patch.role = input.role;
        if (input.disabled !== undefined) patch.disabled = input.disabled;
        if (input.password) patch.passwordHash = await hashPassword(input.password);
        if (input.resetTotp) patch.totpSecret = null;
        // Any of these changes ends the user's sessions at their next request.
        const next = await ctx.store.updateUser(u.id, patch, true);
        return { role: next!.role, disabled: next!.disabled, totp: next!.totpSecret !== null, passwordChanged: Boolean(input.password) };
      });
    }),
  remove: adminProcedure.input(z.strictObject({ id: UserId })).mutation(async ({ ctx, input }) => {
    const u = await ctx.store.userById(input.id);
    if (!u) throw new TRPCError({ code: "NOT_FOUND", message: "no such user" });
    if (u.id === ctx.user.id) throw new TRPCError({ code: "BAD_REQUEST", message: "you cannot delete yourself" });
    if (u.role === "admin" && !u.disabled && (await ctx.store.countAdmins()) <= 1) throw new TRPCError({ code: "BAD_REQUEST", message: "this is the last admin" });
    return audited(ctx, "user.remove", u.username, { role: u.role }, async () => ({ ok: await ctx.store.deleteUser(u.id) }));
  }),
});
