/**
 * Changes to the running agent, as a discriminated union. The CLI, the API and `ipvsadm-restore` input all
 * become a list of these; a list applies atomically (all or nothing) and is validated whole first.
 */
import { z } from "zod";
import { AdminState, ForwardMethod, InterfaceName, Persistence, ProxyProtocol, RealServerSpec, SchedulerFlag, SchedulerName, ServiceKey, Timeouts, VirtualServiceSpec } from "./config.js";
import { EndpointString } from "./endpoint.js";
import { HealthCheck } from "./health.js";

const Seconds = z.number().int().min(0).max(31 * 24 * 3600);

export const ServicePatch = z.strictObject({
  name: z.string().max(64).optional(),
  scheduler: SchedulerName.optional(),
  schedulerFlags: z.array(SchedulerFlag).max(4).optional(),
  /** null removes persistence. */
  persistence: Persistence.nullable().optional(),
  onePacket: z.boolean().optional(),
  proxyProtocol: ProxyProtocol.optional(),
  /** null removes the service's health check. */
  healthCheck: HealthCheck.nullable().optional(),
  quorum: z.strictObject({ minWeight: z.number().int().min(1).max(2 ** 31 - 1), hysteresis: z.number().int().min(0).max(2 ** 31 - 1).default(0) }).nullable().optional(),
  sorryServer: EndpointString.nullable().optional(),
  slowStartSeconds: z.number().int().min(0).max(3600).optional(),
  /** null goes back to the default (2 s). */
  kernelReweightSeconds: z.number().min(0.5).max(3600).nullable().optional(),
  /** Kernel engine, VS/DR: the interface the VIP's packets arrive on; null goes back to the derived one. */
  interface: InterfaceName.nullable().optional(),
});
export type ServicePatch = z.infer<typeof ServicePatch>;

export const RealServerPatch = z.strictObject({
  weight: z.number().int().min(0).max(65535).optional(),
  forward: ForwardMethod.optional(),
  upperThreshold: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  lowerThreshold: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  /** null removes the real server's own health check (the service's applies again). */
  healthCheck: HealthCheck.nullable().optional(),
});
export type RealServerPatch = z.infer<typeof RealServerPatch>;

export const Op = z.discriminatedUnion("op", [
  z.strictObject({ op: z.literal("service.add"), service: VirtualServiceSpec }),
  z.strictObject({ op: z.literal("service.edit"), key: ServiceKey, patch: ServicePatch }),
  z.strictObject({ op: z.literal("service.delete"), key: ServiceKey }),
  z.strictObject({ op: z.literal("service.clear") }),
  z.strictObject({ op: z.literal("realServer.add"), key: ServiceKey, realServer: RealServerSpec }),
  z.strictObject({ op: z.literal("realServer.edit"), key: ServiceKey, address: EndpointString, patch: RealServerPatch }),
  z.strictObject({ op: z.literal("realServer.delete"), key: ServiceKey, address: EndpointString }),
  z.strictObject({
    op: z.literal("realServer.setAdminState"),
    key: ServiceKey,
    address: EndpointString,
    state: AdminState,
    /** draining: move to maintenance when idle. */
    thenMaintenance: z.boolean().optional(),
    /** draining: move to maintenance at this deadline; maintenance: close remaining connections at it. */
    deadlineSeconds: Seconds.optional(),
  }),
  z.strictObject({ op: z.literal("timeouts.set"), timeouts: Timeouts.partial() }),
]);
export type Op = z.infer<typeof Op>;
export type OpInput = z.input<typeof Op>;

export const OpBatch = z.array(Op).min(1).max(10000);
