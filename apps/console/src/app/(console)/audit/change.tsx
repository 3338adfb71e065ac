"use client";
/**
 * An audit entry's before/after, compactly: for two objects only the fields that changed ("role: viewer →
 * admin"); for a creation the new fields, for a removal the old ones; anything else as short JSON. The full JSON
 * of both sides opens on demand.
 */
import { useState } from "react";

/** A stored side, or undefined for none (the store keeps a missing side as SQL NULL and a null one as "null"). */
function parse(s: string | null): unknown {
  if (s === null) return undefined;
  try {
    return JSON.parse(s) ?? undefined;
  } catch {
    return s;
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function short(v: unknown, max = 48): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s === undefined ? "–" : s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export function ChangeSummary({ before, after }: { before: string | null; after: string | null }) {
  const [open, setOpen] = useState(false);
  const b = parse(before);
  const a = parse(after);
  if (b === undefined && a === undefined) return <span className="text-slate-400">–</span>;
  let lines: { key: string; from?: string; to?: string }[] = [];
  if (isObj(b) && isObj(a)) {
    for (const k of new Set([...Object.keys(b), ...Object.keys(a)]))
      if (JSON.stringify(b[k]) !== JSON.stringify(a[k])) lines.push({ key: k, ...(k in b ? { from: short(b[k]) } : {}), ...(k in a ? { to: short(a[k]) } : {}) });
    if (lines.length === 0) lines = [{ key: "(no change)" }];
  } else if (isObj(a) && b === undefined) {
    lines = Object.entries(a).map(([k, v]) => ({ key: k, to: short(v) }));
  } else if (isObj(b) && a === undefined) {
    lines = Object.entries(b).map(([k, v]) => ({ key: k, from: short(v) }));
  } else {
    lines = [{ key: "", ...(b !== undefined ? { from: short(b, 80) } : {}), ...(a !== undefined ? { to: short(a, 80) } : {}) }];
  }
  const shown = lines.slice(0, 8);
  // Changes (from → to) read best one per line; plain field lists flow on, to keep rows short.
  const diff = lines.some((l) => l.from !== undefined && l.to !== undefined);
  return (
    <div className="text-xs" data-testid="audit-change">
      <ul className={`font-mono ${diff ? "space-y-0.5" : "flex flex-wrap gap-x-3 gap-y-0.5"}`}>
        {shown.map((l) => (
          <li key={l.key} className="break-all">
            {l.key && <span className="text-slate-500">{l.key}: </span>}
            {l.from !== undefined && <span className={l.to !== undefined ? "text-red-700 line-through decoration-red-300" : "text-slate-500 line-through"}>{l.from}</span>}
            {l.from !== undefined && l.to !== undefined && <span className="text-slate-400"> → </span>}
            {l.to !== undefined && <span className="text-green-800">{l.to}</span>}
          </li>
        ))}
        {lines.length > shown.length && <li className="text-slate-400">… {lines.length - shown.length} more</li>}
      </ul>
      <button type="button" className="mt-0.5 text-[11px] text-slate-500 underline decoration-dotted hover:text-slate-900" onClick={() => setOpen((o) => !o)} aria-expanded={open}>
        {open ? "hide JSON" : "JSON"}
      </button>
      {open && (
        <div className="mt-1 grid gap-2 md:grid-cols-2">
          {(["before", "after"] as const).map((side) => (
            <div key={side}>
              <div className="text-[11px] font-medium uppercase text-slate-500">{side}</div>
              <pre className="max-h-64 overflow-auto rounded bg-slate-50 p-2 text-[11px] leading-snug">{JSON.stringify(side === "before" ? b : a, null, 2) ?? "null"}</pre>
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
