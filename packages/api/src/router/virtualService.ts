/** Virtual services of an agent: list, one in full, history for the charts; add and remove (admin). */
import { EndpointString, serviceKey, VirtualServiceSpec } from "@director/model";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { agentError, audited } from "../audit.js";
import type { AgentHub } from "../hub/hub.js";
import { AgentId, ServiceRef } from "./inputs.js";
import { adminProcedure, router, viewerProcedure } from "../trpc.js";

export function agentOf(hub: AgentHub, id: string) {
  const a = hub.get(id);
  const client = hub.client(id);
  if (!a || !client) throw new TRPCError({ code: "NOT_FOUND", message: "no such agent" });
  return { state: a, client };
}

type Field = "activeConns" | "inactiveConns" | "cps" | "inBps" | "outBps";
const FIELDS: Field[] = ["activeConns", "inactiveConns", "cps", "inBps", "outBps"];
interface HistoryResult {
  resolution: "1s" | "1m";
  t: number[];
  series: Record<Field, (number | null)[]>;
}

/** Connections to 0.1, rates to 0.01 below 100 and whole numbers above: what a chart can show. */
function round(v: number | null): number | null {
  if (v === null || !Number.isFinite(v)) return null;
  return Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 100) / 100;
}

/**
 * Averages the points into buckets of a whole number of steps (at most maxPoints over the range), aligned to the
 * epoch so that successive queries, and the browser's live points, fall into the same buckets.
 */
function downsample(h: HistoryResult, step: number, rangeMs: number, maxPoints: number | undefined) {
  const k = maxPoints ? Math.max(1, Math.ceil(rangeMs / step / maxPoints)) : 1;
  const stepMs = step * k;
  const out = { resolution: h.resolution, stepMs, t: [] as number[], series: Object.fromEntries(FIELDS.map((f) => [f, [] as (number | null)[]])) as Record<Field, (number | null)[]> };
  let i = 0;
  while (i < h.t.length) {
    const bucket = Math.floor(h.t[i]! / stepMs) * stepMs;
    const sum = [0, 0, 0, 0, 0];
    const n = [0, 0, 0, 0, 0];
    for (; i < h.t.length && h.t[i]! < bucket + stepMs; i++)
      FIELDS.forEach((f, j) => {
        const v = h.series[f][i];
        if (v !== null && v !== undefined) {
          sum[j]! += v;
          n[j]!++;
        }
      });
    out.t.push(bucket);
    FIELDS.forEach((f, j) => {
      out.series[f].push(n[j] ? round(sum[j]! / n[j]!) : null);
    });
  }
  return out;
}

const RANGES = { "5m": { ms: 5 * 60_000, resolution: "1s" }, "1h": { ms: 3600_000, resolution: "1s" }, "24h": { ms: 24 * 3600_000, resolution: "1m" } } as const;

export const virtualServiceRouter = router({
  list: viewerProcedure.input(z.strictObject({ agentId: AgentId })).query(({ ctx, input }) => agentOf(ctx.hub, input.agentId).state.services),
  get: viewerProcedure.input(ServiceRef).query(({ ctx, input }) => {
    const vs = agentOf(ctx.hub, input.agentId).state.services.find((s) => serviceKey(s) === serviceKey(input.key));
    if (!vs) throw new TRPCError({ code: "NOT_FOUND", message: `no such virtual service ${serviceKey(input.key)}` });
    return vs;
  }),
  /**
   * A chart series from the agent's history: the service, or one real server. With `maxPoints` the points are
   * averaged into equal buckets (a 1 h range at 1 s is 3,600 points; a chart shows a few hundred), and values are
   * rounded (the agent keeps Float32s, whose JSON is 17 digits long), so nine series of a 1 h chart stay small.
   */
  history: viewerProcedure
    .input(ServiceRef.extend({ realServer: EndpointString.optional(), range: z.enum(["5m", "1h", "24h"]), maxPoints: z.number().int().min(10).max(5000).optional() }))
    .query(async ({ ctx, input }) => {
      const { state, client } = agentOf(ctx.hub, input.agentId);
      const r = RANGES[input.range];
      const to = Date.now();
      let h: HistoryResult;
      try {
        h = await client.history.query.query({ key: input.key, ...(input.realServer ? { realServer: input.realServer } : {}), from: to - r.ms, to, resolution: r.resolution });
      } catch (e) {
        const err = agentError(e);
        // A service or real server added a moment ago has no series until the agent's next sample: no history
        // yet, which is not an error. One the agent does not have at all still is.
        const vs = state.services.find((s) => serviceKey(s) === serviceKey(input.key));
        const known = vs && (!input.realServer || vs.realServers.some((x) => x.address === input.realServer));
        if (err.code !== "NOT_FOUND" || !known) throw err;
        h = { resolution: r.resolution, t: [], series: { activeConns: [], inactiveConns: [], cps: [], inBps: [], outBps: [] } };
      }
      return downsample(h, r.resolution === "1s" ? 1000 : 60_000, r.ms, input.maxPoints);
    }),
  add: adminProcedure.input(z.strictObject({ agentId: AgentId, service: VirtualServiceSpec })).mutation(async ({ ctx, input }) => {
    const { client } = agentOf(ctx.hub, input.agentId);
    return audited(ctx, "virtualService.add", serviceKey(input.service), null, async () => {
      try {
        return await client.config.change.mutate({ ops: [{ op: "service.add", service: input.service }] });
      } catch (e) {
        throw agentError(e);
      }
    }, () => input.service);
  }),
  remove: adminProcedure.input(ServiceRef).mutation(async ({ ctx, input }) => {
    const { state, client } = agentOf(ctx.hub, input.agentId);
    const before = state.services.find((s) => serviceKey(s) === serviceKey(input.key));
    return audited(ctx, "virtualService.remove", serviceKey(input.key), before ? { scheduler: before.scheduler, realServers: before.realServers.map((r) => r.address) } : null, async () => {
      try {
        return await client.config.change.mutate({ ops: [{ op: "service.delete", key: input.key }] });
      } catch (e) {
        throw agentError(e);
      }
    }, () => null);
  }),
});
