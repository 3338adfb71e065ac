/** The console's buttons: one look per intent, so a destructive action never looks like a harmless one. */
import type { ButtonHTMLAttributes } from "react";

/** danger-ghost: a destructive action in a row of quiet ones (opens a confirmation). */
export type ButtonVariant = "primary" | "secondary" | "danger" | "ghost" | "danger-ghost";

const VARIANTS: Record<ButtonVariant, string> = {
  primary: "bg-slate-900 text-white hover:bg-slate-700 disabled:hover:bg-slate-900",
  secondary: "border border-slate-300 bg-white text-slate-800 hover:bg-slate-50",
  danger: "bg-red-600 text-white hover:bg-red-700 disabled:hover:bg-red-600",
  ghost: "text-slate-700 hover:bg-slate-100",
  "danger-ghost": "text-red-700 hover:bg-red-50",
};

export function buttonClass(variant: ButtonVariant = "secondary", size: "sm" | "md" = "md"): string {
  const sz = size === "sm" ? "px-2.5 py-1 text-xs" : "px-3.5 py-2 text-sm";
  return `inline-flex items-center justify-center gap-1.5 whitespace-nowrap rounded-md font-medium transition-colors disabled:cursor-not-allowed disabled:opacity-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-slate-900 ${sz} ${VARIANTS[variant]}`;
}

export function Button({ variant = "secondary", size = "md", className = "", type = "button", ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: ButtonVariant; size?: "sm" | "md" }) {
  return <button type={type} className={`${buttonClass(variant, size)} ${className}`} {...rest} />;
}
