/** The overview page's data in one query (the live stream sends the same shape every second). */
import { firingAlerts } from "../live/alerts.js";
import { overview } from "../live/summary.js";
import { router, viewerProcedure } from "../trpc.js";

export const overviewRouter = router({
  get: viewerProcedure.query(async ({ ctx }) => ({ ...overview(ctx.hub), events: ctx.hub.recentEvents(20), alerts: firingAlerts(ctx.hub, await ctx.store.listAlertRules()) })),
});
