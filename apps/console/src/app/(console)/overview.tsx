"use client";
import type { OverviewSummary } from "@director/api";
import { useQuery } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import Link from "next/link";
import { useState } from "react";
import { fmtBytes, fmtDuration, fmtRate, keyToSegment } from "~/lib/format";
import { useTRPC } from "~/lib/trpc";
import { sessionEnded } from "../providers";

type Live = OverviewSummary & { events: { agentName: string; id: number; at: number; name: string; payload: Record<string, unknown> }[] };

function HealthBar({ counts }: { counts: { healthy: number; draining: number; maintenance: number; down: number } }) {
  const total = counts.healthy + counts.draining + counts.maintenance + counts.down || 1;
  const parts = [
    ["healthy", "bg-healthy"],
    ["draining", "bg-draining"],
    ["maintenance", "bg-maintenance"],
    ["down", "bg-down"],
  ] as const;
  return (
    <div className="w-72">
      <div className="flex h-2.5 overflow-hidden rounded-full bg-slate-200" role="img" aria-label={parts.map(([k]) => `${counts[k]} ${k}`).join(", ")}>
        {parts.map(([k, c]) => (counts[k] ? <div key={k} className={c} style={{ width: `${(100 * counts[k]) / total}%` }} /> : null))}
      </div>
      <div className="mt-1 text-xs text-slate-500">
        {parts.map(([k]) => `${counts[k]} ${k}`).join(" · ")}
      </div>
    </div>
  );
}

export function OverviewView() {
  const trpc = useTRPC();
  const first = useQuery(trpc.overview.get.queryOptions());
  const alerts = useQuery(trpc.alert.firing.queryOptions(undefined, { refetchInterval: 3000 }));
  const [live, setLive] = useState<Live | null>(null);
  useSubscription(
    trpc.live.overview.subscriptionOptions(undefined, {
      onData: (d) => setLive(d as Live),
      onError: (e) => {
        if (sessionEnded(e)) window.location.assign("/signin");
      },
    }),
  );
  const data = live ?? first.data;
  if (!data) return <p className="text-slate-500">Loading…</p>;
  const now = data.t;
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold">Overview</h1>
      <section className="grid grid-cols-2 gap-4 md:grid-cols-4" aria-label="Totals">
        {[
          ["Connections/s", fmtRate(data.totals.cps), "total-cps"],
          ["Throughput", `${fmtBytes(data.totals.bps)}/s`, "total-bps"],
          ["Active connections", String(data.totals.activeConns), "total-active"],
          ["Services / real servers", `${data.totals.services} / ${data.totals.realServers}`, "total-services"],
        ].map(([label, value, id]) => (
          <div key={id} className="rounded-xl border border-slate-200 bg-white p-4">
            <div className="text-xs uppercase tracking-wide text-slate-500">{label}</div>
            <div className="num mt-1 text-2xl font-semibold" data-testid={id}>
              {value}
            </div>
          </div>
        ))}
      </section>
      <section>
        <h2 className="mb-2 text-lg font-semibold">Directors</h2>
        <table className="w-full rounded-xl border border-slate-200 bg-white text-sm">
          <thead className="text-left text-xs uppercase text-slate-500">
            <tr>
              <th className="p-3">Agent</th>
              <th className="p-3">State</th>
              <th className="p-3">Version</th>
              <th className="p-3">Uptime</th>
              <th className="p-3">URL</th>
            </tr>
          </thead>
          <tbody>
            {data.agents.map((a) => (
              <tr key={a.id} className="border-t border-slate-100" data-testid={`agent-${a.name}`}>
                <td className="p-3 font-medium">{a.name}</td>
                <td className="p-3">
                  {a.stale ? (
                    <span className="rounded bg-slate-200 px-2 py-0.5 text-xs text-slate-700" title={a.error ?? ""}>
                      stale{a.lastOkAt ? ` (${fmtDuration(now - a.lastOkAt)} ago)` : ""}
                    </span>
                  ) : (
                    <span className="rounded bg-green-100 px-2 py-0.5 text-xs text-green-800">reachable</span>
                  )}
                </td>
                <td className="p-3">{a.version ?? "–"}</td>
                <td className="num p-3">{a.startedAt ? fmtDuration(now - a.startedAt) : "–"}</td>
                <td className="p-3 text-slate-500">{a.url}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2 className="mb-2 text-lg font-semibold">Virtual services</h2>
        <table className="w-full rounded-xl border border-slate-200 bg-white text-sm">
          <thead className="text-left text-xs uppercase text-slate-500">
            <tr>
              <th className="p-3">Service</th>
              <th className="p-3">Scheduler</th>
              <th className="p-3">Real servers</th>
              <th className="p-3 text-right">Conn/s</th>
              <th className="p-3 text-right">Active</th>
              <th className="p-3 text-right">Throughput</th>
            </tr>
          </thead>
          <tbody>
            {data.services.map((s) => (
              <tr key={`${s.agentId}${s.key}`} className="border-t border-slate-100" data-testid={`service-${s.key}`}>
                <td className="p-3">
                  <Link className="font-medium text-blue-700 hover:underline" href={`/agents/${s.agentId}/services/${keyToSegment(s.key)}`}>
                    {s.name ?? s.key}
                  </Link>
                  <div className="text-xs text-slate-500">
                    {s.key} · {s.engine}
                    {!s.quorumUp && <span className="ml-2 rounded bg-red-100 px-1.5 text-red-700">quorum lost</span>}
                  </div>
                </td>
                <td className="p-3">{s.scheduler}</td>
                <td className="p-3">
                  <HealthBar counts={s.counts} />
                </td>
                <td className="num p-3 text-right" data-testid="service-cps">
                  {fmtRate(s.cps)}
                </td>
                <td className="num p-3 text-right">{s.activeConns}</td>
                <td className="num p-3 text-right">{fmtBytes(s.bps)}/s</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2 className="mb-2 text-lg font-semibold">
          Alerts{" "}
          <Link href="/alerts" className="text-sm font-normal text-blue-700 hover:underline">
            rules
          </Link>
        </h2>
        <ul className="divide-y divide-slate-100 rounded-xl border border-slate-200 bg-white text-sm" data-testid="alerts">
          {alerts.data?.length === 0 && <li className="p-3 text-slate-500">Nothing is firing.</li>}
          {alerts.data?.map((a) => (
            <li key={`${a.rule}|${a.agent}|${a.target}`} className="flex gap-3 p-3">
              <span className="w-40 shrink-0 font-medium text-red-700">{a.rule}</span>
              <span className="w-24 shrink-0 text-slate-500">{a.agent}</span>
              <span className="text-slate-700">{a.message}</span>
            </li>
          ))}
        </ul>
      </section>
      <section>
        <h2 className="mb-2 text-lg font-semibold">Recent events</h2>
        <ul className="divide-y divide-slate-100 rounded-xl border border-slate-200 bg-white text-sm" data-testid="events">
          {data.events.length === 0 && <li className="p-3 text-slate-500">No events yet.</li>}
          {data.events.map((e) => (
            <li key={`${e.agentName}-${e.id}`} className="flex gap-3 p-3">
              <span className="num w-20 shrink-0 text-slate-500">{new Date(e.at).toLocaleTimeString()}</span>
              <span className="w-40 shrink-0 font-mono text-xs">{e.name}</span>
              <span className="text-slate-700">{describeEvent(e.payload)}</span>
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}

function describeEvent(p: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const k of ["service", "realServer", "from", "to", "reason", "summary"]) if (p[k] !== undefined) parts.push(`${k}: ${Array.isArray(p[k]) ? (p[k] as string[]).join(", ") : String(p[k])}`);
  return parts.join(" · ");
}
