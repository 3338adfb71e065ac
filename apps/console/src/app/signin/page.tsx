import { redirect } from "next/navigation";
import { oidcEnabled } from "~/env";
import { currentSession } from "~/server/page";
import { SignInForm } from "./form";

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ error?: string; callbackUrl?: string }> }) {
  if (await currentSession()) redirect("/");
  const sp = await searchParams;
  return (
    <main className="flex min-h-screen items-center justify-center p-6">
      <div className="w-full max-w-sm rounded-xl border border-slate-200 bg-white p-8 shadow-sm">
        <h1 className="mb-1 text-xl font-semibold">Director console</h1>
        <p className="mb-6 text-sm text-slate-500">Sign in to watch and run your directors.</p>
        <SignInForm oidc={oidcEnabled()} initialError={sp.error && sp.error !== "undefined" ? "Sign-in failed." : null} />
      </div>
    </main>
  );
}
