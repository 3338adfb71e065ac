"use client";
/**
 * The real-server table, built to stay smooth with thousands of rows updated once a second:
 *  - windowed: only the rows in view (plus a few) are in the DOM, with spacer rows of a fixed row height above
 *    and below, so the table keeps its real scroll height and its columns;
 *  - each row is memoised and compared by value (the static object by identity: it changes only with `rev`),
 *    so a frame re-renders just the visible rows whose numbers moved.
 * Filtering (address, condition) and sorting (address, connections, conn/s) run on plain arrays per frame.
 */
import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { fmtBytes, fmtDuration, fmtRate } from "~/lib/format";
import { ConditionBadge } from "./condition-badge";
import { CONDITION_BG, CONDITIONS, drainDeadline, filterRows, fmtClock, fmtDateTime, type RealServerCondition, type RealServerRow, type SortKey, type SortSpec, sortRows } from "./model";

export type ActionKind = "drain" | "maintenance" | "activate" | "weight" | "remove";

export const ROW_HEIGHT = 40;
const VIEWPORT = 560;
const OVERSCAN = 6;

interface RowProps {
  row: RealServerRow;
  stale: boolean;
  /** Agent time, for countdowns; 0 for rows without one, so their props stay equal from frame to frame. */
  now: number;
  canOperate: boolean;
  canAdmin: boolean;
  pending: string | undefined;
  onAction: (kind: ActionKind, address: string) => void;
}

function sameRow(a: RowProps, b: RowProps): boolean {
  const x = a.row;
  const y = b.row;
  return (
    x.rs === y.rs &&
    x.activeConns === y.activeConns &&
    x.inactiveConns === y.inactiveConns &&
    x.cps === y.cps &&
    x.inBps === y.inBps &&
    x.outBps === y.outBps &&
    x.latencyMs === y.latencyMs &&
    a.stale === b.stale &&
    a.now === b.now &&
    a.canOperate === b.canOperate &&
    a.canAdmin === b.canAdmin &&
    a.pending === b.pending &&
    a.onAction === b.onAction
  );
}

function healthText(r: RealServerRow): { short: string; title: string } {
  const h = r.rs.health;
  const tags: string[] = [];
  if (r.rs.overloaded) tags.push("overloaded (connection threshold)");
  if (r.rs.ejectedUntil) tags.push(`ejected by passive health until ${fmtClock(r.rs.ejectedUntil)}`);
  if (r.rs.slowStartUntil) tags.push(`slow start until ${fmtClock(r.rs.slowStartUntil)}`);
  if (!h) return { short: tags[0]?.split(" ")[0] ?? (r.rs.available ? "no check" : "unavailable"), title: ["no health check", ...tags].join(" · ") };
  const since = `since ${fmtDateTime(h.since)}`;
  return {
    short: h.state === "down" ? h.reason : (tags[0]?.split(" ")[0] ?? `${h.check} up`),
    title: [`${h.check} check ${h.state}: ${h.reason}`, since, ...tags].join(" · "),
  };
}

function ActionButton({ label, kind, address, onAction, tone = "plain", disabled }: { label: string; kind: ActionKind; address: string; onAction: RowProps["onAction"]; tone?: "plain" | "danger"; disabled?: boolean }) {
  return (
    <button
      type="button"
      disabled={disabled}
      onClick={() => onAction(kind, address)}
      data-testid={`rs-action-${kind}-${address}`}
      className={`rounded border px-1.5 py-0.5 text-[11px] leading-4 disabled:cursor-not-allowed disabled:opacity-40 ${
        tone === "danger" ? "border-red-200 text-red-700 hover:bg-red-50" : "border-slate-300 text-slate-700 hover:bg-slate-100"
      }`}
    >
      {label}
    </button>
  );
}

const Row = memo(function Row({ row, stale, now, canOperate, canAdmin, pending, onAction }: RowProps) {
  const { rs } = row;
  const a = rs.address;
  const ht = healthText(row);
  const deadline = drainDeadline(rs);
  const left = row.activeConns + row.inactiveConns;
  const num = `num px-2 text-right ${stale ? "text-slate-400" : ""}`;
  return (
    <tr className={`whitespace-nowrap border-t border-slate-100 hover:bg-slate-50 ${rs.condition === "down" && !stale ? "bg-red-50/40" : ""}`} style={{ height: ROW_HEIGHT }} data-testid={`rs-row-${a}`} data-condition={rs.condition}>
      <td className="truncate px-3 font-mono text-[13px]" title={`${a} · forward ${rs.forward.toUpperCase()}`}>
        {a}
      </td>
      <td className="px-2">
        <div className="flex min-w-0 items-center gap-1.5" title={ht.title}>
          <ConditionBadge condition={rs.condition} stale={stale} testId={`rs-condition-${a}`} />
          <span className={`truncate text-xs ${rs.health?.state === "down" ? "text-red-700" : "text-slate-500"}`} data-testid={`rs-reason-${a}`}>
            {ht.short}
          </span>
        </div>
      </td>
      <td className="num px-2 text-right" data-testid={`rs-weight-${a}`} title={rs.effectiveWeight !== rs.weight ? `configured ${rs.weight}, the scheduler sees ${rs.effectiveWeight}` : `weight ${rs.weight}`}>
        {rs.weight === 0 ? <span className="text-amber-700">0 quiesced</span> : rs.weight}
        {rs.effectiveWeight !== rs.weight && rs.weight !== 0 && <span className="ml-1 text-xs text-slate-500">→ {rs.effectiveWeight}</span>}
      </td>
      <td className="px-2 text-xs" data-testid={`rs-admin-${a}`}>
        {rs.adminState === "active" ? (
          <span className="text-slate-600">active</span>
        ) : rs.adminState === "draining" ? (
          <div className="leading-tight">
            <div className="whitespace-nowrap">
              <span className="font-medium text-draining">draining</span>
              <span className="num text-slate-700" data-testid={`rs-remaining-${a}`} title="connections left (active + inactive)">
                {" "}
                · {left} left
              </span>
            </div>
            {deadline !== null ? (
              <div className="num text-[11px] text-slate-500" data-testid={`rs-deadline-${a}`} title={`moves to maintenance at ${fmtClock(deadline)}${rs.drain?.thenMaintenance ? " or when idle" : ""}`}>
                → maint. {rs.drain?.thenMaintenance ? "when idle or " : ""}in {fmtDuration(deadline - now)}
              </div>
            ) : (
              <div className="text-[11px] text-slate-500">{rs.drain?.thenMaintenance ? "→ maint. when idle" : "no deadline"}</div>
            )}
          </div>
        ) : (
          <div className="leading-tight">
            <div className="font-medium text-maintenance">maintenance</div>
            {left > 0 && (
              <div className="num text-[11px] text-slate-500">
                {left} left{rs.maintenanceDeadlineSeconds !== null ? ` · closed ${rs.maintenanceDeadlineSeconds} s after entry` : ""}
              </div>
            )}
          </div>
        )}
      </td>
      <td className={num} data-testid={`rs-active-${a}`}>
        {row.activeConns}
      </td>
      <td className={num} data-testid={`rs-inactive-${a}`}>
        {row.inactiveConns}
      </td>
      <td className={num} data-testid={`rs-cps-${a}`}>
        {stale ? "–" : fmtRate(row.cps)}
      </td>
      <td className={`${num} whitespace-nowrap text-xs`} data-testid={`rs-bps-${a}`}>
        {stale ? "–" : `${fmtBytes(row.inBps)} / ${fmtBytes(row.outBps)}`}
      </td>
      <td className={`${num} text-xs`} data-testid={`rs-latency-${a}`}>
        {row.latencyMs === null ? "–" : `${row.latencyMs < 10 ? row.latencyMs.toFixed(1) : Math.round(row.latencyMs)} ms`}
      </td>
      {canOperate && (
        <td className="px-2">
          {pending ? (
            // Not optimistic: the state cells keep showing what the agent reports until its frames show the change.
            <div className="flex items-center justify-end gap-1.5 text-xs text-blue-700" data-testid={`rs-pending-${a}`} title="sent; waiting for the agent to report it">
              <span className="inline-block size-2 animate-pulse rounded-full bg-blue-500" />
              {pending}
            </div>
          ) : (
            <div className="flex justify-end gap-1 whitespace-nowrap">
              {rs.adminState === "active" && <ActionButton label="Drain" kind="drain" address={a} onAction={onAction} disabled={stale} />}
              {rs.adminState !== "maintenance" && <ActionButton label="Maint." kind="maintenance" address={a} onAction={onAction} disabled={stale} />}
              {rs.adminState !== "active" && <ActionButton label="Activate" kind="activate" address={a} onAction={onAction} disabled={stale} />}
              <ActionButton label="Weight" kind="weight" address={a} onAction={onAction} disabled={stale} />
              {canAdmin && <ActionButton label="Remove" kind="remove" address={a} onAction={onAction} tone="danger" disabled={stale} />}
            </div>
          )}
        </td>
      )}
    </tr>
  );
}, sameRow);

function SortHeader({ label, k, sort, onSort, className }: { label: string; k: SortKey; sort: SortSpec; onSort: (k: SortKey) => void; className?: string }) {
  const active = sort.key === k;
  return (
    <th className={`sticky top-0 z-10 bg-white px-2 py-2 font-medium ${className ?? ""}`} aria-sort={active ? (sort.desc ? "descending" : "ascending") : "none"}>
      <button type="button" className={`inline-flex items-center gap-1 uppercase hover:text-slate-900 ${active ? "text-slate-900" : ""}`} onClick={() => onSort(k)} data-testid={`sort-${k}`}>
        {label}
        <span className="text-[10px]">{active ? (sort.desc ? "▼" : "▲") : "↕"}</span>
      </button>
    </th>
  );
}

export interface RealServerTableProps {
  rows: RealServerRow[];
  /** The static part's fingerprint: the address order changes only with it. */
  rev: string;
  counts: Record<RealServerCondition, number>;
  stale: boolean;
  now: number;
  canOperate: boolean;
  canAdmin: boolean;
  pending: Record<string, string>;
  onAction: (kind: ActionKind, address: string) => void;
  filter: string;
  onFilter: (text: string) => void;
  toolbar?: React.ReactNode;
}

export function RealServerTable({ rows, rev, counts, stale, now, canOperate, canAdmin, pending, onAction, filter, onFilter, toolbar }: RealServerTableProps) {
  const [only, setOnly] = useState<RealServerCondition | null>(null);
  const [sort, setSort] = useState<SortSpec>({ key: "address", desc: false });
  const [first, setFirst] = useState(0);
  const scroller = useRef<HTMLDivElement>(null);

  // Sorting 1,000 addresses every frame is wasted work: their order is computed once per static part.
  // biome-ignore lint/correctness/useExhaustiveDependencies: rev stands for the static part the rows carry
  const byAddress = useMemo(() => sortRows(rows, { key: "address", desc: false }).map((r) => r.i), [rev, rows.length]);
  const shown = useMemo(() => {
    const f = filterRows(rows, filter, only);
    if (sort.key !== "address" || byAddress.length !== rows.length) return sortRows(f, sort);
    const keep = f === rows ? null : new Set(f.map((r) => r.i));
    const out: RealServerRow[] = [];
    for (const i of byAddress) if (!keep || keep.has(i)) out.push(rows[i]!);
    return sort.desc ? out.reverse() : out;
  }, [rows, filter, only, sort, byAddress]);

  const onSort = useCallback((k: SortKey) => setSort((s) => (s.key === k ? { key: k, desc: !s.desc } : { key: k, desc: k !== "address" })), []);
  const onScroll = useCallback((e: React.UIEvent<HTMLDivElement>) => setFirst(Math.floor(e.currentTarget.scrollTop / ROW_HEIGHT)), []);

  // A new filter shows its first rows.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the filter changes, reads nothing else
  useEffect(() => {
    if (scroller.current) scroller.current.scrollTop = 0;
    setFirst(0);
  }, [filter, only]);

  const start = Math.max(0, first - OVERSCAN);
  const end = Math.min(shown.length, first + Math.ceil(VIEWPORT / ROW_HEIGHT) + OVERSCAN);
  const cols = canOperate ? 10 : 9;

  return (
    <section className="rounded-xl border border-slate-200 bg-white" aria-label="Real servers">
      <div className="flex flex-wrap items-center gap-3 border-b border-slate-200 px-4 py-3">
        <h2 className="text-lg font-semibold">Real servers</h2>
        <input
          type="search"
          value={filter}
          onChange={(e) => onFilter(e.target.value)}
          placeholder="Filter: address or condition"
          aria-label="Filter real servers by address or condition"
          className="w-64 rounded-md border border-slate-300 px-2.5 py-1 text-sm"
          data-testid="rs-filter"
        />
        <fieldset className="flex gap-1">
          <legend className="sr-only">Show only</legend>
          {CONDITIONS.map((c) => (
            <button
              key={c}
              type="button"
              aria-pressed={only === c}
              onClick={() => setOnly((o) => (o === c ? null : c))}
              data-testid={`rs-only-${c}`}
              className={`inline-flex items-center gap-1.5 rounded-full border px-2 py-0.5 text-xs ${only === c ? "border-slate-900 bg-slate-900 text-white" : "border-slate-300 text-slate-700 hover:bg-slate-100"}`}
            >
              <span className={`size-2 rounded-full ${CONDITION_BG[c]}`} />
              {c} <span className="num">{counts[c]}</span>
            </button>
          ))}
        </fieldset>
        <span className="num text-xs text-slate-500" data-testid="rs-shown">
          {shown.length === rows.length ? `${rows.length} real servers` : `${shown.length} of ${rows.length} shown`}
        </span>
        {Object.entries(pending)
          .filter(([addr]) => !rows.some((r) => r.rs.address === addr))
          .map(([addr, label]) => (
            <span key={addr} className="inline-flex items-center gap-1.5 text-xs text-blue-700" data-testid={`rs-pending-${addr}`}>
              <span className="inline-block size-2 animate-pulse rounded-full bg-blue-500" />
              {addr}: {label}
            </span>
          ))}
        <div className="ml-auto">{toolbar}</div>
      </div>
      <div ref={scroller} onScroll={onScroll} className="overflow-auto" style={{ maxHeight: VIEWPORT }} data-testid="rs-scroller">
        <table className="w-full min-w-[1130px] table-fixed text-sm" data-testid="rs-table">
          <colgroup>
            <col />
            <col style={{ width: canOperate ? 150 : 300 }} />
            <col style={{ width: 72 }} />
            <col style={{ width: 160 }} />
            <col style={{ width: 66 }} />
            <col style={{ width: 64 }} />
            <col style={{ width: 68 }} />
            <col style={{ width: 108 }} />
            <col style={{ width: 60 }} />
            {canOperate && <col style={{ width: canAdmin ? 232 : 178 }} />}
          </colgroup>
          <thead className="whitespace-nowrap text-left text-xs uppercase text-slate-500">
            <tr>
              <SortHeader label="Address" k="address" sort={sort} onSort={onSort} className="pl-3" />
              <th className="sticky top-0 z-10 bg-white px-2 py-2 font-medium">Condition</th>
              <th className="sticky top-0 z-10 bg-white px-2 py-2 text-right font-medium">Weight</th>
              <th className="sticky top-0 z-10 bg-white px-2 py-2 font-medium">Admin state</th>
              <SortHeader label="Active" k="conns" sort={sort} onSort={onSort} className="text-right" />
              <th className="sticky top-0 z-10 bg-white px-2 py-2 text-right font-medium">Inactive</th>
              <SortHeader label="Conn/s" k="cps" sort={sort} onSort={onSort} className="text-right" />
              <th className="sticky top-0 z-10 bg-white px-2 py-2 text-right font-medium">Bytes/s in/out</th>
              <th className="sticky top-0 z-10 bg-white px-2 py-2 text-right font-medium" title="latency of the last health check">
                Check
              </th>
              {canOperate && <th className="sticky top-0 z-10 bg-white px-2 py-2 text-right font-medium">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {start > 0 && (
              <tr style={{ height: start * ROW_HEIGHT }}>
                <td colSpan={cols} />
              </tr>
            )}
            {shown.slice(start, end).map((r) => {
              const timed = r.rs.adminState === "draining" && r.rs.drain?.deadlineSeconds !== undefined;
              return (
                <Row
                  key={r.rs.address}
                  row={r}
                  stale={stale}
                  now={timed ? now : 0}
                  canOperate={canOperate}
                  canAdmin={canAdmin}
                  pending={pending[r.rs.address]}
                  onAction={onAction}
                />
              );
            })}
            {end < shown.length && (
              <tr style={{ height: (shown.length - end) * ROW_HEIGHT }}>
                <td colSpan={cols} />
              </tr>
            )}
            {shown.length === 0 && (
              <tr>
                <td colSpan={cols} className="p-6 text-center text-slate-500">
                  {rows.length === 0 ? "This virtual service has no real servers." : "No real server matches the filter."}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
