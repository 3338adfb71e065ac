/** Registered directors (agents): list with reachability, add by URL + token + optional CA pin, test, remove. */
import { createAgentClient } from "@director/agent/client";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { audited } from "../audit.js";
import { AgentId } from "./inputs.js";
import { adminProcedure, router, viewerProcedure } from "../trpc.js";

const AgentInput = z.strictObject({
  url: z.url({ protocol: /^https$/, message: "an https:// URL" }).max(512),
  token: z.string().min(16, "the agent token (director-agent token create)").max(512),
  caPem: z.string().max(20_000).regex(/-----BEGIN CERTIFICATE-----/, "a PEM certificate").nullish(),
});

/** Tries the agent once: its info within 5 s, or why not. */
async function probe(a: z.infer<typeof AgentInput>) {
  const client = createAgentClient({ url: a.url, token: a.token, ...(a.caPem ? { ca: a.caPem } : {}) });
  try {
    const info = await Promise.race([client.info.query(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error("no answer within 5 s")), 5000).unref())]);
    return { ok: true as const, version: info.version, startedAt: info.startedAt };
  } catch (e) {
    return { ok: false as const, error: (e as Error).message };
  } finally {
    client.close();
  }
}

export const agentRouter = router({
  list: viewerProcedure.query(({ ctx }) =>
    ctx.hub.list().map((a) => ({ id: a.id, name: a.name, url: a.url, reachable: a.reachable, stale: a.stale, lastOkAt: a.lastOkAt, error: a.error, version: a.info?.version ?? null, startedAt: a.info?.startedAt ?? null, services: a.services.length })),
  ),
  test: adminProcedure.input(AgentInput).mutation(({ input }) => probe(input)),
  add: adminProcedure.input(AgentInput.extend({ name: z.string().trim().min(1).max(64) })).mutation(async ({ ctx, input }) => {
    const shown = { name: input.name, url: input.url, caPinned: Boolean(input.caPem) };
    return audited(ctx, "agent.add", input.name, null, async () => {
      const p = await probe(input);
      if (!p.ok) throw new TRPCError({ code: "BAD_REQUEST", message: `cannot reach the agent: ${p.error}` });
      const existing = await ctx.store.listAgents();
      if (existing.some((a) => a.name === input.name)) throw new TRPCError({ code: "CONFLICT", message: `an agent named ${input.name} exists` });
      const row = await ctx.store.createAgent({ name: input.name, url: input.url, token: input.token, caPem: input.caPem ?? null });
      await ctx.hub.sync();
      return { id: row.id, version: p.version };
    }, (r) => ({ ...shown, id: r.id }));
  }),
  remove: adminProcedure.input(z.strictObject({ id: AgentId })).mutation(async ({ ctx, input }) => {
    const a = await ctx.store.agent(input.id);
    if (!a) throw new TRPCError({ code: "NOT_FOUND", message: "no such agent" });
    return audited(ctx, "agent.remove", a.name, { name: a.name, url: a.url }, async () => {
      await ctx.store.deleteAgent(input.id);
      await ctx.hub.sync();
      return { ok: true };
    });
  }),
});
