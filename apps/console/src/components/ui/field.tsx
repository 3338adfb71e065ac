/**
 * Form fields: a label above the control, an optional hint or error below, one input style everywhere.
 * `inputBase` carries no size or padding, so a caller can size a control without two Tailwind classes fighting
 * over one property (the stylesheet's order, not the class order, would decide).
 */
export const inputBase =
  "rounded-md border border-slate-300 bg-white placeholder:text-slate-400 focus:border-slate-500 focus:outline-none focus:ring-2 focus:ring-slate-200 disabled:bg-slate-50 disabled:text-slate-500";
export const inputClass = `${inputBase} w-full px-3 py-2 text-sm`;
export const selectClass = `${inputBase} h-[38px] w-full px-2.5 text-sm`;
/** For controls inside table rows. */
export const compactInputClass = `${inputBase} px-2 py-1 text-sm`;

export function Field({ label, hint, error, children, className = "" }: { label: React.ReactNode; hint?: React.ReactNode; error?: React.ReactNode; children: React.ReactNode; className?: string }) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is passed in as a child
    <label className={`block text-sm ${className}`}>
      <span className="mb-1 block font-medium text-slate-700">{label}</span>
      {children}
      {error ? <span className="mt-1 block text-xs text-red-700">{error}</span> : hint ? <span className="mt-1 block text-xs text-slate-500">{hint}</span> : null}
    </label>
  );
}
