/** The console's API: one router per noun, assembled here. */
import { agentRouter } from "./router/agent.js";
import { alertRouter } from "./router/alert.js";
import { auditRouter } from "./router/audit.js";
import { connectionRouter } from "./router/connection.js";
import { liveRouter } from "./router/live.js";
import { overviewRouter } from "./router/overview.js";
import { realServerRouter } from "./router/realServer.js";
import { sessionRouter } from "./router/session.js";
import { setupRouter } from "./router/setup.js";
import { simulatorRouter } from "./router/simulator.js";
import { userRouter } from "./router/user.js";
import { virtualServiceRouter } from "./router/virtualService.js";
import { router } from "./trpc.js";

export const appRouter = router({
  session: sessionRouter,
  setup: setupRouter,
  overview: overviewRouter,
  agent: agentRouter,
  virtualService: virtualServiceRouter,
  realServer: realServerRouter,
  connection: connectionRouter,
  simulator: simulatorRouter,
  alert: alertRouter,
  audit: auditRouter,
  user: userRouter,
  live: liveRouter,
});

export type AppRouter = typeof appRouter;
