/**
 * The agent's control API (HTTPS + bearer token). Minimal here: read the service table and connections,
 * apply batches of changes, zero counters. Every input is a strict zod schema from @director/model.
 */
import { type ConnectionEntry, EndpointString, type Op, OpBatch, ServiceKey, serviceKey } from "@director/model";
import { on } from "node:events";
import { TRPCError, tracked } from "@trpc/server";
import { z } from "zod";
import { ConnectionTable } from "../conn/connection.js";
import { TemplateTable } from "../conn/persistence.js";
import type { Scope } from "./auth.js";
import { maskAddress } from "../conn/persistence.js";
import { authedProcedure, operateProcedure, readProcedure, requireScope, router } from "./trpc.js";

/** The scope a change needs: admin states and weights are operators' work; the rest is admin. */
export function scopeForOps(ops: readonly Op[]): Scope {
  const operate = ops.every(
    (op) =>
      op.op === "realServer.setAdminState" ||
      (op.op === "realServer.edit" && Object.entries(op.patch).every(([k, v]) => k === "weight" || v === undefined)),
  );
  return operate ? "operate" : "admin";
}

const Resume = z.strictObject({ lastEventId: z.string().regex(/^\d{1,16}$/).nullish() }).default({});

const ConnectionQuery = z
  .strictObject({
    service: ServiceKey.optional(),
    realServer: z.string().max(64).optional(),
    client: z.string().max(64).optional(),
    templates: z.boolean().default(true),
    limit: z.number().int().min(1).max(100_000).default(10_000),
  })
  .default({ templates: true, limit: 10_000 });

export const appRouter = router({
  info: readProcedure.query(({ ctx }) => ctx.info()),

  service: router({
    list: readProcedure.input(z.strictObject({ key: ServiceKey.optional() }).default({})).query(({ ctx, input }) => {
      const now = ctx.services.now();
      const want = input.key ? serviceKey(input.key) : undefined;
      return [...ctx.services.services.values()].filter((vs) => !want || vs.key === want).map((vs) => vs.status(now));
    }),
  }),

  connection: router({
    list: readProcedure.input(ConnectionQuery).query(async ({ ctx, input }) => {
      const now = ctx.services.now();
      const want = input.service ? serviceKey(input.service) : undefined;
      const timeouts = ctx.services.config.timeouts;
      const out = [];
      if (input.templates) {
        for (const t of ctx.services.templates.entries()) {
          if (out.length >= input.limit) break;
          if (want && t.service.key !== want) continue;
          if (input.realServer && t.realServer.address !== input.realServer) continue;
          if (input.client && !t.client.startsWith(input.client)) continue;
          out.push(TemplateTable.entry(t, now));
        }
      }
      for (const c of ctx.services.table.entries()) {
        if (out.length >= input.limit) break;
        if (want && c.service.key !== want) continue;
        if (input.realServer && c.realServer.address !== input.realServer) continue;
        if (input.client && c.clientHost !== input.client) continue;
        out.push(ConnectionTable.entry(c, now, timeouts));
      }
      // Kernel-engine services: their connections are conntrack's (a service whose listing fails is left out: the
      // rest of the list still answers).
      const keep = (e: ConnectionEntry) => (!input.realServer || e.real === input.realServer) && (!input.client || e.client.startsWith(`${input.client}:`));
      for (const vs of ctx.services.services.values()) {
        if (out.length >= input.limit) break;
        if (vs.spec.engine !== "kernel" || (want && vs.key !== want)) continue;
        const kernel = ctx.services.kernel;
        try {
          if (input.templates) out.push(...(await kernel.templates(vs, input.limit - out.length)).filter(keep).slice(0, input.limit - out.length));
          if (out.length < input.limit) out.push(...(await kernel.connections(vs, input.limit - out.length, keep)));
        } catch {
          // conntrack missing or failing: the kernel engine logs it where it counts (re-weighting).
        }
      }
      return out;
    }),
    /** Expires the persistence template of one client (the next connection is scheduled afresh). */
    expireTemplate: operateProcedure
      .input(z.strictObject({ key: ServiceKey, client: z.ipv4().or(z.ipv6()) }))
      .mutation(({ ctx, input }) => {
        const k = serviceKey(input.key);
        const vs = ctx.services.services.get(k);
        if (!vs) throw new TRPCError({ code: "NOT_FOUND", message: `no such virtual service ${k}` });
        const masked = vs.spec.persistence ? maskAddress(input.client, vs.spec.persistence.prefixLength) : input.client;
        const removed = ctx.services.templates.removeWhere((t) => t.service === vs && t.client === masked);
        return { removed };
      }),
    /** Closes every live connection of one real server now (its admin state does not change). */
    closeRealServer: operateProcedure.input(z.strictObject({ key: ServiceKey, address: EndpointString })).mutation(({ ctx, input }) => {
      const k = serviceKey(input.key);
      const vs = ctx.services.services.get(k);
      const rs = vs?.byAddress.get(input.address);
      if (!vs || !rs) throw new TRPCError({ code: "NOT_FOUND", message: `no such real server ${input.address} in ${k}` });
      const live = rs.live.size;
      ctx.services.closeConnections(vs, rs, "closed by an operator");
      return { closed: live };
    }),
  }),

  config: router({
    get: readProcedure.query(({ ctx }) => ctx.services.config),
    /** The desired-state version; pass it as baseVersion to change so a concurrent edit is refused. */
    version: readProcedure.query(({ ctx }) => ({ version: ctx.services.version })),
    change: authedProcedure
      .input(z.strictObject({ ops: OpBatch, baseVersion: z.number().int().min(0).optional() }))
      .mutation(async ({ ctx, input }) => {
        requireScope(ctx.caller, scopeForOps(input.ops));
        const r = await ctx.services.change(input.ops, "api", input.baseVersion);
        if (!r.ok)
          throw new TRPCError({
            code: r.conflict ? "CONFLICT" : "BAD_REQUEST",
            message: r.errors.join("; "),
            cause: Object.assign(new Error("rejected"), { errors: r.errors }),
          });
        return { summary: r.summary, version: r.version };
      }),
    /** A dry run: what the batch would add, change and remove; nothing is applied. */
    plan: readProcedure.input(z.strictObject({ ops: OpBatch })).mutation(({ ctx, input }) => {
      const r = ctx.services.plan(input.ops);
      if (!r.ok) throw new TRPCError({ code: "BAD_REQUEST", message: r.errors.join("; "), cause: Object.assign(new Error("rejected"), { errors: r.errors }) });
      return { version: r.version, changes: r.changes };
    }),
  }),

  health: router({
    /** The last results (up to 64) of one real server's health check, oldest first. */
    history: readProcedure.input(z.strictObject({ key: ServiceKey, address: EndpointString })).query(({ ctx, input }) => {
      const k = serviceKey(input.key);
      const vs = ctx.services.services.get(k);
      if (!vs?.byAddress.has(input.address)) throw new TRPCError({ code: "NOT_FOUND", message: `no such real server ${input.address} in ${k}` });
      return ctx.services.health.history(`${k}|${input.address}`);
    }),
  }),

  stream: router({
    /**
     * 1 Hz samples of every service and real server. Resumable: a client that reconnects with the last id it
     * saw gets the samples it missed (the last 60 s are kept), then the live ones, without gaps or repeats.
     */
    samples: readProcedure.input(Resume).subscription(async function* ({ ctx, input, signal }) {
      // Listen before backfilling, so nothing falls between the two.
      const live = on(ctx.sampler.emitter, "sample", { signal });
      let last = input.lastEventId ? Number(input.lastEventId) : Number.NaN;
      if (!Number.isNaN(last))
        for (const s of ctx.sampler.since(last)) {
          last = s.t;
          yield tracked(String(s.t), s);
        }
      try {
        for await (const [s] of live) {
          const sample = s as ReturnType<typeof ctx.sampler.tick>;
          if (!Number.isNaN(last) && sample.t <= last) continue;
          last = sample.t;
          yield tracked(String(sample.t), sample);
        }
      } catch (e) {
        if ((e as Error).name !== "AbortError") throw e;
      }
    }),
    /** Events (health changed, admin state changed, config applied, quorum lost/regained…), resumable by id. */
    events: readProcedure.input(Resume).subscription(async function* ({ ctx, input, signal }) {
      const live = on(ctx.eventLog.emitter, "event", { signal });
      let last = input.lastEventId ? Number(input.lastEventId) : ctx.eventLog.lastId;
      for (const e of ctx.eventLog.after(last)) {
        last = e.id;
        yield tracked(String(e.id), e);
      }
      try {
        for await (const [e] of live) {
          const ev = e as { id: number };
          if (ev.id <= last) continue;
          last = ev.id;
          yield tracked(String(ev.id), e as ReturnType<typeof ctx.eventLog.after>[number]);
        }
      } catch (e) {
        if ((e as Error).name !== "AbortError") throw e;
      }
    }),
  }),

  history: router({
    /** A series (a service, or one of its real servers) between two times; 1 s points within the last hour, else 1 min. */
    query: readProcedure
      .input(
        z.strictObject({
          key: ServiceKey,
          realServer: EndpointString.optional(),
          from: z.number().int().min(0),
          to: z.number().int().min(0),
          resolution: z.enum(["1s", "1m"]).optional(),
        }),
      )
      .query(({ ctx, input }) => {
        const series = input.realServer ? `${serviceKey(input.key)}|${input.realServer}` : serviceKey(input.key);
        const h = ctx.sampler.history(series, input.from, input.to, input.resolution);
        if (!h) throw new TRPCError({ code: "NOT_FOUND", message: `no history for ${series}` });
        return h;
      }),
  }),

  stats: router({
    zero: operateProcedure.input(z.strictObject({ key: ServiceKey.optional() }).default({})).mutation(({ ctx, input }) => {
      if (input.key && !ctx.services.services.has(serviceKey(input.key)))
        throw new TRPCError({ code: "NOT_FOUND", message: `no such virtual service ${serviceKey(input.key)}` });
      ctx.services.zero(input.key ? serviceKey(input.key) : undefined);
      return { ok: true };
    }),
  }),
});

export type AppRouter = typeof appRouter;
