"use client";
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useState } from "react";
import { makeClient, TRPCProvider } from "~/lib/trpc";

/** A request refused for want of a (valid) session: the session ended (sign-out elsewhere, idle, revoked). */
export function sessionEnded(e: unknown): boolean {
  return (e as { data?: { code?: string } } | null)?.data?.code === "UNAUTHORIZED";
}

function toSignIn(e: unknown) {
  if (sessionEnded(e) && typeof window !== "undefined" && !window.location.pathname.startsWith("/signin")) window.location.assign("/signin");
}

export function Providers({ children }: { children: React.ReactNode }) {
  const [queryClient] = useState(
    () =>
      new QueryClient({
        queryCache: new QueryCache({ onError: toSignIn }),
        mutationCache: new MutationCache({ onError: toSignIn }),
        defaultOptions: {
          queries: { staleTime: 2000, retry: (n, e) => n < 2 && !/UNAUTHORIZED|FORBIDDEN|NOT_FOUND/.test(String((e as { data?: { code?: string } }).data?.code)) },
          mutations: { retry: false },
        },
      }),
  );
  const [trpcClient] = useState(makeClient);
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
