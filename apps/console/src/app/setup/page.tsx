import { setupPending } from "@director/api";
import { server } from "~/server/state";
import { SetupForm } from "./form";

export default async function SetupPage({ searchParams }: { searchParams: Promise<{ token?: string }> }) {
  const { token } = await searchParams;
  const { store } = await server();
  const pending = await setupPending(store);
  return (
    <main className="flex min-h-screen items-center justify-center p-6">
      <div className="w-full max-w-sm rounded-xl border border-slate-200 bg-white p-8 shadow-sm">
        <h1 className="mb-1 text-xl font-semibold">Create the first administrator</h1>
        {pending && token ? (
          <SetupForm token={token} />
        ) : (
          <p className="text-sm text-slate-600">
            This setup link is not valid: it was used already, it expired, or the console has users. <a className="underline" href="/signin">Sign in</a>.
          </p>
        )}
      </div>
    </main>
  );
}
