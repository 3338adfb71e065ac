"use client";
/**
 * The connection explorer: an agent's connection table and persistence templates, as `ipvsadm -Lc` lists them,
 * narrowed by service, real server and client, refreshed every 5 s while auto-refresh is on.
 */
import type { ConnectionEntry } from "@director/model";
import { keepPreviousData, skipToken, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { AgentServicePicker, useAgentService } from "~/components/ui/agent-service-picker";
import { Badge, type BadgeTone } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { errorText } from "~/components/ui/errors";
import { Field, inputClass, selectClass } from "~/components/ui/field";
import { Notice } from "~/components/ui/notice";
import { PageHeader } from "~/components/ui/page-header";
import { EmptyRow, Table, tdClass, thClass } from "~/components/ui/table";
import { fmtExpire, fmtTime } from "~/components/ui/time";
import { useDebounced, useNow } from "~/components/ui/use-now";
import { fmtBytes, fmtDuration } from "~/lib/format";
import { useTRPC } from "~/lib/trpc";

const LIMIT = 500;

const STATE_TONE: Record<string, BadgeTone> = { ESTABLISHED: "green", SYN_SENT: "amber", FIN_WAIT: "slate", TIME_WAIT: "slate", UDP: "blue", NONE: "indigo" };

const STATE_ORDER = ["ESTABLISHED", "SYN_SENT", "FIN_WAIT", "TIME_WAIT", "UDP"];
const rank = (c: ConnectionEntry) => (c.template ? 99 : STATE_ORDER.indexOf(c.state) + 1 || 50);

/** An IPv4 or IPv6 address, or a prefix of one while typing (the agent matches templates by prefix). */
const CLIENT_RE = /^[0-9a-fA-F:.]{1,64}$/;

export function ConnectionsView({ initial }: { initial: { agentId?: string | undefined; service?: string | undefined; realServer: string; client: string } }) {
  const trpc = useTRPC();
  const pick = useAgentService(initial, false);
  const [realServer, setRealServer] = useState(initial.realServer);
  const [clientText, setClientText] = useState(initial.client);
  const [templates, setTemplates] = useState(true);
  const [auto, setAuto] = useState(true);
  const client = useDebounced(clientText.trim(), 400);
  const clientOk = client === "" || CLIENT_RE.test(client);
  const now = useNow(1000);

  // Real servers to filter by: the chosen service's, or every service's.
  const pool = pick.service ? [pick.service] : (pick.services.data ?? []);
  const realServers = [...new Set(pool.flatMap((s) => s.realServers.map((r) => r.address)))].sort();
  const rs = realServers.includes(realServer) ? realServer : "";

  const input = pick.agentId && clientOk
    ? {
        agentId: pick.agentId,
        ...(pick.service ? { key: { protocol: pick.service.protocol, address: pick.service.address } } : {}),
        ...(rs ? { realServer: rs } : {}),
        ...(client ? { client } : {}),
        templates,
        limit: LIMIT,
      }
    : skipToken;
  const q = useQuery({ ...trpc.connection.list.queryOptions(input), refetchInterval: auto ? 5000 : false, placeholderData: keepPreviousData });
  // Live connections first, busiest states first; templates last (the agent lists templates first).
  const rows = [...(q.data ?? [])].sort((x, y) => rank(x) - rank(y));
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.template ? "template" : r.state, (counts.get(r.template ? "template" : r.state) ?? 0) + 1);

  return (
    <div>
      <PageHeader
        title="Connections"
        description={
          <>
            The agent&apos;s connection table and persistence templates, like <code className="rounded bg-slate-100 px-1 text-xs">ipvsadm -Lc</code>. Templates (state NONE, client
            port 0) keep a client on its real server while persistence lasts.
          </>
        }
        actions={
          <>
            <label className="flex items-center gap-2 text-sm text-slate-700">
              <input type="checkbox" data-testid="conn-auto" checked={auto} onChange={(e) => setAuto(e.target.checked)} className="size-4 accent-slate-900" />
              Auto-refresh every 5 s
            </label>
            <Button data-testid="conn-refresh" onClick={() => q.refetch()} disabled={input === skipToken || q.isFetching}>
              <RefreshIcon spinning={q.isFetching} />
              Refresh
            </Button>
          </>
        }
      />

      <section className="mb-4 flex flex-wrap items-end gap-3 rounded-xl border border-slate-200 bg-white p-4" aria-label="Filter connections">
        <AgentServicePicker state={pick} allowAll />
        <Field label="Real server" className="min-w-48">
          <select data-testid="conn-filter-real" className={selectClass} value={rs} onChange={(e) => setRealServer(e.target.value)}>
            <option value="">All real servers</option>
            {realServers.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Client address" className="w-52" error={clientOk ? undefined : "an IPv4 or IPv6 address"}>
          <input
            data-testid="conn-filter-client"
            className={`${inputClass} font-mono`}
            value={clientText}
            onChange={(e) => setClientText(e.target.value)}
            placeholder="e.g. 192.0.2.10"
            spellCheck={false}
            maxLength={64}
          />
        </Field>
        <label className="flex h-[38px] items-center gap-2 text-sm text-slate-700">
          <input type="checkbox" data-testid="conn-templates" checked={templates} onChange={(e) => setTemplates(e.target.checked)} className="size-4 accent-slate-900" />
          Persistence templates
        </label>
      </section>

      {pick.agents.data && pick.agents.data.length === 0 && <Notice title="No agents registered">Add a director on the Agents page first.</Notice>}
      {q.error && (
        <Notice tone="error" title="Cannot read the connection table" className="mb-4">
          {errorText(q.error)}
        </Notice>
      )}
      {pick.agent?.stale && (
        <Notice tone="warn" className="mb-4">
          Agent {pick.agent.name} is stale{pick.agent.error ? `: ${pick.agent.error}` : ""}. The table may be out of date or unavailable.
        </Notice>
      )}

      <div className="mb-2 flex flex-wrap items-center gap-x-4 gap-y-1 text-sm text-slate-600" data-testid="conn-summary">
        <span>
          <span className="num font-semibold text-slate-900">{rows.length}</span> {rows.length === 1 ? "entry" : "entries"}
          {rows.length >= LIMIT && <span className="text-amber-700"> (first {LIMIT}; narrow the filters to see the rest)</span>}
        </span>
        {[...counts.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([k, n]) => (
            <span key={k} className="flex items-center gap-1">
              <Badge tone={k === "template" ? "indigo" : (STATE_TONE[k] ?? "slate")}>{k}</Badge>
              <span className="num">{n}</span>
            </span>
          ))}
        {(rs || clientText || pick.serviceKey) && (
          <button
            type="button"
            data-testid="conn-clear"
            className="text-xs text-slate-600 underline hover:text-slate-900"
            onClick={() => {
              setRealServer("");
              setClientText("");
              pick.setService("");
            }}
          >
            Clear filters
          </button>
        )}
        <span className="ml-auto text-xs text-slate-500">{q.dataUpdatedAt ? `Updated ${fmtTime(q.dataUpdatedAt)}` : ""}</span>
      </div>

      <Table data-testid="conn-table" aria-busy={q.isFetching}>
        <thead className="border-b border-slate-100">
          <tr>
            <th className={thClass}>Pro</th>
            <th className={thClass}>Client</th>
            <th className={thClass}>Virtual</th>
            <th className={thClass}>Real server</th>
            <th className={thClass}>State</th>
            <th className={`${thClass} text-right`}>Expires in</th>
            <th className={`${thClass} text-right`}>Bytes in</th>
            <th className={`${thClass} text-right`}>Bytes out</th>
            <th className={`${thClass} text-right`}>Age</th>
          </tr>
        </thead>
        <tbody className="font-mono text-[13px]">
          {rows.length === 0 && (
            <EmptyRow colSpan={9}>
              {q.isLoading || (input !== skipToken && !q.data) ? "Loading…" : "No connections match. Traffic through a virtual service shows up here within a refresh."}
            </EmptyRow>
          )}
          {rows.map((c) => (
            <Row key={`${c.template ? "t" : "c"} ${c.protocol} ${c.client} ${c.virtual} ${c.startedAt}`} c={c} now={now} onClient={(host) => setClientText(host)} onReal={(r) => setRealServer(r)} />
          ))}
        </tbody>
      </Table>
    </div>
  );
}

function hostOf(endpoint: string): string {
  const m = /^\[(.+)\]:\d+$/.exec(endpoint) ?? /^(.+):\d+$/.exec(endpoint);
  return m?.[1] ?? endpoint;
}

function Row({ c, now, onClient, onReal }: { c: ConnectionEntry; now: number; onClient: (host: string) => void; onReal: (r: string) => void }) {
  const linkish = "hover:text-blue-700 hover:underline";
  return (
    <tr data-testid="conn-row" data-template={c.template ? "1" : "0"} className={`border-t border-slate-100 ${c.template ? "bg-indigo-50/40 text-slate-600" : "hover:bg-slate-50"}`}>
      <td className={`${tdClass} uppercase text-slate-500`}>{c.protocol}</td>
      <td className={tdClass}>
        <button type="button" className={linkish} title="Show only this client" onClick={() => onClient(hostOf(c.client))}>
          {c.client}
        </button>
      </td>
      <td className={tdClass}>{c.virtual}</td>
      <td className={tdClass}>
        <button type="button" className={linkish} title="Show only this real server" onClick={() => onReal(c.real)}>
          {c.real}
        </button>
      </td>
      <td className={`${tdClass} font-sans`}>
        <Badge tone={STATE_TONE[c.state] ?? "slate"} title={c.template ? "persistence template" : undefined}>
          {c.template ? "NONE · template" : c.state}
        </Badge>
      </td>
      <td className={`${tdClass} num text-right`}>{fmtExpire(c.expiresIn)}</td>
      <td className={`${tdClass} num text-right`}>{c.template ? "–" : fmtBytes(c.inBytes)}</td>
      <td className={`${tdClass} num text-right`}>{c.template ? "–" : fmtBytes(c.outBytes)}</td>
      <td className={`${tdClass} num text-right`}>{c.startedAt > 0 ? fmtDuration(now - c.startedAt) : "–"}</td>
    </tr>
  );
}

function RefreshIcon({ spinning }: { spinning: boolean }) {
  return (
    <svg aria-hidden="true" viewBox="0 0 20 20" fill="currentColor" className={`size-4 ${spinning ? "animate-spin" : ""}`}>
      <path
        fillRule="evenodd"
        d="M15.312 11.424a5.5 5.5 0 0 1-9.201 2.466l-.312-.311h2.433a.75.75 0 0 0 0-1.5H3.989a.75.75 0 0 0-.75.75v4.242a.75.75 0 0 0 1.5 0v-2.43l.31.31a7 7 0 0 0 11.712-3.138.75.75 0 0 0-1.449-.39Zm1.23-3.723a.75.75 0 0 0 .219-.53V2.929a.75.75 0 0 0-1.5 0V5.36l-.31-.31A7 7 0 0 0 3.239 8.188a.75.75 0 1 0 1.448.389A5.5 5.5 0 0 1 13.89 6.11l.311.31h-2.432a.75.75 0 0 0 0 1.5h4.243a.75.75 0 0 0 .53-.219Z"
        clipRule="evenodd"
      />
    </svg>
  );
}
