"use client";
/**
 * The browser's tRPC client: queries and mutations over HTTP batching with the CSRF header, subscriptions over
 * SSE (same-origin EventSource carries the session cookie).
 */
import type { AppRouter } from "@director/api";
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export function makeClient() {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({ url: "/api/trpc" }),
        false: httpBatchLink({ url: "/api/trpc", headers: () => ({ "x-director-csrf": "1" }) }),
      }),
    ],
  });
}
