/**
 * Maintenance actions on real servers. Operators: drain (optionally then maintenance when idle, with a deadline),
 * maintenance, activate, weight. Admins: add and remove. Each change goes to the agent as one batch with the
 * desired-state version the caller saw being optional; the audit entry holds before and after as the agent
 * reported them.
 */
import { type Op, RealServerSpec, serviceKey } from "@director/model";
import { z } from "zod";
import { agentError, audited } from "../audit.js";
import { RealServerRef, ServiceRef } from "./inputs.js";
import { agentOf } from "./virtualService.js";
import { adminProcedure, operatorProcedure, router, viewerProcedure } from "../trpc.js";
import type { AgentHub } from "../hub/hub.js";
import { TRPCError } from "@trpc/server";

function current(hub: AgentHub, agentId: string, key: { protocol: "tcp" | "udp"; address: string }, address: string) {
  const vs = agentOf(hub, agentId).state.services.find((s) => serviceKey(s) === serviceKey(key));
  const rs = vs?.realServers.find((r) => r.address === address);
  if (!rs) throw new TRPCError({ code: "NOT_FOUND", message: `no such real server ${address} in ${serviceKey(key)}` });
  return rs;
}

async function change(hub: AgentHub, agentId: string, ops: Op[]) {
  const { client } = agentOf(hub, agentId);
  try {
    return await client.config.change.mutate({ ops });
  } catch (e) {
    throw agentError(e);
  }
}

export const realServerRouter = router({
  setAdminState: operatorProcedure
    .input(
      RealServerRef.extend({
        state: z.enum(["active", "draining", "maintenance"]),
        thenMaintenance: z.boolean().optional(),
        deadlineSeconds: z.number().int().min(1).max(7 * 24 * 3600).optional(),
      }).refine((v) => v.state !== "active" || (v.thenMaintenance === undefined && v.deadlineSeconds === undefined), "activate takes no deadline"),
    )
    .mutation(async ({ ctx, input }) => {
      const rs = current(ctx.hub, input.agentId, input.key, input.address);
      const op: Op = { op: "realServer.setAdminState", key: input.key, address: input.address, state: input.state };
      if (input.thenMaintenance !== undefined) op.thenMaintenance = input.thenMaintenance;
      if (input.deadlineSeconds !== undefined) op.deadlineSeconds = input.deadlineSeconds;
      return audited(ctx, `realServer.${input.state === "active" ? "activate" : input.state === "draining" ? "drain" : "maintenance"}`, `${serviceKey(input.key)} ${input.address}`, { adminState: rs.adminState }, () => change(ctx.hub, input.agentId, [op]), () => ({
        adminState: input.state,
        ...(input.thenMaintenance ? { thenMaintenance: true } : {}),
        ...(input.deadlineSeconds ? { deadlineSeconds: input.deadlineSeconds } : {}),
      }));
    }),
  setWeight: operatorProcedure.input(RealServerRef.extend({ weight: z.number().int().min(0).max(65535) })).mutation(async ({ ctx, input }) => {
    const rs = current(ctx.hub, input.agentId, input.key, input.address);
    return audited(ctx, "realServer.setWeight", `${serviceKey(input.key)} ${input.address}`, { weight: rs.weight }, () =>
      change(ctx.hub, input.agentId, [{ op: "realServer.edit", key: input.key, address: input.address, patch: { weight: input.weight } }]), () => ({ weight: input.weight }));
  }),
  add: adminProcedure.input(ServiceRef.extend({ realServer: RealServerSpec })).mutation(async ({ ctx, input }) =>
    audited(ctx, "realServer.add", `${serviceKey(input.key)} ${input.realServer.address}`, null, () =>
      change(ctx.hub, input.agentId, [{ op: "realServer.add", key: input.key, realServer: input.realServer }]), () => input.realServer),
  ),
  remove: adminProcedure.input(RealServerRef).mutation(async ({ ctx, input }) => {
    const rs = current(ctx.hub, input.agentId, input.key, input.address);
    return audited(ctx, "realServer.remove", `${serviceKey(input.key)} ${input.address}`, { weight: rs.weight, adminState: rs.adminState, activeConns: rs.activeConns }, () =>
      change(ctx.hub, input.agentId, [{ op: "realServer.delete", key: input.key, address: input.address }]), () => null);
  }),
  healthHistory: viewerProcedure.input(RealServerRef).query(async ({ ctx, input }) => {
    const { client } = agentOf(ctx.hub, input.agentId);
    try {
      return await client.health.history.query({ key: input.key, address: input.address });
    } catch (e) {
      throw agentError(e);
    }
  }),
});
