"use client";
import { signIn } from "next-auth/react";
import { useState } from "react";

export function SignInForm({ oidc, initialError }: { oidc: boolean; initialError: string | null }) {
  const [error, setError] = useState<string | null>(initialError);
  const [busy, setBusy] = useState(false);
  async function submit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const f = new FormData(e.currentTarget);
    const creds = { username: String(f.get("username")), password: String(f.get("password")), totp: String(f.get("totp") ?? ""), redirect: false };
    let r = await signIn("credentials", creds);
    // next-auth 4 on a cold server: a CSRF-cookie race can report "ok" with ?csrf=true for a login it rejected.
    if (r?.url?.includes("csrf=true")) r = await signIn("credentials", creds);
    setBusy(false);
    if (!r || r.error || r.url?.includes("csrf=true")) {
      setError(r?.error && r.error !== "CredentialsSignin" ? r.error : "Invalid username, password or code.");
      return;
    }
    window.location.assign("/");
  }
  return (
    <form onSubmit={submit} className="space-y-4" aria-label="Sign in">
      <label className="block text-sm">
        <span className="text-slate-600">Username</span>
        <input name="username" autoComplete="username" required maxLength={64} className="mt-1 w-full rounded-md border border-slate-300 px-3 py-2" />
      </label>
      <label className="block text-sm">
        <span className="text-slate-600">Password</span>
        <input name="password" type="password" autoComplete="current-password" required maxLength={256} className="mt-1 w-full rounded-md border border-slate-300 px-3 py-2" />
      </label>
      <label className="block text-sm">
        <span className="text-slate-600">Authenticator code <span className="text-slate-400">(if enrolled)</span></span>
        <input name="totp" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} className="mt-1 w-full rounded-md border border-slate-300 px-3 py-2" />
      </label>
      {error && (
        <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy} className="w-full rounded-md bg-slate-900 px-3 py-2 font-medium text-white hover:bg-slate-700 disabled:opacity-50">
        {busy ? "Signing in…" : "Sign in"}
      </button>
      {oidc && (
        <button type="button" onClick={() => signIn("oidc", { callbackUrl: "/" })} className="w-full rounded-md border border-slate-300 px-3 py-2 font-medium">
          Sign in with single sign-on
        </button>
      )}
    </form>
  );
}
