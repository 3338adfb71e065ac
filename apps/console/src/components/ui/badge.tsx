/** Small status labels. Tones follow the overview: green healthy, amber draining, indigo maintenance, red down. */
export type BadgeTone = "green" | "amber" | "red" | "indigo" | "blue" | "slate";

const TONES: Record<BadgeTone, string> = {
  green: "bg-green-100 text-green-800",
  amber: "bg-amber-100 text-amber-800",
  red: "bg-red-100 text-red-800",
  indigo: "bg-indigo-100 text-indigo-800",
  blue: "bg-blue-100 text-blue-800",
  slate: "bg-slate-100 text-slate-700",
};

export function Badge({ tone = "slate", children, title, className = "" }: { tone?: BadgeTone; children: React.ReactNode; title?: string; className?: string }) {
  return (
    <span title={title} className={`inline-flex items-center whitespace-nowrap rounded px-1.5 py-0.5 text-xs font-medium ${TONES[tone]} ${className}`}>
      {children}
    </span>
  );
}
