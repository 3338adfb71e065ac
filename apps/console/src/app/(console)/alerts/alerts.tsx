"use client";
/**
 * Alerts: what is firing now (evaluated by the console server against every agent's live state) and the rules
 * that decide it. Everyone sees both; admins add, change and remove rules. Without rules, the defaults apply:
 * a real server down, a service below quorum, an agent stale.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card } from "~/components/ui/card";
import { ConfirmDialog } from "~/components/ui/confirm-dialog";
import { errorText } from "~/components/ui/errors";
import { Field, inputClass, selectClass } from "~/components/ui/field";
import { Notice } from "~/components/ui/notice";
import { PageHeader } from "~/components/ui/page-header";
import { EmptyRow, Table } from "~/components/ui/table";
import { useTRPC } from "~/lib/trpc";

const KINDS = {
  realServerDown: "A real server is down (failed health check or out of rotation)",
  quorumLost: "A virtual service is below its quorum",
  agentStale: "An agent stopped answering",
  cpsAbove: "A virtual service's new connections per second exceed the threshold",
} as const;
type Kind = keyof typeof KINDS;

export function AlertsView({ canEdit }: { canEdit: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const firing = useQuery(trpc.alert.firing.queryOptions(undefined, { refetchInterval: 3000 }));
  const rules = useQuery(trpc.alert.rules.queryOptions());
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.alert.pathKey() });
  const save = useMutation(trpc.alert.saveRule.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.alert.removeRule.mutationOptions({ onSuccess: refresh }));
  const [kind, setKind] = useState<Kind>("realServerDown");
  const [removing, setRemoving] = useState<{ id: string; name: string } | null>(null);
  return (
    <div className="space-y-6" data-testid={firing.data && rules.data ? "alerts-loaded" : "alerts-loading"}>
      <PageHeader title="Alerts" description="What needs attention now, from every director's live state, and the rules that decide it." />
      <Card title="Firing now" description={firing.data ? `${firing.data.length} alert${firing.data.length === 1 ? "" : "s"}` : undefined} bodyClassName="">
        <Table>
          <thead className="text-left text-xs uppercase text-slate-500">
            <tr>
              <th className="p-3">Rule</th>
              <th className="p-3">Director</th>
              <th className="p-3">Target</th>
              <th className="p-3">What</th>
            </tr>
          </thead>
          <tbody>
            {firing.data?.length === 0 && <EmptyRow colSpan={4}>Nothing is firing.</EmptyRow>}
            {firing.data?.map((a) => (
              <tr key={`${a.rule}|${a.agent}|${a.target}`} className="border-t border-slate-100" data-testid="alert-row">
                <td className="p-3">
                  <Badge tone={a.kind === "cpsAbove" ? "amber" : "red"}>{a.rule}</Badge>
                </td>
                <td className="p-3">{a.agent}</td>
                <td className="p-3 font-mono text-xs">{a.target}</td>
                <td className="p-3 text-slate-700">{a.message}</td>
              </tr>
            ))}
          </tbody>
        </Table>
      </Card>
      <Card title="Rules" description={rules.data?.length === 0 ? "No rules yet: the defaults apply (real server down, quorum lost, agent stale)." : undefined} bodyClassName="">
        <Table>
          <thead className="text-left text-xs uppercase text-slate-500">
            <tr>
              <th className="p-3">Name</th>
              <th className="p-3">Fires when</th>
              <th className="p-3">Threshold</th>
              <th className="p-3">State</th>
              {canEdit && <th className="p-3 text-right">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {rules.data?.length === 0 && <EmptyRow colSpan={canEdit ? 5 : 4}>No rules.</EmptyRow>}
            {rules.data?.map((r) => (
              <tr key={r.id} className="border-t border-slate-100" data-testid={`alert-rule-${r.name}`}>
                <td className="p-3 font-medium">{r.name}</td>
                <td className="p-3 text-slate-700">{KINDS[r.kind]}</td>
                <td className="num p-3">{r.threshold ?? "–"}</td>
                <td className="p-3">{r.enabled ? <Badge tone="green">enabled</Badge> : <Badge>disabled</Badge>}</td>
                {canEdit && (
                  <td className="space-x-2 p-3 text-right">
                    <Button size="sm" onClick={() => save.mutate({ id: r.id, name: r.name, kind: r.kind, threshold: r.threshold, enabled: !r.enabled })}>
                      {r.enabled ? "Disable" : "Enable"}
                    </Button>
                    <Button size="sm" variant="danger-ghost" onClick={() => setRemoving({ id: r.id, name: r.name })}>
                      Remove
                    </Button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </Table>
      </Card>
      {canEdit && (
        <Card title="Add a rule">
          <form
            className="grid items-end gap-4 md:grid-cols-4"
            onSubmit={(e) => {
              e.preventDefault();
              const f = new FormData(e.currentTarget);
              const threshold = String(f.get("threshold") ?? "");
              save.mutate({ name: String(f.get("name")), kind, threshold: threshold === "" ? null : Number(threshold), enabled: true });
            }}
          >
            <Field label="Name">
              <input name="name" required maxLength={64} className={inputClass} placeholder="web down" />
            </Field>
            <Field label="Fires when">
              <select className={selectClass} value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
                {Object.entries(KINDS).map(([k, v]) => (
                  <option key={k} value={k}>
                    {v}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Threshold (conn/s)" hint={kind === "cpsAbove" ? "required" : "not used by this kind"}>
              <input name="threshold" type="number" min={0} disabled={kind !== "cpsAbove"} required={kind === "cpsAbove"} className={inputClass} />
            </Field>
            <Button type="submit" variant="primary" disabled={save.isPending}>
              Add rule
            </Button>
          </form>
          {save.error && (
            <Notice tone="error" className="mt-3">
              {errorText(save.error)}
            </Notice>
          )}
        </Card>
      )}
      <ConfirmDialog
        open={removing !== null}
        title={`Remove the rule "${removing?.name}"?`}
        confirmLabel="Remove rule"
        busy={remove.isPending}
        error={remove.error ? errorText(remove.error) : null}
        onConfirm={() => removing && remove.mutate({ id: removing.id }, { onSuccess: () => setRemoving(null) })}
        onCancel={() => setRemoving(null)}
      >
        It stops firing at once. If it is the last rule, the default rules apply again.
      </ConfirmDialog>
    </div>
  );
}
