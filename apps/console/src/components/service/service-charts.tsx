"use client";
/**
 * Connections and throughput over time, stacked per real server: the top 8 by load plus "others" (the service
 * total minus those 8, so the stack always adds up to the service). The history comes from the agent
 * (`virtualService.history`, averaged by the API into 150-180 buckets), live points from the frames are
 * appended after each series' last history point. Bucket sizes match the API's: 2 s (5 min), 20 s (1 h),
 * 8 min (24 h). A chart's data is rebuilt only when a new bucket starts, the throughput chart half a bucket
 * after the connections chart, so that one frame never pays for two recharts updates; animations are off.
 */
import { useQueries } from "@tanstack/react-query";
import { memo, useMemo } from "react";
import { Area, AreaChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { fmtBytes, fmtRate } from "~/lib/format";
import { useTRPC } from "~/lib/trpc";
import type { LiveBuffer, Values } from "./live-buffer";
import { fmtClock, fmtDateTime, type ServiceKey } from "./model";

export type Range = "5m" | "1h" | "24h";
export type ConnMetric = "active" | "cps";

/**
 * 100-120 points per chart (4-5 px each at the chart's width). A chart re-renders when a bucket starts, so the
 * step is also its refresh period: 3 s for 5 min keeps recharts (~30 ms a render with 9 stacked series) to a
 * third of the updates, the two charts taking turns (the throughput chart's buckets are offset by half a step).
 */
export const RANGES: Record<Range, { label: string; ms: number; step: number; maxPoints: number }> = {
  "5m": { label: "5 min", ms: 5 * 60_000, step: 3000, maxPoints: 100 },
  "1h": { label: "1 h", ms: 3600_000, step: 30_000, maxPoints: 120 },
  "24h": { label: "24 h", ms: 24 * 3600_000, step: 720_000, maxPoints: 120 },
};

export const SERIES_COLORS = ["#2563eb", "#0891b2", "#9333ea", "#db2777", "#65a30d", "#ea580c", "#0f766e", "#a16207"];
const OTHERS_COLOR = "#94a3b8";

/** The colour at 35% over white, opaque (the drawn bands overlap, so they cannot be translucent). */
function tint(hex: string): string {
  const v = Number.parseInt(hex.slice(1), 16);
  const mix = (c: number) => Math.round(c * 0.35 + 255 * 0.65);
  return `rgb(${mix(v >> 16)}, ${mix((v >> 8) & 255)}, ${mix(v & 255)})`;
}

type Field = "activeConns" | "inactiveConns" | "cps" | "inBps" | "outBps";
interface History {
  t: number[];
  series: Record<Field, (number | null)[]>;
}

/** s<k>: real server k's value; c<k>: the stack up to and including it (what is drawn); others / cOthers likewise. */
type Row = Record<string, number | undefined> & { t: number };

/** What a chart plots, from history columns and from live values. */
interface Pick {
  hist: (h: History, j: number) => number | null;
  live: (v: Values) => number;
}
const PICKS: Record<"active" | "cps" | "bps", Pick> = {
  active: { hist: (h, j) => h.series.activeConns[j] ?? null, live: (v) => v[0] },
  cps: { hist: (h, j) => h.series.cps[j] ?? null, live: (v) => v[2] },
  bps: {
    hist: (h, j) => {
      const a = h.series.inBps[j];
      const b = h.series.outBps[j];
      return a === null || a === undefined || b === null || b === undefined ? null : a + b;
    },
    live: (v) => v[3] + v[4],
  },
};

/**
 * Buckets history and live points into rows {t, s0..s7, others}. A bucket without a service point is a gap
 * (all undefined); a charted real server without a point in a bucket counts as 0 there, which "others" absorbs.
 */
function buildRows(range: Range, now: number, total: History | undefined, members: readonly string[], hist: (History | undefined)[], buffer: LiveBuffer, pick: Pick, withOthers: boolean): Row[] {
  const { ms, step } = RANGES[range];
  const n = Math.round(ms / step);
  const from = Math.floor(now / step) * step - (n - 1) * step;
  const m = members.length;
  const sums = new Float64Array((m + 1) * n);
  const cnts = new Uint32Array((m + 1) * n);
  const ends = new Float64Array(m + 1).fill(Number.NEGATIVE_INFINITY);
  const add = (s: number, t: number, v: number | null) => {
    if (v === null) return;
    const b = Math.floor((t - from) / step);
    if (b < 0 || b >= n) return;
    sums[s * n + b]! += v;
    cnts[s * n + b]!++;
  };
  const series = [total, ...hist];
  series.forEach((h, s) => {
    if (!h) return;
    for (let j = 0; j < h.t.length; j++) add(s, h.t[j]!, pick.hist(h, j));
    if (h.t.length) ends[s] = h.t[h.t.length - 1]!;
  });
  for (const p of buffer.points) {
    if (p.t < from) continue;
    if (p.t > ends[0]!) add(0, p.t, pick.live(p.total));
    for (let k = 0; k < m; k++) {
      const v = p.t > ends[k + 1]! ? p.rs.get(members[k]!) : undefined;
      if (v) add(k + 1, p.t, pick.live(v));
    }
  }
  const rows: Row[] = new Array(n);
  for (let b = 0; b < n; b++) {
    const row: Row = { t: from + b * step };
    const c = cnts[b]!;
    if (c > 0) {
      const tot = sums[b]! / c;
      let sum = 0;
      for (let k = 0; k < m; k++) {
        const i = (k + 1) * n + b;
        const v = cnts[i]! ? sums[i]! / cnts[i]! : 0;
        row[`s${k}`] = v;
        sum += v;
        row[`c${k}`] = sum;
      }
      if (withOthers) {
        row.others = Math.max(0, tot - sum);
        row.cOthers = Math.max(tot, sum);
      }
    }
    rows[b] = row;
  }
  return rows;
}

const fmtConns = (n: number) => fmtRate(n).replace(/\.0$/, "");
const fmtBps = (n: number) => fmtBytes(n);

// Intl formatters are costly to build: one each, reused for every tick and tooltip.
const TIME_M = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fmtTick: Record<Range, (t: number) => string> = { "5m": fmtClock, "1h": (t) => TIME_M.format(t), "24h": (t) => TIME_M.format(t) };
const fmtLabel = (t: unknown) => fmtDateTime(Number(t));

/** Round-time ticks (every minute for 5 min, 10 min for 1 h, 4 h for 24 h), computed once per bucket. */
const TICK_EVERY: Record<Range, number> = { "5m": 60_000, "1h": 600_000, "24h": 4 * 3600_000 };
function ticksOf(range: Range, first: number, last: number): number[] {
  const e = TICK_EVERY[range];
  const out: number[] = [];
  // Not at the very edges, where a label would be cut off.
  const margin = (last - first) * 0.04;
  for (let t = Math.ceil((first + margin) / e) * e; t <= last - margin; t += e) out.push(t);
  return out;
}

const StackedChart = memo(function StackedChart({ title, rows, members, withOthers, range, fmt, testId }: { title: string; rows: Row[]; members: readonly string[]; withOthers: boolean; range: Range; fmt: (n: number) => string; testId: string }) {
  const first = rows[0]?.t ?? 0;
  const last = rows[rows.length - 1]?.t ?? 0;
  const ticks = ticksOf(range, first, last);
  return (
    <div data-testid={testId}>
      <div className="mb-1 text-xs font-medium uppercase tracking-wide text-slate-500">{title}</div>
      <ResponsiveContainer width="100%" height={170}>
        <AreaChart data={rows} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#e2e8f0" strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="t" type="number" domain={[first, last]} scale="time" ticks={ticks} interval={0} tickFormatter={fmtTick[range]} fontSize={11} stroke="#94a3b8" tickMargin={4} />
          <YAxis tickFormatter={fmt} width={58} fontSize={11} stroke="#94a3b8" allowDecimals={false} />
          <Tooltip
            isAnimationActive={false}
            labelFormatter={fmtLabel}
            formatter={(_v, name, item) => {
              const row = item.payload as Row;
              const k = members.indexOf(String(name));
              return fmt(Number((k >= 0 ? row[`s${k}`] : row.others) ?? 0));
            }}
            contentStyle={{ fontSize: 12, padding: "4px 8px" }}
            itemStyle={{ padding: 0 }}
          />
          {/* Stacked by hand: each band is drawn from 0 to its cumulative value, the largest first, in opaque tints,
              which looks like a stack without recharts' stacking pass (the costliest part of an update). */}
          {withOthers && <Area dataKey="cOthers" name="others" type="linear" stroke={OTHERS_COLOR} fill={tint(OTHERS_COLOR)} fillOpacity={1} strokeWidth={1} isAnimationActive={false} dot={false} activeDot={false} />}
          {members
            .map((a, k) => (
              <Area
                key={a}
                dataKey={`c${k}`}
                name={a}
                type="linear"
                stroke={SERIES_COLORS[k]}
                fill={tint(SERIES_COLORS[k]!)}
                fillOpacity={1}
                strokeWidth={1.25}
                isAnimationActive={false}
                dot={false}
                activeDot={false}
              />
            ))
            .reverse()}
        </AreaChart>
      </ResponsiveContainer>
    </div>
  );
});

export interface ServiceChartsProps {
  agentId: string;
  serviceKey: ServiceKey;
  /** Agent time of the latest frame. */
  now: number;
  members: readonly string[];
  /** Number of real servers in the service (others are shown when there are more than the charted ones). */
  total: number;
  buffer: LiveBuffer;
  range: Range;
  onRange: (r: Range) => void;
  metric: ConnMetric;
  onMetric: (m: ConnMetric) => void;
  stale: boolean;
}

export function ServiceCharts({ agentId, serviceKey, now, members, total, buffer, range, onRange, metric, onMetric, stale }: ServiceChartsProps) {
  const trpc = useTRPC();
  const r = RANGES[range];
  const opts = { staleTime: Number.POSITIVE_INFINITY, refetchInterval: 5 * 60_000, refetchOnWindowFocus: false } as const;
  const queries = useQueries({
    queries: [
      trpc.virtualService.history.queryOptions({ agentId, key: serviceKey, range, maxPoints: r.maxPoints }, opts),
      ...members.map((a) => trpc.virtualService.history.queryOptions({ agentId, key: serviceKey, range, maxPoints: r.maxPoints, realServer: a }, opts)),
    ],
  });
  const totalH = queries[0]?.data as History | undefined;
  const memberH = queries.slice(1).map((q) => q.data as History | undefined);
  // A real server's history failing only leaves its past at 0 (absorbed by "others"); the service's is worth saying.
  const error = queries[0]?.error;
  const loading = queries[0]?.isPending ?? true;
  const withOthers = total > members.length;
  const bucket = Math.floor(now / r.step);
  const bpsBucket = Math.floor((now - r.step / 2) / r.step);
  const histKey = memberH.map((h) => (h ? h.t.length : -1)).join(",");

  // Rebuilt when a bucket starts, the range or the members change, or a history arrives (histKey, totalH).
  // biome-ignore lint/correctness/useExhaustiveDependencies: bucket stands for `now` and the buffer's growth; histKey for memberH
  const connRows = useMemo(() => buildRows(range, now, totalH, members, memberH, buffer, PICKS[metric], withOthers), [range, bucket, totalH, members, histKey, metric, withOthers, buffer]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: as above, with its own bucket clock
  const bpsRows = useMemo(() => buildRows(range, now, totalH, members, memberH, buffer, PICKS.bps, withOthers), [range, bpsBucket, totalH, members, histKey, withOthers, buffer]);

  // Say where the agent's history begins when that is well inside the range (an agent restarted recently).
  const firstData = connRows.find((x) => x.cOthers !== undefined || x.c0 !== undefined)?.t;
  const since = firstData !== undefined && firstData - (connRows[0]?.t ?? firstData) > r.ms * 0.1 ? firstData : null;
  const btn = (on: boolean) => `rounded px-2 py-0.5 text-xs ${on ? "bg-slate-900 text-white" : "text-slate-600 hover:bg-slate-100"}`;
  return (
    <section className="rounded-xl border border-slate-200 bg-white p-4" aria-label="Charts" data-testid="charts">
      <div className="mb-2 flex flex-wrap items-center gap-2">
        <h2 className="text-lg font-semibold">Load over time</h2>
        {stale && <span className="rounded bg-slate-200 px-1.5 py-0.5 text-xs text-slate-700">stale</span>}
        {since !== null && (
          <span className="text-xs text-slate-500" data-testid="history-since">
            history from {fmtLabel(since)}
          </span>
        )}
        <fieldset className="ml-auto flex items-center gap-1 rounded-md border border-slate-200 p-0.5">
          <legend className="sr-only">Connections metric</legend>
          {(["active", "cps"] as const).map((m) => (
            <button key={m} type="button" className={btn(metric === m)} aria-pressed={metric === m} onClick={() => onMetric(m)} data-testid={`metric-${m}`}>
              {m === "active" ? "Active conns" : "Conn/s"}
            </button>
          ))}
        </fieldset>
        <fieldset className="flex items-center gap-1 rounded-md border border-slate-200 p-0.5">
          <legend className="sr-only">Time range</legend>
          {(Object.keys(RANGES) as Range[]).map((k) => (
            <button key={k} type="button" className={btn(range === k)} aria-pressed={range === k} onClick={() => onRange(k)} data-testid={`range-${k}`}>
              {RANGES[k].label}
            </button>
          ))}
        </fieldset>
      </div>
      {error && <p className="mb-2 rounded bg-amber-50 px-2 py-1 text-xs text-amber-800">History unavailable: {error.message}. Showing live points only.</p>}
      <div className={`space-y-3 ${loading ? "opacity-60" : ""}`}>
        <StackedChart title={metric === "active" ? "Active connections" : "New connections per second"} rows={connRows} members={members} withOthers={withOthers} range={range} fmt={metric === "active" ? fmtConns : fmtRate} testId="chart-conns" />
        <StackedChart title="Throughput (bytes/s, in + out)" rows={bpsRows} members={members} withOthers={withOthers} range={range} fmt={fmtBps} testId="chart-bps" />
      </div>
      <ul className="mt-2 flex flex-wrap gap-x-3 gap-y-1 text-xs text-slate-600" aria-label="Legend" data-testid="chart-legend">
        {members.map((a, k) => (
          <li key={a} className="inline-flex items-center gap-1 font-mono">
            <span className="inline-block size-2.5 rounded-sm" style={{ background: SERIES_COLORS[k] }} />
            {a}
          </li>
        ))}
        {withOthers && (
          <li className="inline-flex items-center gap-1">
            <span className="inline-block size-2.5 rounded-sm" style={{ background: OTHERS_COLOR }} />
            others ({total - members.length})
          </li>
        )}
      </ul>
    </section>
  );
}
