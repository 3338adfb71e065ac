/** A message box inside a page: information, a warning, an error or a success. */
export type NoticeTone = "info" | "warn" | "error" | "success";

const TONES: Record<NoticeTone, string> = {
  info: "border-slate-200 bg-slate-50 text-slate-700",
  warn: "border-amber-200 bg-amber-50 text-amber-900",
  error: "border-red-200 bg-red-50 text-red-800",
  success: "border-green-200 bg-green-50 text-green-800",
};

export function Notice({ tone = "info", title, children, className = "", ...rest }: { tone?: NoticeTone; title?: React.ReactNode; children?: React.ReactNode; className?: string } & Omit<React.HTMLAttributes<HTMLDivElement>, "title">) {
  return (
    <div role={tone === "error" || tone === "warn" ? "alert" : "status"} className={`rounded-lg border px-4 py-3 text-sm ${TONES[tone]} ${className}`} {...rest}>
      {title && <div className="font-semibold">{title}</div>}
      {children && <div className={title ? "mt-0.5" : ""}>{children}</div>}
    </div>
  );
}
