/**
 * The scheduler simulator (after Seesaw's "where would this flow go?"): runs the agent's own scheduler code, the
 * same files the director uses, over a service's real weights without traffic.
 *  - rr, wrr, fo, ovf, twos: N new connections, none held.
 *  - lc, wlc, sed, nq: N new connections all held open (each pick raises activeConns), the steady state those
 *    algorithms balance towards.
 *  - sh, dh, mh, lblc, lblcr: N synthetic flows (fixed pseudo-random client addresses and ports); with `drain`, the
 *    same flows again with that real server quiesced, counting how many flows changed real server: for sh and mh
 *    only the drained server's flows should move (≈ 1/N of all), for dh/lblc the same by construction.
 */
import { createScheduler, type Dest, type Flow, seededRandom } from "@director/agent/scheduler";
import { type SchedulerName, serviceKey } from "@director/model";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { ServiceRef } from "./inputs.js";
import { agentOf } from "./virtualService.js";
import { router, viewerProcedure } from "../trpc.js";

interface SimDest {
  index: number;
  address: string;
  host: string;
  port: number;
  family: 4 | 6;
  weight: number;
  activeConns: number;
  inactiveConns: number;
  available: boolean;
  overloaded: boolean;
}

const HELD: ReadonlySet<SchedulerName> = new Set(["lc", "wlc", "sed", "nq"]);
const HASHED: ReadonlySet<SchedulerName> = new Set(["sh", "dh", "mh", "lblc", "lblcr"]);

function splitHost(address: string): { host: string; port: number; family: 4 | 6 } {
  const m = /^\[(.+)\]:(\d+)$/.exec(address) ?? /^(.+):(\d+)$/.exec(address);
  const host = m?.[1] ?? address;
  return { host, port: Number(m?.[2] ?? 0), family: host.includes(":") ? 6 : 4 };
}

export function simulate(input: { scheduler: SchedulerName; flags: string[]; protocol: "tcp" | "udp"; vip: string; dests: Omit<SimDest, "index" | "host" | "port" | "family" | "activeConns" | "inactiveConns" | "overloaded">[]; picks: number; drain?: string | undefined }) {
  const vip = splitHost(input.vip);
  const run = (drain: string | undefined) => {
    const dests: SimDest[] = input.dests.map((d, index) => ({ ...d, ...splitHost(d.address), index, activeConns: 0, inactiveConns: 0, overloaded: false, weight: d.address === drain ? 0 : d.weight }));
    const random = seededRandom(42);
    const s = createScheduler(input.scheduler, { flags: input.flags as never, now: () => 0, random });
    s.update(dests as Dest[]);
    const flowRand = seededRandom(7);
    const chosen: (string | null)[] = [];
    for (let i = 0; i < input.picks; i++) {
      const client = vip.family === 6 ? `2001:db8::${Math.floor(flowRand() * 65535).toString(16)}:${Math.floor(flowRand() * 65535).toString(16)}` : `10.${Math.floor(flowRand() * 256)}.${Math.floor(flowRand() * 256)}.${1 + Math.floor(flowRand() * 254)}`;
      const flow: Flow = { protocol: input.protocol, family: vip.family, clientHost: client, clientPort: 1024 + Math.floor(flowRand() * 64000), vHost: vip.host, vPort: vip.port };
      const d = s.pick(flow) as SimDest | null;
      chosen.push(d?.address ?? null);
      if (d && HELD.has(input.scheduler)) {
        d.activeConns++;
        s.changed(d as Dest);
      }
    }
    s.done();
    return chosen;
  };
  const base = run(undefined);
  const counts = new Map<string, number>();
  for (const c of base) if (c) counts.set(c, (counts.get(c) ?? 0) + 1);
  const eligibleWeight = input.dests.filter((d) => d.available && d.weight > 0).reduce((n, d) => n + d.weight, 0);
  const shares = input.dests.map((d) => ({
    address: d.address,
    weight: d.weight,
    eligible: d.available && d.weight > 0,
    picks: counts.get(d.address) ?? 0,
    share: (counts.get(d.address) ?? 0) / input.picks,
    /** The weight's share of the eligible weight: what wrr/wlc converge to (lc/nq spread evenly instead). */
    weightShare: d.available && d.weight > 0 && eligibleWeight > 0 ? d.weight / eligibleWeight : 0,
  }));
  // Draining quiesces (weight 0) the server: its table slots stay, so without the fallback flag sh and mh find no
  // server for its flows (IPVS returns none and the connection is refused) — counted as `unscheduled`, not moved.
  let moved: { total: number; fromDrained: number; fromOthers: number; unscheduled: number; flows: number } | undefined;
  if (input.drain && HASHED.has(input.scheduler)) {
    const after = run(input.drain);
    let fromDrained = 0;
    let fromOthers = 0;
    let unscheduled = 0;
    for (let i = 0; i < base.length; i++)
      if (base[i] !== after[i]) {
        if (after[i] === null) unscheduled++;
        else if (base[i] === input.drain) fromDrained++;
        else fromOthers++;
      }
    moved = { total: fromDrained + fromOthers, fromDrained, fromOthers, unscheduled, flows: base.length };
  }
  return { scheduler: input.scheduler, picks: input.picks, unscheduled: base.filter((c) => c === null).length, shares, moved, hashed: HASHED.has(input.scheduler), held: HELD.has(input.scheduler) };
}

export const simulatorRouter = router({
  run: viewerProcedure
    .input(
      ServiceRef.extend({
        scheduler: z.enum(["rr", "wrr", "lc", "wlc", "sed", "nq", "lblc", "lblcr", "dh", "sh", "mh", "fo", "ovf", "twos"]).optional(),
        weights: z.record(z.string().max(64), z.number().int().min(0).max(65535)).optional(),
        drain: z.string().max(64).optional(),
        picks: z.number().int().min(100).max(100_000).default(10_000),
      }),
    )
    .query(({ ctx, input }) => {
      const vs = agentOf(ctx.hub, input.agentId).state.services.find((s) => serviceKey(s) === serviceKey(input.key));
      if (!vs) throw new TRPCError({ code: "NOT_FOUND", message: `no such virtual service ${serviceKey(input.key)}` });
      if (input.drain && !vs.realServers.some((r) => r.address === input.drain)) throw new TRPCError({ code: "BAD_REQUEST", message: `drain: ${input.drain} is not a real server of this service` });
      return simulate({
        scheduler: input.scheduler ?? vs.scheduler,
        flags: vs.schedulerFlags,
        protocol: vs.protocol,
        vip: vs.address,
        dests: vs.realServers.map((r) => ({ address: r.address, weight: input.weights?.[r.address] ?? r.effectiveWeight, available: r.available })),
        picks: input.picks,
        drain: input.drain,
      });
    }),
});
