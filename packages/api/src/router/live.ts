/**
 * Live updates for the browser, as tRPC subscriptions over SSE from the console server (which is subscribed to
 * the agents through the hub). Each stream re-checks the caller's session every 5 s and ends when it is revoked.
 */
import { on } from "node:events";
import { serviceKey } from "@director/model";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { checkSession } from "../auth/session.js";
import type { AgentEvent } from "../hub/hub.js";
import { serviceFrame } from "../live/frame.js";
import { encodeStatic, type WireFrame } from "../live/wire.js";
import { overview } from "../live/summary.js";
import { AgentId, ServiceRef } from "./inputs.js";
import { router, viewerProcedure } from "../trpc.js";
import type { Context } from "../trpc.js";

/**
 * Yields once per hub update for the agents of interest (at most every 250 ms), and once a second when no update
 * came (a lost agent emits nothing, and its staleness must still reach the page). One abort listener per stream.
 */
async function* ticks(ctx: Context & { session: NonNullable<Context["session"]> }, agentId: string | null, signal: AbortSignal | undefined) {
  let pending = true;
  let wake: (() => void) | null = null;
  let lastYield = 0;
  const poke = () => {
    pending = true;
    wake?.();
  };
  const onUpdate = (id: string) => {
    if (!agentId || id === agentId) poke();
  };
  const onAbort = () => wake?.();
  signal?.addEventListener("abort", onAbort);
  ctx.hub.on("update", onUpdate);
  const heartbeat = setInterval(() => {
    if (Date.now() - lastYield >= 1500) poke();
  }, 1000);
  let lastCheck = Date.now();
  try {
    while (!signal?.aborted) {
      if (!pending)
        await new Promise<void>((r) => {
          wake = r;
        });
      wake = null;
      if (signal?.aborted) return;
      pending = false;
      if (Date.now() - lastCheck > 5000) {
        lastCheck = Date.now();
        const s = await checkSession(ctx.store, ctx.session.id, Date.now(), false);
        if (!s.ok) throw new TRPCError({ code: "UNAUTHORIZED", message: "session ended" });
      }
      lastYield = Date.now();
      yield;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    clearInterval(heartbeat);
    ctx.hub.off("update", onUpdate);
    signal?.removeEventListener("abort", onAbort);
  }
}

export const liveRouter = router({
  overview: viewerProcedure.subscription(async function* ({ ctx, signal }) {
    for await (const _ of ticks(ctx, null, signal)) yield { ...overview(ctx.hub), events: ctx.hub.recentEvents(20) };
  }),
  service: viewerProcedure.input(ServiceRef).subscription(async function* ({ ctx, input, signal }) {
    let rev: string | null = null;
    let last = { t: -1, stale: false };
    const key = serviceKey(input.key);
    for await (const _ of ticks(ctx, input.agentId, signal)) {
      const a = ctx.hub.get(input.agentId);
      if (!a) throw new TRPCError({ code: "NOT_FOUND", message: "no such agent" });
      const f = serviceFrame(a, key, rev);
      if (!f) {
        yield null;
        continue;
      }
      // The same sample, static part and staleness as last time: nothing to send.
      if (f.t === last.t && f.static === undefined && f.stale === last.stale) continue;
      last = { t: f.t, stale: f.stale };
      rev = f.rev;
      const { static: st, ...rest } = f;
      const wire: WireFrame = st ? { ...rest, staticWire: encodeStatic(st) } : rest;
      yield wire;
    }
  }),
  events: viewerProcedure.input(z.strictObject({ agentId: AgentId.optional() }).default({})).subscription(async function* ({ ctx, input, signal }) {
    const it = on(ctx.hub, "event", { signal: signal as AbortSignal });
    for (const e of ctx.hub.recentEvents(50).reverse()) if (!input.agentId || e.agentId === input.agentId) yield e;
    try {
      for await (const [e] of it) {
        const ev = e as AgentEvent;
        if (!input.agentId || ev.agentId === input.agentId) yield ev;
      }
    } catch (e) {
      if ((e as Error).name !== "AbortError") throw e;
    }
  }),
});
