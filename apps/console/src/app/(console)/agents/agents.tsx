"use client";
/**
 * The directors (agents) this console watches: reachability, version, uptime, when it last answered. Admins add
 * one (name, https URL, token, optionally the CA certificate to pin) after a successful connection test, and
 * remove one. Removing only forgets it here: the director keeps forwarding.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
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
import { fmtAgo, fmtTimeFull } from "~/components/ui/time";
import { useNow } from "~/components/ui/use-now";
import { fmtDuration } from "~/lib/format";
import { useTRPC } from "~/lib/trpc";

export function AgentsView({ canAdmin }: { canAdmin: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const agents = useQuery(trpc.agent.list.queryOptions(undefined, { refetchInterval: 2000 }));
  const now = useNow(1000);
  const [removing, setRemoving] = useState<{ id: string; name: string; services: number } | null>(null);
  const [flash, setFlash] = useState<string | null>(null);
  const remove = useMutation(
    trpc.agent.remove.mutationOptions({
      onSuccess: () => {
        setFlash(`Removed ${removing?.name ?? "the agent"} from the console.`);
        setRemoving(null);
        void qc.invalidateQueries({ queryKey: trpc.agent.list.queryKey() });
      },
    }),
  );
  const list = agents.data ?? [];
  return (
    <div>
      <PageHeader title="Agents" description="The directors this console watches and controls. The console talks to each over HTTPS with the agent's token; every change goes through the console's roles and audit log." />
      {flash && (
        <Notice tone="success" className="mb-4" data-testid="agents-flash">
          {flash}
        </Notice>
      )}
      {agents.error && (
        <Notice tone="error" className="mb-4">
          {errorText(agents.error)}
        </Notice>
      )}
      <Table data-testid="agents-table">
        <thead className="border-b border-slate-100">
          <tr>
            <th className={thClass}>Agent</th>
            <th className={thClass}>State</th>
            <th className={thClass}>Version</th>
            <th className={`${thClass} text-right`}>Uptime</th>
            <th className={thClass}>Last seen</th>
            <th className={`${thClass} text-right`}>Services</th>
            <th className={thClass}>URL</th>
            {canAdmin && <th className={`${thClass} text-right`}>Actions</th>}
          </tr>
        </thead>
        <tbody>
          {list.length === 0 && <EmptyRow colSpan={canAdmin ? 8 : 7}>{agents.isLoading ? "Loading…" : "No agents registered yet."}</EmptyRow>}
          {list.map((a) => (
            <tr key={a.id} data-testid={`agent-row-${a.name}`} className="border-t border-slate-100 align-top">
              <td className={`${tdClass} font-medium`}>{a.name}</td>
              <td className={tdClass}>
                {a.stale ? (
                  <Badge tone={a.lastOkAt ? "amber" : "red"} title={a.error ?? ""}>
                    {a.lastOkAt ? "stale" : "unreachable"}
                  </Badge>
                ) : (
                  <Badge tone="green">reachable</Badge>
                )}
                {a.stale && a.error && <div className="mt-1 max-w-64 break-words text-xs text-red-700">{a.error}</div>}
              </td>
              <td className={`${tdClass} font-mono text-xs`}>{a.version ?? "–"}</td>
              <td className={`${tdClass} num text-right`}>{a.startedAt && !a.stale ? fmtDuration(now - a.startedAt) : "–"}</td>
              <td className={`${tdClass} num whitespace-nowrap`} title={a.lastOkAt ? fmtTimeFull(a.lastOkAt) : undefined}>
                {a.lastOkAt ? fmtAgo(a.lastOkAt, Math.max(now, a.lastOkAt)) : "never"}
              </td>
              <td className={`${tdClass} num text-right`}>{a.services}</td>
              <td className={`${tdClass} break-all font-mono text-xs text-slate-600`}>{a.url}</td>
              {canAdmin && (
                <td className={`${tdClass} text-right`}>
                  <Button
                    size="sm"
                    variant="danger-ghost"
                    data-testid="agent-remove"
                    onClick={() => {
                      remove.reset();
                      setFlash(null);
                      setRemoving({ id: a.id, name: a.name, services: a.services });
                    }}
                  >
                    Remove
                  </Button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </Table>
      <p className="mt-2 text-xs text-slate-500">
        An agent is stale when it has not answered for 5 s; the console then shows its last known state. Live numbers are on <Link href="/" className="underline">the overview</Link>.
      </p>

      {canAdmin && <AddAgent existing={list.map((a) => a.name)} onAdded={(name) => setFlash(`Added ${name}.`)} />}

      <ConfirmDialog
        open={removing !== null}
        title={`Remove agent ${removing?.name ?? ""}?`}
        confirmLabel={`Remove ${removing?.name ?? ""}`}
        busy={remove.isPending}
        error={remove.error ? errorText(remove.error) : null}
        onCancel={() => setRemoving(null)}
        onConfirm={() => removing && remove.mutate({ id: removing.id })}
      >
        {removing && (
          <>
            <p>
              The console forgets <strong>{removing.name}</strong> and its token: its {removing.services} virtual {removing.services === 1 ? "service disappears" : "services disappear"}{" "}
              from the console and nobody here can change them any more.
            </p>
            <p>
              The director itself is not touched: <strong>it keeps running and forwarding traffic</strong> with its current configuration. Add it again with its URL and token to
              manage it.
            </p>
          </>
        )}
      </ConfirmDialog>
    </div>
  );
}

type Draft = { name: string; url: string; token: string; caPem: string };
const EMPTY: Draft = { name: "", url: "", token: "", caPem: "" };
const sameDraft = (a: Draft, b: Draft) => a.url === b.url && a.token === b.token && a.caPem === b.caPem;

function AddAgent({ existing, onAdded }: { existing: string[]; onAdded: (name: string) => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [d, setD] = useState<Draft>(EMPTY);
  /** The inputs the last successful test was made with: Add is offered only for those. */
  const [tested, setTested] = useState<Draft | null>(null);
  const test = useMutation(trpc.agent.test.mutationOptions());
  const add = useMutation(
    trpc.agent.add.mutationOptions({
      onSuccess: () => {
        onAdded(d.name.trim());
        setD(EMPTY);
        setTested(null);
        test.reset();
        void qc.invalidateQueries({ queryKey: trpc.agent.list.queryKey() });
      },
    }),
  );
  const set = (k: keyof Draft) => (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => {
    setD({ ...d, [k]: e.target.value });
    add.reset();
  };
  const conn = { url: d.url.trim(), token: d.token.trim(), caPem: d.caPem.trim() || null };
  const urlError = d.url && !/^https:\/\/[^\s/]+/.test(d.url.trim()) ? "an https:// URL, e.g. https://director-2.example.net:9443/trpc" : undefined;
  const tokenShort = d.token.trim().length > 0 && d.token.trim().length < 16;
  const pemError = d.caPem.trim() && !d.caPem.includes("-----BEGIN CERTIFICATE-----") ? "a PEM certificate (-----BEGIN CERTIFICATE----- …)" : undefined;
  const nameError = existing.includes(d.name.trim()) ? `an agent named ${d.name.trim()} exists` : undefined;
  const canTest = Boolean(d.url && d.token) && !urlError && !tokenShort && !pemError;
  const testedOk = tested !== null && sameDraft(tested, d) && test.data?.ok === true;
  const result = test.data && tested && sameDraft(tested, d) ? test.data : null;

  return (
    <Card title="Add an agent" description="Test the connection first: the console adds an agent only once it has answered." className="mt-8 max-w-3xl" data-testid="agent-add">
      <form
        className="grid gap-4 md:grid-cols-2"
        onSubmit={(e) => {
          e.preventDefault();
          if (testedOk && d.name.trim() && !nameError) add.mutate({ name: d.name.trim(), ...conn });
        }}
      >
        <Field label="Name" error={nameError} hint="How the console shows it, e.g. lb-east-1.">
          <input data-testid="agent-name" className={inputClass} value={d.name} onChange={set("name")} maxLength={64} required />
        </Field>
        <Field label="URL" error={urlError} hint="The agent's API, as its api.json says.">
          <input data-testid="agent-url" className={`${inputClass} font-mono`} value={d.url} onChange={set("url")} placeholder="https://10.0.0.2:9443/trpc" maxLength={512} spellCheck={false} required />
        </Field>
        <Field label="Token" className="md:col-span-2" error={tokenShort ? "at least 16 characters" : undefined} hint={<>From <code>director-agent token create</code> on the director. Stored by the console, never shown again.</>}>
          <input data-testid="agent-token" type="password" autoComplete="off" className={`${inputClass} font-mono`} value={d.token} onChange={set("token")} maxLength={512} required />
        </Field>
        <Field
          label={
            <>
              CA certificate <span className="font-normal text-slate-400">(optional)</span>
            </>
          }
          className="md:col-span-2"
          error={pemError}
          hint="Pins the agent's self-signed certificate (its tls/agent.crt). Leave empty if its certificate chains to a CA this server trusts."
        >
          <textarea
            data-testid="agent-ca"
            className={`${inputBase} h-28 w-full px-3 py-2 font-mono text-xs`}
            value={d.caPem}
            onChange={set("caPem")}
            placeholder={"-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----"}
            maxLength={20_000}
            spellCheck={false}
          />
        </Field>
        <div className="md:col-span-2 space-y-3">
          {result && (
            <div data-testid="agent-test-result" data-ok={result.ok ? "1" : "0"}>
              {result.ok ? (
                <Notice tone="success" title="Connection works">
                  The agent answered: director-agent {result.version}, up {fmtDuration(Date.now() - result.startedAt)}.
                </Notice>
              ) : (
                <Notice tone="error" title="Cannot reach the agent">
                  {result.error}
                </Notice>
              )}
            </div>
          )}
          {test.error && <Notice tone="error">{errorText(test.error)}</Notice>}
          {add.error && <Notice tone="error">{errorText(add.error)}</Notice>}
          <div className="flex flex-wrap items-center gap-2">
            <Button
              data-testid="agent-test"
              disabled={!canTest || test.isPending}
              onClick={() => {
                const snapshot = d;
                setTested(snapshot);
                test.mutate(conn);
              }}
            >
              {test.isPending ? "Testing…" : "Test connection"}
            </Button>
            <Button type="submit" variant="primary" data-testid="agent-add-submit" disabled={!testedOk || !d.name.trim() || Boolean(nameError) || add.isPending}>
              {add.isPending ? "Adding…" : "Add agent"}
            </Button>
            {!testedOk && <span className="text-xs text-slate-500">Test the connection to enable Add.</span>}
          </div>
        </div>
      </form>
    </Card>
  );
}
