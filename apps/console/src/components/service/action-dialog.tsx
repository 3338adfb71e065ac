"use client";
/**
 * Maintenance actions behind a confirmation: drain, maintenance, activate, weight (operators) and add / remove
 * (admins). The dialog states the effect in words with the numbers of the moment, sends the change, and shows
 * the agent's refusal as it came. It never changes what the page shows: on success the caller marks the row
 * "applying…" until the agent's own frames report the new state.
 */
import type { ForwardMethod } from "@director/model";
import { useMutation } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState } from "react";
import { useTRPC } from "~/lib/trpc";
import {
  ADDRESS_RE,
  activateEffect,
  addEffect,
  drainEffect,
  maintenanceEffect,
  type RealServerRow,
  removeEffect,
  type ServiceKey,
  type ServiceStatic,
  weightEffect,
} from "./model";
import type { ActionKind } from "./real-server-table";

export type Action = { kind: ActionKind; address: string } | { kind: "add" };

/** What the page waits to see in the frames after a change went through. */
export interface Expectation {
  address: string;
  label: string;
  done: (rs: { adminState: string; weight: number } | undefined) => boolean;
}

const MAX_DEADLINE = 7 * 24 * 3600;

function parseSeconds(text: string): number | null | "bad" {
  const t = text.trim();
  if (!t) return null;
  if (!/^\d+$/.test(t)) return "bad";
  const n = Number(t);
  return n >= 1 && n <= MAX_DEADLINE ? n : "bad";
}

function errorText(e: unknown): string {
  const err = e as { message?: string; data?: { zodIssues?: string[] } | null };
  const issues = err.data?.zodIssues;
  return issues?.length ? issues.join("; ") : (err.message ?? "the change failed");
}

export function ActionDialog({
  action,
  st,
  row,
  agentId,
  serviceKey,
  onClose,
  onDone,
}: {
  action: Action;
  st: ServiceStatic;
  /** The real server's latest row (undefined for "add", or when it has gone). */
  row: RealServerRow | undefined;
  agentId: string;
  serviceKey: ServiceKey;
  onClose: () => void;
  onDone: (e: Expectation) => void;
}) {
  const trpc = useTRPC();
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [thenMaintenance, setThenMaintenance] = useState(true);
  const [deadline, setDeadline] = useState("");
  const [weight, setWeight] = useState(String(row?.rs.weight ?? 1));
  const [address, setAddress] = useState("");
  const [forward, setForward] = useState<ForwardMethod>("nat");
  const [error, setError] = useState<string | null>(null);

  const setAdmin = useMutation(trpc.realServer.setAdminState.mutationOptions());
  const setW = useMutation(trpc.realServer.setWeight.mutationOptions());
  const add = useMutation(trpc.realServer.add.mutationOptions());
  const remove = useMutation(trpc.realServer.remove.mutationOptions());
  const busy = setAdmin.isPending || setW.isPending || add.isPending || remove.isPending;

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);

  const secs = parseSeconds(deadline);
  const w = /^\d+$/.test(weight.trim()) ? Number(weight) : Number.NaN;
  const weightOk = Number.isInteger(w) && w >= 0 && w <= 65535;
  const gone = action.kind !== "add" && !row;

  let title = "";
  let effect = "";
  let confirm = "";
  let invalid: string | null = null;
  let danger = false;
  switch (action.kind) {
    case "drain":
      title = `Drain ${action.address}`;
      confirm = "Drain";
      if (row) effect = drainEffect(st, row, thenMaintenance, typeof secs === "number" ? secs : null);
      if (secs === "bad") invalid = `the deadline is a whole number of seconds, 1 to ${MAX_DEADLINE}`;
      break;
    case "maintenance":
      title = `Maintenance: ${action.address}`;
      confirm = "Put in maintenance";
      danger = true;
      if (row) effect = maintenanceEffect(row, typeof secs === "number" ? secs : null);
      if (secs === "bad") invalid = `the deadline is a whole number of seconds, 1 to ${MAX_DEADLINE}`;
      break;
    case "activate":
      title = `Activate ${action.address}`;
      confirm = "Activate";
      if (row) effect = activateEffect(st, row);
      break;
    case "weight":
      title = `Weight of ${action.address}`;
      confirm = "Set weight";
      if (row && weightOk) effect = weightEffect(st, row, w);
      if (!weightOk) invalid = "the weight is a whole number from 0 to 65535";
      else if (row && w === row.rs.weight) invalid = "that is the current weight";
      break;
    case "remove":
      title = `Remove ${action.address}`;
      confirm = "Remove";
      danger = true;
      if (row) effect = removeEffect(st, row);
      break;
    case "add":
      title = `Add a real server to ${st.name ?? st.key}`;
      confirm = "Add real server";
      effect = addEffect(st, address.trim(), weightOk ? w : 0, forward);
      if (!ADDRESS_RE.test(address.trim())) invalid = "the address is host:port, e.g. 10.0.0.5:80 or [2001:db8::5]:80";
      else if (st.realServers.some((r) => r.address === address.trim())) invalid = `${address.trim()} is already a real server of this service`;
      else if (!weightOk) invalid = "the weight is a whole number from 0 to 65535";
      break;
  }
  if (gone) invalid = `${"address" in action ? action.address : ""} is no longer a real server of this service`;

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    if (invalid || busy) return;
    setError(null);
    const ref0 = { agentId, key: serviceKey };
    try {
      switch (action.kind) {
        case "drain":
          await setAdmin.mutateAsync({ ...ref0, address: action.address, state: "draining", thenMaintenance, ...(typeof secs === "number" ? { deadlineSeconds: secs } : {}) });
          onDone({ address: action.address, label: "drain requested…", done: (rs) => rs?.adminState === "draining" || rs?.adminState === "maintenance" });
          break;
        case "maintenance":
          await setAdmin.mutateAsync({ ...ref0, address: action.address, state: "maintenance", ...(typeof secs === "number" ? { deadlineSeconds: secs } : {}) });
          onDone({ address: action.address, label: "maintenance requested…", done: (rs) => rs?.adminState === "maintenance" });
          break;
        case "activate":
          await setAdmin.mutateAsync({ ...ref0, address: action.address, state: "active" });
          onDone({ address: action.address, label: "activate requested…", done: (rs) => rs?.adminState === "active" });
          break;
        case "weight":
          await setW.mutateAsync({ ...ref0, address: action.address, weight: w });
          onDone({ address: action.address, label: `weight ${w} requested…`, done: (rs) => rs?.weight === w });
          break;
        case "remove":
          await remove.mutateAsync({ ...ref0, address: action.address });
          onDone({ address: action.address, label: "removal requested…", done: (rs) => rs === undefined });
          break;
        case "add": {
          const a = address.trim();
          await add.mutateAsync({ ...ref0, realServer: { address: a, weight: w, forward, upperThreshold: 0, lowerThreshold: 0, adminState: "active" } });
          onDone({ address: a, label: "add requested…", done: (rs) => rs !== undefined });
          break;
        }
      }
      ref.current?.close();
      onClose();
    } catch (err) {
      setError(errorText(err));
    }
  }

  const input = "w-full rounded-md border border-slate-300 px-2.5 py-1.5 text-sm";
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onClose={onClose}
      onCancel={(e) => {
        if (busy) e.preventDefault();
      }}
      className="m-auto w-[34rem] max-w-[calc(100vw-2rem)] rounded-xl border border-slate-200 bg-white p-0 text-slate-900 shadow-2xl backdrop:bg-slate-900/40"
      data-testid="action-dialog"
    >
      <form onSubmit={submit} className="space-y-4 p-5">
        <h2 id={titleId} className="text-lg font-semibold">
          {title}
        </h2>

        {action.kind === "drain" && (
          <fieldset className="space-y-3">
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" checked={thenMaintenance} onChange={(e) => setThenMaintenance(e.target.checked)} data-testid="drain-then-maintenance" />
              Then maintenance when idle (no connections left)
            </label>
            <label className="block text-sm">
              <span className="mb-1 block text-slate-600">Deadline, seconds (optional): move to maintenance by then even with connections left</span>
              <input className={input} inputMode="numeric" value={deadline} onChange={(e) => setDeadline(e.target.value)} placeholder="none, e.g. 300" data-testid="drain-deadline" />
            </label>
          </fieldset>
        )}
        {action.kind === "maintenance" && (
          <label className="block text-sm">
            <span className="mb-1 block text-slate-600">Close remaining connections after, seconds (optional)</span>
            <input className={input} inputMode="numeric" value={deadline} onChange={(e) => setDeadline(e.target.value)} placeholder="never: let them finish" data-testid="maintenance-deadline" />
          </label>
        )}
        {action.kind === "weight" && (
          <label className="block text-sm">
            <span className="mb-1 block text-slate-600">
              Weight (0–65535; 0 = quiesced){row && row.rs.effectiveWeight !== row.rs.weight ? ` · the scheduler sees ${row.rs.effectiveWeight} now` : ""}
            </span>
            <input className={input} inputMode="numeric" value={weight} onChange={(e) => setWeight(e.target.value)} data-testid="weight-input" />
          </label>
        )}
        {action.kind === "add" && (
          <div className="grid grid-cols-[1fr_6rem_7rem] gap-3 text-sm">
            <label className="block">
              <span className="mb-1 block text-slate-600">Address (host:port)</span>
              <input className={`${input} font-mono`} value={address} onChange={(e) => setAddress(e.target.value)} placeholder="10.0.0.5:80" data-testid="add-address" />
            </label>
            <label className="block">
              <span className="mb-1 block text-slate-600">Weight</span>
              <input className={input} inputMode="numeric" value={weight} onChange={(e) => setWeight(e.target.value)} data-testid="add-weight" />
            </label>
            <label className="block">
              <span className="mb-1 block text-slate-600">Forwarding</span>
              <select className={input} value={forward} onChange={(e) => setForward(e.target.value as ForwardMethod)} data-testid="add-forward">
                <option value="nat">NAT</option>
                <option value="dr">DR</option>
                <option value="fullnat">Full NAT</option>
                <option value="tun">TUN</option>
              </select>
            </label>
          </div>
        )}

        {effect && (
          <p className={`rounded-md px-3 py-2 text-sm ${danger ? "bg-amber-50 text-amber-900" : "bg-slate-100 text-slate-800"}`} data-testid="action-effect">
            {effect}
          </p>
        )}
        {invalid && (deadline || weight || address || gone) && (
          <p className="text-sm text-amber-700" data-testid="action-invalid">
            {invalid}
          </p>
        )}
        {error && (
          <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="action-error">
            {error}
          </p>
        )}

        <div className="flex justify-end gap-2 pt-1">
          <button
            type="button"
            className="rounded-md border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-100"
            onClick={() => {
              ref.current?.close();
            }}
            disabled={busy}
            data-testid="cancel-action"
          >
            Cancel
          </button>
          <button
            type="submit"
            disabled={Boolean(invalid) || busy}
            className={`rounded-md px-3 py-1.5 text-sm font-medium text-white disabled:opacity-50 ${danger ? "bg-red-700 hover:bg-red-800" : "bg-slate-900 hover:bg-slate-700"}`}
            data-testid="confirm-action"
          >
            {busy ? "Sending…" : confirm}
          </button>
        </div>
      </form>
    </dialog>
  );
}
