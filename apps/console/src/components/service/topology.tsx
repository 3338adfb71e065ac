"use client";
/**
 * The service as a picture: clients → VIP → real servers. An edge's width follows the real server's share of
 * the load (conn/s, or active connections when nothing new arrives), its colour the real server's condition;
 * maintenance and down edges are dashed. Above 24 real servers the busiest 15 are drawn and the rest become one
 * "N more" node with their summed load and a condition bar, so the picture stays readable at 1,000.
 */
import { memo } from "react";
import { fmtRate } from "~/lib/format";
import { CONDITION_COLOR, CONDITIONS, type RealServerCondition, type RealServerRow, compareAddress, topByLoad } from "./model";

const MAX_ALL = 24;
const SHOWN_WHEN_AGGREGATED = 15;
const W = 520;

interface Node {
  key: string;
  label: string;
  condition: RealServerCondition | "mixed";
  counts?: Record<RealServerCondition, number>;
  active: number;
  cps: number;
  dashed: boolean;
  address: string | null;
}

function nodesOf(rows: RealServerRow[]): Node[] {
  const one = (r: RealServerRow): Node => ({
    key: r.rs.address,
    label: r.rs.address,
    condition: r.rs.condition,
    active: r.activeConns,
    cps: r.cps,
    dashed: r.rs.condition === "maintenance" || r.rs.condition === "down",
    address: r.rs.address,
  });
  if (rows.length <= MAX_ALL) return rows.map(one);
  const top = new Set(topByLoad(rows, SHOWN_WHEN_AGGREGATED));
  const shown = rows.filter((_, i) => top.has(i)).sort((a, b) => compareAddress(a.rs.address, b.rs.address));
  const counts: Record<RealServerCondition, number> = { healthy: 0, draining: 0, maintenance: 0, down: 0 };
  let active = 0;
  let cps = 0;
  rows.forEach((r, i) => {
    if (top.has(i)) return;
    counts[r.rs.condition]++;
    active += r.activeConns;
    cps += r.cps;
  });
  const rest = rows.length - shown.length;
  return [...shown.map(one), { key: "more", label: `${rest} more real servers`, condition: "mixed", counts, active, cps, dashed: false, address: null }];
}

export const Topology = memo(function Topology({ rows, vip, stale, onSelect }: { rows: RealServerRow[]; vip: string; stale: boolean; onSelect: (address: string | null) => void }) {
  const nodes = nodesOf(rows);
  const byCps = rows.some((r) => r.cps > 0);
  const load = (n: Node) => (byCps ? n.cps : n.active);
  const max = Math.max(1e-9, ...nodes.map(load));
  const totalCps = rows.reduce((s, r) => s + r.cps, 0);
  const totalActive = rows.reduce((s, r) => s + r.activeConns, 0);
  const gap = Math.max(20, Math.min(54, 400 / Math.max(1, nodes.length)));
  const H = Math.max(240, nodes.length * gap + 24);
  const y0 = (H - nodes.length * gap) / 2;
  const cy = H / 2;
  const vipX = 170;
  const nodeX = 270;
  const nodeW = W - nodeX - 2;
  const nodeH = Math.min(32, gap - 6);
  const font = nodeH < 18 ? 10 : 12;
  const colour = (c: Node["condition"]) => (stale ? CONDITION_COLOR.stale : c === "mixed" ? "#64748b" : CONDITION_COLOR[c]);
  const clientW = !stale && (byCps ? totalCps : totalActive) > 0 ? 9 : 1.5;

  return (
    <figure className="m-0" data-testid="topology">
      <svg viewBox={`0 0 ${W} ${H}`} className="h-auto w-full" role="img" aria-label={`Topology: clients to ${vip} to ${rows.length} real servers`}>
        {/* clients → VIP */}
        <line x1={64} y1={cy} x2={vipX - 56} y2={cy} stroke={stale ? "#cbd5e1" : "#64748b"} strokeWidth={clientW} />
        <polygon points={`${vipX - 58},${cy - 8} ${vipX - 44},${cy} ${vipX - 58},${cy + 8}`} fill={stale ? "#cbd5e1" : "#64748b"} />
        <text x={(66 + vipX - 46) / 2} y={cy - 12} textAnchor="middle" fontSize={11} fill="#475569" className="num">
          {stale ? "stale" : byCps ? `${fmtRate(totalCps)} conn/s` : `${totalActive} active`}
        </text>
        <g>
          <circle cx={36} cy={cy} r={26} fill="#f1f5f9" stroke="#94a3b8" />
          {[-7, 0, 7].map((dx) => (
            <g key={dx} transform={`translate(${36 + dx}, ${cy - 6 + Math.abs(dx) * 0.3})`}>
              <circle r={3.2} fill="#64748b" />
              <path d="M-5,9 a5,5 0 0 1 10,0 z" fill="#64748b" />
            </g>
          ))}
          <text x={36} y={cy + 42} textAnchor="middle" fontSize={11} fill="#334155">
            clients
          </text>
        </g>
        {/* VIP → real servers */}
        {nodes.map((n, i) => {
          const y = y0 + gap * i + gap / 2;
          const w = n.dashed ? 1 : 1.5 + 10 * (load(n) / max);
          return (
            <path
              key={`e-${n.key}`}
              d={`M${vipX + 40},${cy} C${vipX + 90},${cy} ${nodeX - 60},${y} ${nodeX},${y}`}
              fill="none"
              stroke={colour(n.condition)}
              strokeOpacity={n.dashed ? 0.6 : 0.75}
              strokeWidth={w}
              strokeDasharray={n.dashed ? "4 3" : undefined}
              data-testid={`topo-edge-${n.key}`}
            />
          );
        })}
        <g>
          <rect x={vipX - 42} y={cy - 26} width={84} height={52} rx={10} fill="#0f172a" />
          <text x={vipX} y={cy - 6} textAnchor="middle" fontSize={12} fontWeight={600} fill="#fff">
            VIP
          </text>
          <text x={vipX} y={cy + 11} textAnchor="middle" fontSize={9.5} fill="#cbd5e1" className="font-mono">
            {vip}
          </text>
        </g>
        {nodes.map((n, i) => {
          const y = y0 + gap * i + gap / 2;
          const clickable = n.address !== null || n.key === "more";
          return (
            // biome-ignore lint/a11y/useSemanticElements: an SVG node cannot be a <button>; role + key handler make it one
            <g
              key={n.key}
              transform={`translate(${nodeX}, ${y - nodeH / 2})`}
              data-testid={`topo-node-${n.key}`}
              role="button"
              tabIndex={clickable ? 0 : -1}
              aria-label={n.address ? `show ${n.address} in the table` : "show all real servers"}
              className="cursor-pointer outline-none [&:focus>rect:first-child]:stroke-slate-900 [&:hover>rect:first-child]:stroke-slate-500"
              onClick={() => onSelect(n.address)}
              onKeyDown={(e) => {
                if (e.key === "Enter" || e.key === " ") onSelect(n.address);
              }}
            >
              <title>{`${n.label}: ${n.condition}${n.counts ? ` (${CONDITIONS.map((c) => `${n.counts?.[c]} ${c}`).join(", ")})` : ""}, ${n.active} active, ${fmtRate(n.cps)} conn/s`}</title>
              <rect width={nodeW} height={nodeH} rx={5} fill="#fff" stroke="#cbd5e1" />
              {n.counts ? (
                (() => {
                  const total = CONDITIONS.reduce((s, c) => s + (n.counts?.[c] ?? 0), 0) || 1;
                  let x = 0;
                  return CONDITIONS.map((c) => {
                    const h = (nodeH * (n.counts?.[c] ?? 0)) / total;
                    const el = h > 0 ? <rect key={c} x={0} y={x} width={5} height={h} fill={colour(c)} /> : null;
                    x += h;
                    return el;
                  });
                })()
              ) : (
                <rect width={5} height={nodeH} rx={1.5} fill={colour(n.condition)} />
              )}
              <text x={12} y={nodeH / 2 + font * 0.36} fontSize={font} fill="#0f172a" className={n.address ? "font-mono" : ""} fontStyle={n.address ? undefined : "italic"}>
                {n.label}
              </text>
              <text x={nodeW - 8} y={nodeH / 2 + font * 0.36} fontSize={font - 1} fill={stale ? "#94a3b8" : "#475569"} textAnchor="end" className="num">
                {stale ? "–" : `${n.active} act · ${fmtRate(n.cps)}/s`}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption className="mt-1 flex flex-wrap items-center gap-x-3 gap-y-1 text-xs text-slate-500">
        <span>Edge width: {byCps ? "conn/s" : "active connections"}</span>
        {CONDITIONS.map((c) => (
          <span key={c} className="inline-flex items-center gap-1">
            <span className="inline-block h-0.5 w-4" style={{ background: CONDITION_COLOR[c] }} />
            {c}
          </span>
        ))}
        {rows.length > MAX_ALL && <span>· the {SHOWN_WHEN_AGGREGATED} busiest shown</span>}
      </figcaption>
    </figure>
  );
});

/**
 * Does the scheduler do what the weights say? Per real server, its share of new connections (or of active
 * ones when nothing new arrives) as a bar, and the share its weight promises as a tick. For up to 24 real servers.
 */
export const ShareBars = memo(function ShareBars({ rows, scheduler, stale }: { rows: RealServerRow[]; scheduler: string; stale: boolean }) {
  if (rows.length > MAX_ALL || rows.length === 0) return null;
  const byCps = rows.some((r) => r.cps > 0);
  const val = (r: RealServerRow) => (byCps ? r.cps : r.activeConns);
  const total = rows.reduce((s, r) => s + val(r), 0);
  const unweighted = ["rr", "lc", "dh"].includes(scheduler);
  const eligible = rows.filter((r) => r.rs.available && r.rs.adminState === "active" && !r.rs.overloaded && r.rs.effectiveWeight > 0);
  const wsum = eligible.reduce((s, r) => s + (unweighted ? 1 : r.rs.effectiveWeight), 0);
  return (
    <div className="mt-4 border-t border-slate-100 pt-3" data-testid="share-bars">
      <div className="mb-2 flex items-baseline justify-between text-xs text-slate-500">
        <span className="font-medium uppercase tracking-wide">Share of {byCps ? "new connections" : "active connections"}</span>
        <span>
          bar: actual · tick: by {unweighted ? `${scheduler} (equal)` : "weight"}
        </span>
      </div>
      <ul className="space-y-1.5">
        {rows.map((r) => {
          const actual = total > 0 ? val(r) / total : 0;
          const expected = wsum > 0 && eligible.includes(r) ? (unweighted ? 1 : r.rs.effectiveWeight) / wsum : 0;
          return (
            <li key={r.rs.address} className="grid grid-cols-[8.5rem_1fr_3rem] items-center gap-2 text-xs">
              <span className="truncate font-mono text-slate-700">{r.rs.address}</span>
              <span className="relative h-2.5 rounded-sm bg-slate-100">
                <span className="absolute inset-y-0 left-0 rounded-sm" style={{ width: `${100 * actual}%`, background: stale ? CONDITION_COLOR.stale : CONDITION_COLOR[r.rs.condition], opacity: 0.75 }} />
                <span className="absolute -inset-y-0.5 w-0.5 bg-slate-900" style={{ left: `calc(${100 * expected}% - 1px)` }} title={`by weight: ${Math.round(100 * expected)}%`} />
              </span>
              <span className="num text-right text-slate-600">{stale ? "–" : `${Math.round(100 * actual)}%`}</span>
            </li>
          );
        })}
      </ul>
    </div>
  );
});
