"use client";
/**
 * The audit log: every change and sign-in with who, from where, before and after, and its result. Newest first,
 * paged backwards by id (`before`); the hash chain can be verified and the filtered log exported as JSON lines.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card } from "~/components/ui/card";
import { errorText } from "~/components/ui/errors";
import { Field, inputClass, selectClass } from "~/components/ui/field";
import { Notice } from "~/components/ui/notice";
import { PageHeader } from "~/components/ui/page-header";
import { EmptyRow, Table, tdClass, thClass } from "~/components/ui/table";
import { fmtTime, fmtTimeFull } from "~/components/ui/time";
import { useTRPC } from "~/lib/trpc";
import { ChangeSummary } from "./change";

const PAGE = 50;

/** Actions the console writes, offered as suggestions (any text may be typed). */
const ACTIONS = [
  "auth.signIn",
  "setup.complete",
  "session.revokeOthers",
  "user.create",
  "user.update",
  "user.remove",
  "user.changePassword",
  "user.totpEnrol",
  "agent.add",
  "agent.remove",
  "virtualService.add",
  "virtualService.remove",
  "realServer.add",
  "realServer.remove",
  "realServer.drain",
  "realServer.maintenance",
  "realServer.activate",
  "realServer.setWeight",
  "alert.saveRule",
  "alert.removeRule",
  "audit.export",
];

interface Filter {
  actor?: string;
  action?: string;
  result?: "ok" | "error" | "denied";
  from?: number;
  to?: number;
}

function toMs(local: string): number | undefined {
  if (!local) return undefined;
  const t = new Date(local).getTime();
  return Number.isFinite(t) && t >= 0 ? t : undefined;
}

export function AuditView() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [filter, setFilter] = useState<Filter>({});
  /** The `before` cursor of each page visited after the first, so "Newer" can go back. */
  const [cursors, setCursors] = useState<number[]>([]);
  /** Bumped to clear the filter inputs when the page resets the filter itself. */
  const [filterEpoch, setFilterEpoch] = useState(0);
  const before = cursors.at(-1);
  const list = useQuery({ ...trpc.audit.list.queryOptions({ ...filter, ...(before ? { before } : {}), limit: PAGE }), placeholderData: keepPreviousData });
  const verify = useQuery({ ...trpc.audit.verify.queryOptions(), enabled: false, staleTime: 0, gcTime: 0 });
  const [exported, setExported] = useState<string | null>(null);
  const exportLog = useMutation(
    trpc.audit.export.mutationOptions({
      onSuccess: (text) => {
        const n = text ? text.split("\n").length : 0;
        const blob = new Blob([text ? `${text}\n` : ""], { type: "application/x-ndjson" });
        const url = URL.createObjectURL(blob);
        const a = document.createElement("a");
        a.href = url;
        a.download = `director-audit-${new Date().toISOString().replace(/[:]/g, "").replace(/\..+$/, "")}.jsonl`;
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
        setExported(`Exported ${n} ${n === 1 ? "entry" : "entries"} as ${a.download}.`);
        // The export is itself audited: show it.
        void qc.invalidateQueries({ queryKey: trpc.audit.list.queryKey() });
      },
    }),
  );
  const rows = list.data ?? [];
  const brokenAt = verify.data && !verify.data.ok ? verify.data.brokenAt : null;
  const filtered = Object.keys(filter).length > 0;

  return (
    <div>
      <PageHeader
        title="Audit log"
        description="Every change made through the console and every sign-in: who, from where, what it changed and whether it worked. Entries are hash-chained, so an edited or deleted entry breaks the chain."
        actions={
          <>
            <Button data-testid="audit-verify-button" onClick={() => verify.refetch()} disabled={verify.isFetching}>
              {verify.isFetching ? "Verifying…" : "Verify chain"}
            </Button>
            <Button data-testid="audit-export" onClick={() => exportLog.mutate(filter)} disabled={exportLog.isPending} title="Download the entries matching the filters as JSON lines">
              {exportLog.isPending ? "Exporting…" : filtered ? "Export filtered" : "Export"}
            </Button>
          </>
        }
      />

      <div className="mb-4 space-y-2">
        {verify.error && <Notice tone="error">Verification failed: {errorText(verify.error)}</Notice>}
        {verify.data && !verify.isFetching && (
          <div data-testid="audit-verify" data-ok={verify.data.ok ? "1" : "0"}>
            {verify.data.ok ? (
              <Notice tone="success" title="Chain intact">
                All {verify.data.entries.toLocaleString()} entries verified: each links to the one before it and its hash matches its content.
              </Notice>
            ) : (
              <Notice tone="error" title={`Chain broken at entry #${verify.data.brokenAt}`}>
                The {verify.data.entries.toLocaleString()} entries before it verify; entry #{verify.data.brokenAt} does not match its hash or does not link to the entry
                before it, so it (or one before it) was edited or deleted outside the console. Entries from there on cannot be trusted.{" "}
                <button
                  type="button"
                  data-testid="audit-show-broken"
                  className="font-medium underline"
                  onClick={() => {
                    setFilter({});
                    setFilterEpoch((n) => n + 1);
                    setCursors([verify.data && !verify.data.ok ? verify.data.brokenAt + 1 : 0]);
                  }}
                >
                  Show entry #{verify.data.brokenAt}
                </button>
              </Notice>
            )}
          </div>
        )}
        {exportLog.error && <Notice tone="error">Export failed: {errorText(exportLog.error)}</Notice>}
        {exported && !exportLog.error && <Notice tone="success">{exported}</Notice>}
      </div>

      <FilterBar
        key={filterEpoch}
        onApply={(f) => {
          setFilter(f);
          setCursors([]);
        }}
      />

      {list.error && (
        <Notice tone="error" className="mb-4">
          {errorText(list.error)}
        </Notice>
      )}

      <Table data-testid="audit-table" aria-busy={list.isFetching}>
        <thead className="border-b border-slate-100">
          <tr>
            <th className={thClass}>#</th>
            <th className={thClass}>Time</th>
            <th className={thClass}>Actor</th>
            <th className={thClass}>Action</th>
            <th className={thClass}>Target</th>
            <th className={thClass}>Result</th>
            <th className={`${thClass} w-[36%]`}>Change</th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 && <EmptyRow colSpan={7}>{list.isLoading ? "Loading…" : filtered ? "No entries match these filters." : "The audit log is empty."}</EmptyRow>}
          {rows.map((r) => (
            <tr key={r.id} data-testid="audit-row" data-id={r.id} className={`border-t border-slate-100 align-top ${r.id === brokenAt ? "bg-red-50" : ""}`}>
              <td className={`${tdClass} num align-top text-xs text-slate-500`}>{r.id}</td>
              <td className={`${tdClass} num whitespace-nowrap align-top`} title={fmtTimeFull(r.at)}>
                {fmtTime(r.at)}
              </td>
              <td className={`${tdClass} align-top`}>
                <div className="font-medium">{r.actor ?? <span className="text-slate-400">system</span>}</div>
                <div className="text-xs text-slate-500">
                  {r.actorRole ?? ""}
                  {r.actorRole && r.ip ? " · " : ""}
                  {r.ip ?? ""}
                </div>
              </td>
              <td className={`${tdClass} align-top font-mono text-xs`}>{r.action}</td>
              <td className={`${tdClass} max-w-56 break-words align-top text-xs`}>{r.target ?? <span className="text-slate-400">–</span>}</td>
              <td className={`${tdClass} align-top`}>
                <Badge tone={r.result === "ok" ? "green" : r.result === "denied" ? "amber" : "red"}>{r.result}</Badge>
                {r.detail && <div className="mt-1 max-w-48 text-xs text-slate-500">{r.detail}</div>}
              </td>
              <td className={`${tdClass} align-top`}>
                <ChangeSummary before={r.before} after={r.after} />
              </td>
            </tr>
          ))}
        </tbody>
      </Table>

      <div className="mt-3 flex items-center justify-between text-sm text-slate-600">
        <span className="num" data-testid="audit-range">
          {rows.length > 0 ? `Entries #${rows[0]!.id} – #${rows.at(-1)!.id}` : ""}
          {cursors.length > 0 ? ` · page ${cursors.length + 1}` : ""}
        </span>
        <div className="flex gap-2">
          <Button size="sm" data-testid="audit-newest" onClick={() => setCursors([])} disabled={cursors.length === 0}>
            Newest
          </Button>
          <Button size="sm" data-testid="audit-newer" onClick={() => setCursors((c) => c.slice(0, -1))} disabled={cursors.length === 0}>
            ← Newer
          </Button>
          <Button size="sm" data-testid="audit-older" onClick={() => rows.length && setCursors((c) => [...c, rows.at(-1)!.id])} disabled={rows.length < PAGE || list.isPlaceholderData}>
            Older →
          </Button>
        </div>
      </div>
    </div>
  );
}

function FilterBar({ onApply }: { onApply: (f: Filter) => void }) {
  const [actor, setActor] = useState("");
  const [action, setAction] = useState("");
  const [result, setResult] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const apply = (o?: Partial<Record<"actor" | "action" | "result" | "from" | "to", string>>) => {
    const v = { actor, action, result, from, to, ...o };
    const f: Filter = {};
    if (v.actor.trim()) f.actor = v.actor.trim().toLowerCase();
    if (v.action.trim()) f.action = v.action.trim();
    if (v.result === "ok" || v.result === "error" || v.result === "denied") f.result = v.result;
    const fromMs = toMs(v.from);
    const toMsV = toMs(v.to);
    if (fromMs !== undefined) f.from = fromMs;
    // "to" is inclusive of the whole minute chosen.
    if (toMsV !== undefined) f.to = toMsV + 59_999;
    onApply(f);
  };
  return (
    <Card className="mb-4" bodyClassName="p-4">
      <form
        className="flex flex-wrap items-end gap-3"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          apply();
        }}
      >
        <Field label="Actor" className="w-36">
          <input data-testid="audit-filter-actor" className={inputClass} value={actor} onChange={(e) => setActor(e.target.value)} placeholder="username" maxLength={64} />
        </Field>
        <Field label="Action" className="w-52">
          <input data-testid="audit-filter-action" className={`${inputClass} font-mono`} list="audit-actions" value={action} onChange={(e) => setAction(e.target.value)} placeholder="e.g. user.update" maxLength={64} />
          <datalist id="audit-actions">
            {ACTIONS.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </Field>
        <Field label="Result" className="w-28">
          <select data-testid="audit-filter-result" className={selectClass} value={result} onChange={(e) => setResult(e.target.value)}>
            <option value="">Any</option>
            <option value="ok">ok</option>
            <option value="error">error</option>
            <option value="denied">denied</option>
          </select>
        </Field>
        <Field label="From" className="w-48">
          <input data-testid="audit-filter-from" type="datetime-local" className={inputClass} value={from} onChange={(e) => setFrom(e.target.value)} />
        </Field>
        <Field label="To" className="w-48">
          <input data-testid="audit-filter-to" type="datetime-local" className={inputClass} value={to} onChange={(e) => setTo(e.target.value)} />
        </Field>
        <div className="flex gap-2">
          <Button type="submit" variant="primary" data-testid="audit-apply">
            Apply
          </Button>
          <Button
            variant="ghost"
            onClick={() => {
              setActor("");
              setAction("");
              setResult("");
              setFrom("");
              setTo("");
              apply({ actor: "", action: "", result: "", from: "", to: "" });
            }}
          >
            Reset
          </Button>
        </div>
      </form>
    </Card>
  );
}
