"use client";
/**
 * The scheduler simulator: runs the director's own scheduler code over a service's real servers without traffic
 * (simulator.run), optionally with another scheduler and other weights, and compares each real server's share
 * of the simulated connections with its share of the weight. For hashed schedulers it drains one real server and
 * counts the flows that change real server: the drained server's own (which must move) against the others'.
 */
import type { AppRouter } from "@director/api";
import { skipToken, useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useEffect, useState } from "react";
import { AgentServicePicker, useAgentService } from "~/components/ui/agent-service-picker";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card } from "~/components/ui/card";
import { errorText } from "~/components/ui/errors";
import { compactInputClass, Field, selectClass } from "~/components/ui/field";
import { Notice } from "~/components/ui/notice";
import { PageHeader } from "~/components/ui/page-header";
import { useTRPC } from "~/lib/trpc";
import { DRAIN_EXPECT, HASHED, SCHEDULER_INFO, SCHEDULERS, type Scheduler } from "./schedulers";

const pct = (x: number) => `${(100 * x).toFixed(x > 0 && x < 0.001 ? 2 : 1)}%`;

interface Run {
  agentId: string;
  key: { protocol: "tcp" | "udp"; address: string };
  scheduler?: Scheduler;
  weights?: Record<string, number>;
  drain?: string;
  picks: number;
}

export function SimulatorView({ initial }: { initial: { agentId?: string | undefined; service?: string | undefined } }) {
  const trpc = useTRPC();
  const pick = useAgentService(initial, true);
  const vs = pick.service;
  const [scheduler, setScheduler] = useState<"" | Scheduler>("");
  const [weights, setWeights] = useState<Record<string, string>>({});
  const [drain, setDrain] = useState("");
  const [picks, setPicks] = useState(10_000);
  const [run, setRun] = useState<Run | null>(null);

  const effScheduler: Scheduler | undefined = scheduler || vs?.scheduler;
  const hashed = effScheduler ? HASHED.has(effScheduler) : false;

  // A new service: forget the overrides and simulate it as it is.
  const svcId = `${pick.agentId} ${pick.serviceKey}`;
  const [seenSvc, setSeenSvc] = useState(svcId);
  if (seenSvc !== svcId) {
    setSeenSvc(svcId);
    setScheduler("");
    setWeights({});
    setDrain("");
    setRun(null);
  }
  useEffect(() => {
    if (!run && vs && pick.agentId) setRun({ agentId: pick.agentId, key: { protocol: vs.protocol, address: vs.address }, picks });
  }, [run, vs, pick.agentId, picks]);

  const badWeights = Object.entries(weights).filter(([, v]) => v !== "" && !(/^\d{1,5}$/.test(v) && Number(v) <= 65535));
  const build = (): Run | null => {
    if (!vs || !pick.agentId || badWeights.length) return null;
    const w: Record<string, number> = {};
    for (const [a, v] of Object.entries(weights)) if (v !== "" && vs.realServers.some((r) => r.address === a)) w[a] = Number(v);
    return {
      agentId: pick.agentId,
      key: { protocol: vs.protocol, address: vs.address },
      ...(scheduler ? { scheduler } : {}),
      ...(Object.keys(w).length ? { weights: w } : {}),
      ...(hashed && drain ? { drain } : {}),
      picks,
    };
  };
  const sim = useQuery({ ...trpc.simulator.run.queryOptions(run ?? skipToken), staleTime: Number.POSITIVE_INFINITY });
  const r = sim.data;

  return (
    <div>
      <PageHeader
        title="Scheduler simulator"
        description="Where would new connections go? Runs the director's own scheduler code over a virtual service's real servers, without traffic. Try another scheduler or other weights before changing the service, or drain a real server to see how many flows a hashed scheduler moves."
      />
      <div className="grid gap-6 xl:grid-cols-[24rem_1fr]">
        <Card title="Inputs" className="self-start">
          <form
            className="space-y-4"
            onSubmit={(e) => {
              e.preventDefault();
              const next = build();
              if (!next) return;
              // The same inputs again: the answer is deterministic, but run it anyway (the service may have changed).
              if (run && JSON.stringify(run) === JSON.stringify(next)) void sim.refetch();
              else setRun(next);
            }}
          >
            <div className="grid gap-3">
              <AgentServicePicker state={pick} allowAll={false} />
            </div>
            <Field label="Scheduler" hint={effScheduler ? `${effScheduler}: ${SCHEDULER_INFO[effScheduler].name}` : undefined}>
              <select data-testid="sim-scheduler" className={selectClass} value={scheduler} onChange={(e) => setScheduler(e.target.value as Scheduler | "")} disabled={!vs}>
                <option value="">The service&apos;s own{vs ? ` (${vs.scheduler})` : ""}</option>
                {SCHEDULERS.map((s) => (
                  <option key={s} value={s}>
                    {s} — {SCHEDULER_INFO[s].name}
                  </option>
                ))}
              </select>
            </Field>
            {vs && (
              <fieldset>
                <legend className="mb-1 text-sm font-medium text-slate-700">Weights</legend>
                <p className="mb-2 text-xs text-slate-500">The weight the scheduler sees now; type another to try it. 0 = quiesced.</p>
                <div className="divide-y divide-slate-100 rounded-md border border-slate-200">
                  {vs.realServers.map((rs) => (
                    <div key={rs.address} className="flex items-center gap-2 px-3 py-1.5 text-sm">
                      <span className="min-w-0 flex-1 truncate font-mono text-xs" title={rs.address}>
                        {rs.address}
                      </span>
                      {!rs.available && <Badge tone="red">unavailable</Badge>}
                      {rs.adminState !== "active" && <Badge tone={rs.adminState === "draining" ? "amber" : "indigo"}>{rs.adminState}</Badge>}
                      <input
                        aria-label={`Weight of ${rs.address}`}
                        data-testid={`sim-weight-${rs.address}`}
                        className={`${compactInputClass} num w-20 text-right ${weights[rs.address] ? "border-blue-400! bg-blue-50!" : ""}`}
                        inputMode="numeric"
                        placeholder={String(rs.effectiveWeight)}
                        value={weights[rs.address] ?? ""}
                        onChange={(e) => setWeights({ ...weights, [rs.address]: e.target.value.trim() })}
                      />
                    </div>
                  ))}
                </div>
                {badWeights.length > 0 && <p className="mt-1 text-xs text-red-700">Weights are whole numbers from 0 to 65535.</p>}
                {Object.values(weights).some((v) => v !== "") && (
                  <button type="button" className="mt-1 text-xs text-slate-600 underline" onClick={() => setWeights({})}>
                    Back to the current weights
                  </button>
                )}
              </fieldset>
            )}
            {hashed && vs && (
              <Field label="Drain a real server" hint="Runs the same flows again with this real server quiesced and counts the flows that changed real server.">
                <select data-testid="sim-drain" className={selectClass} value={drain} onChange={(e) => setDrain(e.target.value)}>
                  <option value="">None</option>
                  {vs.realServers.map((rs) => (
                    <option key={rs.address} value={rs.address}>
                      {rs.address}
                    </option>
                  ))}
                </select>
              </Field>
            )}
            <Field label={effScheduler && ["lc", "wlc", "sed", "nq"].includes(effScheduler) ? "Connections (held open)" : hashed ? "Flows" : "New connections"}>
              <select data-testid="sim-picks" className={selectClass} value={picks} onChange={(e) => setPicks(Number(e.target.value))}>
                {[1000, 10_000, 100_000].map((n) => (
                  <option key={n} value={n}>
                    {n.toLocaleString()}
                  </option>
                ))}
              </select>
            </Field>
            <Button type="submit" variant="primary" className="w-full" data-testid="sim-run" disabled={!vs || badWeights.length > 0 || sim.isFetching}>
              {sim.isFetching ? "Simulating…" : "Run simulation"}
            </Button>
          </form>
        </Card>

        <div className="min-w-0 space-y-4">
          {pick.agents.data?.length === 0 && <Notice title="No agents registered">Add a director on the Agents page first.</Notice>}
          {pick.agentId && pick.services.data?.length === 0 && <Notice title="No virtual services">This agent has no virtual service to simulate.</Notice>}
          {sim.error && <Notice tone="error">{errorText(sim.error)}</Notice>}
          {r && run && <Results r={r} run={run} />}
          {!r && !sim.error && vs && <p className="text-sm text-slate-500">Simulating…</p>}
        </div>
      </div>
    </div>
  );
}

type Result = inferRouterOutputs<AppRouter>["simulator"]["run"];

function Results({ r, run }: { r: Result; run: Run }) {
  const info = SCHEDULER_INFO[r.scheduler as Scheduler];
  const max = Math.max(0.0001, ...r.shares.map((s) => Math.max(s.share, s.weightShare)));
  const overridden = run.weights ? Object.keys(run.weights) : [];
  return (
    <>
      <Card
        data-testid="sim-result"
        title={
          <>
            <span className="font-mono">{r.scheduler}</span> · {r.picks.toLocaleString()} {r.hashed ? "flows" : r.held ? "connections held open" : "new connections"}
          </>
        }
        description={info?.expect}
      >
        <div className="mb-3 flex flex-wrap items-center gap-4 text-xs text-slate-600">
          <span className="flex items-center gap-1.5">
            <span className="inline-block h-2.5 w-5 rounded-sm bg-slate-800" /> simulated share
          </span>
          <span className="flex items-center gap-1.5">
            <span className="inline-block h-2.5 w-5 rounded-sm bg-sky-300" /> weight share (of the eligible weight)
          </span>
          {overridden.length > 0 && <Badge tone="blue">weights overridden: {overridden.length}</Badge>}
        </div>
        <ul className="space-y-3">
          {r.shares.map((s) => {
            const over = s.share - s.weightShare;
            return (
              <li key={s.address} data-testid={`sim-share-${s.address}`} data-share={s.share.toFixed(4)} data-weight-share={s.weightShare.toFixed(4)} className={s.eligible ? "" : "opacity-60"}>
                <div className="mb-1 flex flex-wrap items-baseline gap-x-3 text-sm">
                  <span className="font-mono font-medium">{s.address}</span>
                  <span className="text-xs text-slate-500">
                    weight <span className="num">{s.weight}</span>
                    {run.weights?.[s.address] !== undefined && " (override)"}
                    {run.drain === s.address && " · the one drained below"}
                  </span>
                  {!s.eligible && <Badge tone="slate">not eligible ({s.weight === 0 ? "weight 0" : "unavailable"})</Badge>}
                  <span className="num ml-auto text-sm">
                    <strong>{pct(s.share)}</strong>
                    <span className="text-slate-500"> · {s.picks.toLocaleString()} picks · weight share {pct(s.weightShare)}</span>
                    {s.eligible && Math.abs(over) >= 0.05 && <span className={over > 0 ? "text-amber-700" : "text-sky-700"}> ({over > 0 ? "+" : ""}{(100 * over).toFixed(1)} pts)</span>}
                  </span>
                </div>
                <div className="space-y-0.5" aria-hidden="true">
                  <div className="h-3 rounded-sm bg-slate-100">
                    <div className="h-3 rounded-sm bg-slate-800 transition-[width]" style={{ width: `${(100 * s.share) / max}%` }} />
                  </div>
                  <div className="h-1.5 rounded-sm bg-slate-100">
                    <div className="h-1.5 rounded-sm bg-sky-300 transition-[width]" style={{ width: `${(100 * s.weightShare) / max}%` }} />
                  </div>
                </div>
              </li>
            );
          })}
        </ul>
        {r.unscheduled > 0 && (
          <Notice tone="warn" className="mt-4" data-testid="sim-unscheduled">
            {r.unscheduled.toLocaleString()} of {r.picks.toLocaleString()} ({pct(r.unscheduled / r.picks)}) found no real server: the director would refuse them (no eligible
            server{r.hashed ? ", or the hash landed on a quiesced or overloaded one without a fallback flag" : ""}).
          </Notice>
        )}
      </Card>
      {r.hashed && (r.moved ? <Moved moved={r.moved} drained={run.drain ?? ""} scheduler={r.scheduler} /> : <p className="text-sm text-slate-500">Choose a real server to drain to see how many flows would move.</p>)}
    </>
  );
}

function Moved({ moved, drained, scheduler }: { moved: { total: number; fromDrained: number; fromOthers: number; unscheduled: number; flows: number }; drained: string; scheduler: string }) {
  const f = moved.flows || 1;
  const stay = moved.flows - moved.total - moved.unscheduled;
  return (
    <Card data-testid="sim-moved" title={`Draining ${drained}`} description={DRAIN_EXPECT[scheduler]}>
      <div className="num text-sm">
        <strong className="text-lg">{moved.total.toLocaleString()}</strong> of {moved.flows.toLocaleString()} flows ({pct(moved.total / f)}) change real server.
      </div>
      {moved.unscheduled > 0 && (
        <p className="mt-2 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="sim-moved-unscheduled">
          {moved.unscheduled.toLocaleString()} flows ({pct(moved.unscheduled / f)}) find no real server: a drained (quiesced) server keeps its
          table slots, and without the {scheduler === "mh" ? "mh-fallback" : "sh-fallback"} flag {scheduler} refuses their new connections, as IPVS does.
        </p>
      )}
      <div className="mt-3 flex h-4 overflow-hidden rounded-sm bg-slate-100" role="img" aria-label={`${moved.fromDrained} from the drained server, ${moved.fromOthers} from others, ${stay} unchanged`}>
        <div className="bg-amber-500" style={{ width: `${(100 * moved.fromDrained) / f}%` }} />
        <div className="bg-red-600" style={{ width: `${(100 * moved.fromOthers) / f}%` }} />
      </div>
      <dl className="mt-3 grid gap-3 text-sm sm:grid-cols-3">
        <div>
          <dt className="flex items-center gap-1.5 text-xs text-slate-500">
            <span className="inline-block size-2.5 rounded-sm bg-amber-500" /> From the drained server
          </dt>
          <dd className="num font-semibold" data-testid="sim-moved-drained">
            {moved.fromDrained.toLocaleString()} <span className="font-normal text-slate-500">({pct(moved.fromDrained / f)})</span>
          </dd>
          <dd className="text-xs text-slate-500">These must move: their server takes no new flows.</dd>
        </div>
        <div>
          <dt className="flex items-center gap-1.5 text-xs text-slate-500">
            <span className="inline-block size-2.5 rounded-sm bg-red-600" /> From other servers
          </dt>
          <dd className="num font-semibold" data-testid="sim-moved-others">
            {moved.fromOthers.toLocaleString()} <span className="font-normal text-slate-500">({pct(moved.fromOthers / f)})</span>
          </dd>
          <dd className="text-xs text-slate-500">Collateral: clients whose server did not change, moved anyway.</dd>
        </div>
        <div>
          <dt className="flex items-center gap-1.5 text-xs text-slate-500">
            <span className="inline-block size-2.5 rounded-sm bg-slate-200" /> Unchanged
          </dt>
          <dd className="num font-semibold">
            {stay.toLocaleString()} <span className="font-normal text-slate-500">({pct(stay / f)})</span>
          </dd>
        </div>
      </dl>
      <p className="mt-4 text-sm" data-testid="sim-moved-verdict">
        {moved.total === 0
          ? `No flow moves: none of these flows was on ${drained}.`
          : moved.fromOthers === 0
            ? `Only the drained server's flows move: every other client keeps its real server.`
            : moved.fromOthers / f < 0.01
              ? `Practically only the drained server's flows move: ${moved.fromOthers.toLocaleString()} flows of other servers (${pct(moved.fromOthers / f)} of all) move too, the small disruption of rebuilding the table.`
              : `Besides the drained server's own flows, ${moved.fromOthers.toLocaleString()} flows of other servers move (${pct(moved.fromOthers / f)} of all): those clients lose their server (and any state on it) though it stays up.`}
      </p>
    </Card>
  );
}
