"use client";
/**
 * A modal confirmation (native <dialog>: focus trap, Escape and the backdrop for free) that says what the action
 * will do before it is done. Children may hold inputs; they arrive in onConfirm as FormData. The body is only
 * rendered while open, so inputs start empty each time.
 */
import { useEffect, useRef } from "react";
import { Button } from "./button";
import { Notice } from "./notice";

export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  tone = "danger",
  busy = false,
  error,
  onConfirm,
  onCancel,
  testId = "confirm-dialog",
}: {
  open: boolean;
  title: React.ReactNode;
  children?: React.ReactNode;
  confirmLabel: string;
  tone?: "danger" | "primary";
  busy?: boolean;
  error?: string | null;
  onConfirm: (form: FormData) => void;
  onCancel: () => void;
  testId?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      data-testid={testId}
      aria-labelledby={`${testId}-title`}
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onCancel();
      }}
      className="m-auto w-full max-w-md rounded-xl border border-slate-200 bg-white p-0 text-slate-900 shadow-xl backdrop:bg-slate-900/40"
    >
      {open && (
        <form
          className="p-5"
          onSubmit={(e) => {
            e.preventDefault();
            onConfirm(new FormData(e.currentTarget));
          }}
        >
          <h2 id={`${testId}-title`} className="text-lg font-semibold">
            {title}
          </h2>
          <div className="mt-2 space-y-3 text-sm text-slate-700">{children}</div>
          {error && (
            <Notice tone="error" className="mt-3">
              {error}
            </Notice>
          )}
          <div className="mt-5 flex justify-end gap-2">
            <Button onClick={onCancel} disabled={busy}>
              Cancel
            </Button>
            <Button type="submit" variant={tone} disabled={busy} data-testid="confirm">
              {busy ? "Working…" : confirmLabel}
            </Button>
          </div>
        </form>
      )}
    </dialog>
  );
}
