"use client";
/**
 * The signed-in user's own account: password, second factor (TOTP), and sessions. Changing the password ends
 * every session of the user, this one included, so the page signs out and goes to /signin afterwards.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { signOut } from "next-auth/react";
import { useState } from "react";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card } from "~/components/ui/card";
import { ConfirmDialog } from "~/components/ui/confirm-dialog";
import { errorText } from "~/components/ui/errors";
import { Field, inputBase, inputClass } from "~/components/ui/field";
import { Notice } from "~/components/ui/notice";
import { PageHeader } from "~/components/ui/page-header";
import { EmptyRow, Table, tdClass, thClass } from "~/components/ui/table";
import { fmtAgo, fmtTime, fmtTimeFull } from "~/components/ui/time";
import { useNow } from "~/components/ui/use-now";
import { useTRPC } from "~/lib/trpc";

type Role = "viewer" | "operator" | "admin";
const PASSWORD_MIN = 12;

export function AccountView({ user }: { user: { username: string; role: Role; totp: boolean; mustEnrolTotp: boolean } }) {
  return (
    <div>
      <PageHeader
        title="Account"
        description={
          <>
            Signed in as <strong className="text-slate-700">{user.username}</strong> with the <strong className="text-slate-700">{user.role}</strong> role.
          </>
        }
      />
      <div className="grid gap-6 xl:grid-cols-2">
        <Totp enrolled={user.totp} required={user.mustEnrolTotp} />
        <ChangePassword />
        <div className="xl:col-span-2">
          <Sessions />
        </div>
      </div>
    </div>
  );
}

function ChangePassword() {
  const trpc = useTRPC();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const change = useMutation(trpc.session.changePassword.mutationOptions({ onSuccess: () => void signOut({ callbackUrl: "/signin" }) }));
  const short = next.length > 0 && next.length < PASSWORD_MIN;
  const differ = again.length > 0 && again !== next;
  const same = next.length > 0 && next === current;
  return (
    <Card title="Password" description="At least 12 characters. A long passphrase is easier to type and harder to guess than a short jumble." data-testid="account-password">
      <form
        className="space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          if (!short && !differ && !same && next.length >= PASSWORD_MIN) change.mutate({ current, next });
        }}
      >
        <Field label="Current password">
          <input name="current" type="password" autoComplete="current-password" required maxLength={256} className={inputClass} value={current} onChange={(e) => setCurrent(e.target.value)} />
        </Field>
        <Field label="New password" error={short ? `at least ${PASSWORD_MIN} characters (${next.length} so far)` : same ? "the same as the current one" : undefined}>
          <input name="next" type="password" autoComplete="new-password" required minLength={PASSWORD_MIN} maxLength={256} className={inputClass} value={next} onChange={(e) => setNext(e.target.value)} />
        </Field>
        <Field label="New password again" error={differ ? "the two new passwords differ" : undefined}>
          <input name="again" type="password" autoComplete="new-password" required maxLength={256} className={inputClass} value={again} onChange={(e) => setAgain(e.target.value)} />
        </Field>
        <Notice tone="warn">Changing your password ends all your sessions, this one included: you will be signed out and sign in again with the new password.</Notice>
        {change.error && <Notice tone="error">{errorText(change.error)}</Notice>}
        {change.isSuccess && <Notice tone="success">Password changed. Signing you out…</Notice>}
        <Button type="submit" variant="primary" data-testid="account-password-submit" disabled={change.isPending || change.isSuccess || !current || next.length < PASSWORD_MIN || next !== again || same}>
          {change.isPending ? "Changing…" : "Change password and sign out"}
        </Button>
      </form>
    </Card>
  );
}

/** "JBSW Y3DP …": the base32 secret in groups of four, as authenticator apps show it. */
const grouped = (s: string) => s.replace(/(.{4})/g, "$1 ").trim();

function Totp({ enrolled, required }: { enrolled: boolean; required: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [code, setCode] = useState("");
  const [copied, setCopied] = useState<string | null>(null);
  const begin = useMutation(trpc.session.totpBegin.mutationOptions());
  const confirm = useMutation(
    trpc.session.totpConfirm.mutationOptions({
      onSuccess: () => {
        begin.reset();
        setCode("");
        router.refresh();
      },
    }),
  );
  const copy = async (what: string, text: string) => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(what);
      setTimeout(() => setCopied(null), 2000);
    } catch {
      setCopied(null);
    }
  };
  const secret = begin.data;
  return (
    <Card
      title="Second factor (TOTP)"
      description="An authenticator app (any RFC 6238 one: 6 digits, 30 s) asks for a code at every sign-in, in addition to your password."
      actions={enrolled ? <Badge tone="green">enrolled</Badge> : <Badge tone={required ? "red" : "slate"}>not enrolled</Badge>}
      data-testid="account-totp"
    >
      {confirm.isSuccess && !secret && (
        <Notice tone="success" className="mb-3" data-testid="totp-done">
          Authenticator enrolled. From your next sign-in, enter its code after your password.
        </Notice>
      )}
      {!secret && (
        <div className="space-y-3">
          {required && !enrolled && <Notice tone="warn">This console requires administrators to use a second factor: admin actions stay refused until you enrol.</Notice>}
          <p className="text-sm text-slate-600">
            {enrolled
              ? "You have an authenticator. Setting up a new one replaces it once you confirm a code from the new one; until then the current one keeps working."
              : "Set up an authenticator to protect your account beyond the password."}
          </p>
          {begin.error && <Notice tone="error">{errorText(begin.error)}</Notice>}
          <Button variant={enrolled ? "secondary" : "primary"} data-testid="totp-begin" onClick={() => begin.mutate()} disabled={begin.isPending}>
            {begin.isPending ? "Preparing…" : enrolled ? "Replace authenticator" : "Set up an authenticator"}
          </Button>
        </div>
      )}
      {secret && (
        <form
          className="space-y-4"
          onSubmit={(e) => {
            e.preventDefault();
            if (/^\d{6}$/.test(code)) confirm.mutate({ secret: secret.secret, code });
          }}
        >
          <ol className="list-decimal space-y-4 pl-5 text-sm text-slate-700">
            <li>
              <p>In your authenticator app, add an account with this secret key (time-based):</p>
              <div className="mt-2 flex items-center gap-2">
                <code data-testid="totp-secret" className="rounded-md border border-slate-200 bg-slate-50 px-3 py-2 font-mono text-base tracking-wider text-slate-900">
                  {grouped(secret.secret)}
                </code>
                <Button size="sm" onClick={() => copy("secret", secret.secret)}>
                  {copied === "secret" ? "Copied" : "Copy"}
                </Button>
              </div>
              <p className="mt-3">or, if it accepts a link, this otpauth:// URI:</p>
              <div className="mt-2 flex items-start gap-2">
                <code data-testid="totp-uri" className="block min-w-0 flex-1 break-all rounded-md border border-slate-200 bg-slate-50 px-3 py-2 font-mono text-xs text-slate-700">
                  {secret.uri}
                </code>
                <Button size="sm" onClick={() => copy("uri", secret.uri)}>
                  {copied === "uri" ? "Copied" : "Copy"}
                </Button>
              </div>
            </li>
            <li>
              <p>Enter the 6-digit code it shows now:</p>
              <div className="mt-2 flex items-center gap-2">
                <input
                  data-testid="totp-code"
                  aria-label="6-digit code"
                  className={`${inputBase} num w-36 px-3 py-1.5 text-center font-mono text-lg tracking-[0.3em]`}
                  inputMode="numeric"
                  autoComplete="one-time-code"
                  pattern="[0-9]{6}"
                  maxLength={6}
                  required
                  value={code}
                  onChange={(e) => setCode(e.target.value.replace(/\D/g, "").slice(0, 6))}
                />
                <Button type="submit" variant="primary" data-testid="totp-confirm" disabled={code.length !== 6 || confirm.isPending}>
                  {confirm.isPending ? "Checking…" : "Confirm"}
                </Button>
                <Button
                  variant="ghost"
                  onClick={() => {
                    begin.reset();
                    confirm.reset();
                    setCode("");
                  }}
                >
                  Cancel
                </Button>
              </div>
            </li>
          </ol>
          {confirm.error && <Notice tone="error">{errorText(confirm.error)}</Notice>}
          <p className="text-xs text-slate-500">The secret is kept only once a code confirms it; cancelling leaves your account as it was. Keep the secret private.</p>
        </form>
      )}
    </Card>
  );
}

/** "Chrome 131 on Linux" from a user agent, or the raw string cut short. */
function browserOf(ua: string): string {
  if (!ua) return "unknown browser";
  const os = /Windows/.test(ua) ? "Windows" : /Mac OS X/.test(ua) ? "macOS" : /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Linux/.test(ua) ? "Linux" : "";
  const m = /(Edg|Firefox|Chrome|Chromium|Version)\/(\d+)/.exec(ua);
  const name = m ? ({ Edg: "Edge", Version: "Safari" } as Record<string, string>)[m[1]!] ?? m[1]! : /curl|node|undici/i.test(ua) ? ua.split(" ")[0]! : "";
  const headless = /Headless/.test(ua) ? " (headless)" : "";
  return name ? `${name} ${m?.[2] ?? ""}`.trim() + headless + (os ? ` on ${os}` : "") : ua.slice(0, 60);
}

function Sessions() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const now = useNow(5000);
  const sessions = useQuery(trpc.session.list.queryOptions(undefined, { refetchInterval: 15_000 }));
  const [confirming, setConfirming] = useState(false);
  const revoke = useMutation(
    trpc.session.revokeOthers.mutationOptions({
      onSuccess: () => {
        setConfirming(false);
        void qc.invalidateQueries({ queryKey: trpc.session.list.queryKey() });
      },
    }),
  );
  const list = sessions.data ?? [];
  const others = list.filter((s) => !s.current).length;
  return (
    <Card
      title="Sessions"
      description="Where you are signed in. A session ends after 30 minutes without use or 12 hours in all."
      data-testid="account-sessions"
      actions={
        <Button
          size="sm"
          data-testid="sessions-revoke-others"
          disabled={others === 0 || revoke.isPending}
          onClick={() => {
            revoke.reset();
            setConfirming(true);
          }}
        >
          Sign out other sessions
        </Button>
      }
      bodyClassName="p-0"
    >
      {revoke.isSuccess && (
        <Notice tone="success" className="m-4" data-testid="sessions-revoked">
          Signed out {revoke.data.revoked} other {revoke.data.revoked === 1 ? "session" : "sessions"}.
        </Notice>
      )}
      {sessions.error && (
        <Notice tone="error" className="m-4">
          {errorText(sessions.error)}
        </Notice>
      )}
      <Table bare>
          <thead className="border-b border-slate-100">
            <tr>
              <th className={thClass}>Session</th>
              <th className={thClass}>Browser</th>
              <th className={thClass}>Address</th>
              <th className={thClass}>Signed in</th>
              <th className={thClass}>Last active</th>
            </tr>
          </thead>
          <tbody>
            {list.length === 0 && <EmptyRow colSpan={5}>{sessions.isLoading ? "Loading…" : "No sessions."}</EmptyRow>}
            {list.map((s) => (
              <tr key={s.id} data-testid="session-row" data-current={s.current ? "1" : "0"} className="border-t border-slate-100">
                <td className={`${tdClass} font-mono text-xs`}>
                  {s.id}…
                  {s.current && (
                    <Badge tone="green" className="ml-2 font-sans">
                      this session
                    </Badge>
                  )}
                </td>
                <td className={tdClass} title={s.userAgent}>
                  {browserOf(s.userAgent)}
                </td>
                <td className={`${tdClass} font-mono text-xs`}>{s.ip}</td>
                <td className={`${tdClass} num whitespace-nowrap`} title={fmtTimeFull(s.createdAt)}>
                  {fmtTime(s.createdAt)}
                </td>
                <td className={`${tdClass} num whitespace-nowrap`} title={fmtTimeFull(s.lastSeenAt)}>
                  {s.current ? "now" : fmtAgo(s.lastSeenAt, Math.max(now, s.lastSeenAt))}
                </td>
              </tr>
            ))}
          </tbody>
      </Table>
      <ConfirmDialog
        open={confirming}
        title="Sign out your other sessions?"
        confirmLabel={`Sign out ${others} ${others === 1 ? "session" : "sessions"}`}
        busy={revoke.isPending}
        error={revoke.error ? errorText(revoke.error) : null}
        onCancel={() => setConfirming(false)}
        onConfirm={() => revoke.mutate()}
      >
        <p>
          Ends your {others} other {others === 1 ? "session" : "sessions"} (other browsers and devices) at once; their next request goes to the sign-in page. <strong>This session stays signed in.</strong>
        </p>
        <p className="text-slate-500">If you think someone else knows your password, change it too: that ends every session.</p>
      </ConfirmDialog>
    </Card>
  );
}
