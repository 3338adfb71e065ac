/** The console's tRPC endpoint: queries and mutations (POST, CSRF-checked), subscriptions as SSE (GET). */
import { appRouter } from "@director/api";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { createContext, csrfRefusal } from "~/server/request";

export const dynamic = "force-dynamic";

async function handler(req: Request): Promise<Response> {
  if (req.method !== "GET") {
    const why = csrfRefusal(req);
    if (why) return Response.json({ error: { message: why, code: "FORBIDDEN" } }, { status: 403 });
  }
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: () => createContext(req),
    allowMethodOverride: false,
  });
}

export { handler as GET, handler as POST };
