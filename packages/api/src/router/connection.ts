/** The connection explorer: an agent's connection table and persistence templates (`ipvsadm -Lc`), filtered. */
import { ServiceKey } from "@director/model";
import { z } from "zod";
import { agentError } from "../audit.js";
import { AgentId } from "./inputs.js";
import { agentOf } from "./virtualService.js";
import { router, viewerProcedure } from "../trpc.js";

export const connectionRouter = router({
  list: viewerProcedure
    .input(
      z.strictObject({
        agentId: AgentId,
        key: ServiceKey.optional(),
        realServer: z.string().max(64).optional(),
        client: z.string().max(64).optional(),
        templates: z.boolean().default(true),
        limit: z.number().int().min(1).max(5000).default(500),
      }),
    )
    .query(async ({ ctx, input }) => {
      const { client } = agentOf(ctx.hub, input.agentId);
      try {
        return await client.connection.list.query({
          ...(input.key ? { service: input.key } : {}),
          ...(input.realServer ? { realServer: input.realServer } : {}),
          ...(input.client ? { client: input.client } : {}),
          templates: input.templates,
          limit: input.limit,
        });
      } catch (e) {
        throw agentError(e);
      }
    }),
});
