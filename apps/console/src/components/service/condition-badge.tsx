/** A real server's condition as a coloured word (healthy / draining / maintenance / down), greyed when stale. */
import type { RealServerCondition } from "./model";
import { CONDITION_BG } from "./model";

export function ConditionBadge({ condition, stale, title, testId }: { condition: RealServerCondition; stale?: boolean; title?: string; testId?: string }) {
  return (
    <span
      className={`inline-flex items-center rounded px-1.5 py-0.5 text-xs font-medium leading-none text-white ${stale ? "bg-stale" : CONDITION_BG[condition]}`}
      title={title}
      data-testid={testId}
      data-condition={condition}
    >
      {condition}
    </span>
  );
}

/** The proportions of healthy / draining / maintenance / down real servers, as on the overview. */
export function ConditionBar({ counts, stale }: { counts: Record<RealServerCondition, number>; stale?: boolean }) {
  const total = counts.healthy + counts.draining + counts.maintenance + counts.down || 1;
  const parts: RealServerCondition[] = ["healthy", "draining", "maintenance", "down"];
  return (
    <div className="flex h-2 overflow-hidden rounded-full bg-slate-200" role="img" aria-label={parts.map((k) => `${counts[k]} ${k}`).join(", ")}>
      {parts.map((k) => (counts[k] ? <div key={k} className={stale ? "bg-stale" : CONDITION_BG[k]} style={{ width: `${(100 * counts[k]) / total}%`, opacity: stale ? 0.4 + 0.15 * parts.indexOf(k) : 1 }} /> : null))}
    </div>
  );
}
