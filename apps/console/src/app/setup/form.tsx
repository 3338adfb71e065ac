"use client";
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "~/lib/trpc";

export function SetupForm({ token }: { token: string }) {
  const trpc = useTRPC();
  const [mismatch, setMismatch] = useState(false);
  const done = useMutation(trpc.setup.complete.mutationOptions({ onSuccess: () => window.location.assign("/signin") }));
  return (
    <form
      className="mt-4 space-y-4"
      onSubmit={(e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        const password = String(f.get("password"));
        setMismatch(password !== String(f.get("again")));
        if (password === String(f.get("again"))) done.mutate({ token, username: String(f.get("username")), password });
      }}
    >
      <label className="block text-sm">
        <span className="text-slate-600">Username</span>
        <input name="username" required defaultValue="admin" className="mt-1 w-full rounded-md border border-slate-300 px-3 py-2" />
      </label>
      <label className="block text-sm">
        <span className="text-slate-600">Password (12 characters or more)</span>
        <input name="password" type="password" minLength={12} required autoComplete="new-password" className="mt-1 w-full rounded-md border border-slate-300 px-3 py-2" />
      </label>
      <label className="block text-sm">
        <span className="text-slate-600">Password again</span>
        <input name="again" type="password" minLength={12} required autoComplete="new-password" className="mt-1 w-full rounded-md border border-slate-300 px-3 py-2" />
      </label>
      {mismatch && <p role="alert" className="text-sm text-red-700">The passwords differ.</p>}
      {done.error && <p role="alert" className="text-sm text-red-700">{done.error.message}</p>}
      <button type="submit" disabled={done.isPending} className="w-full rounded-md bg-slate-900 px-3 py-2 font-medium text-white">
        Create administrator
      </button>
    </form>
  );
}
