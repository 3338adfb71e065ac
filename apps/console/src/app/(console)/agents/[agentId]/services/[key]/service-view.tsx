"use client";
/**
 * The virtual service page: header and totals, topology, charts and the real-server table, all from the
 * `live.service` subscription. A frame's `static` part arrives only when it changed (`rev`); the page keeps the
 * last one and reads each frame's number columns in its order. Actions never change what is shown: after a change
 * the row says "applying…" until the agent's frames report the new state.
 */
import { decodeFrame, type WireFrame } from "@director/api/wire";
import { useSubscription } from "@trpc/tanstack-react-query";
import Link from "next/link";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { type Action, ActionDialog, type Expectation } from "~/components/service/action-dialog";
import { ConditionBar } from "~/components/service/condition-badge";
import { LiveBuffer } from "~/components/service/live-buffer";
import {
  countByCondition,
  fmtClock,
  EMPTY_LIVE,
  type LiveState,
  mergeFrame,
  type RealServerRow,
  type Role,
  rowsOf,
  type ServiceFrame,
  type ServiceKey,
  type ServiceStatic,
  topByLoad,
} from "~/components/service/model";
import { type ActionKind, RealServerTable } from "~/components/service/real-server-table";
import { type ConnMetric, type Range, ServiceCharts } from "~/components/service/service-charts";
import { ShareBars, Topology } from "~/components/service/topology";
import { fmtBytes, fmtDuration, fmtRate } from "~/lib/format";
import { useTRPC } from "~/lib/trpc";

const CHARTED = 8;
/** No frame for this long (the stream sends one a second) and the page says so. */
const SILENT_MS = 4000;
const PENDING_MS = 30_000;

/** Keeps charted real servers in their slots (and colours) while they stay in the top; newcomers fill free slots. */
function chartMembers(rows: RealServerRow[], prev: readonly string[]): string[] {
  if (rows.length <= CHARTED) return rows.map((r) => r.rs.address);
  const top = topByLoad(rows, CHARTED).map((i) => rows[i]!.rs.address);
  const keep = prev.filter((a) => top.includes(a));
  const fresh = top.filter((a) => !keep.includes(a));
  return [...keep, ...fresh];
}

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

interface Pending {
  e: Expectation;
  at: number;
}

declare global {
  interface Window {
    /** Set by a performance test to an array: each frame pushes [render + commit ms, until after paint ms]. */
    __directorFramePerf?: [number, number][];
  }
}

function Header({ st, frame, stale, counts }: { st: ServiceStatic; frame: ServiceFrame; stale: boolean; counts: ReturnType<typeof countByCondition> }) {
  const chip = "rounded-md border border-slate-200 bg-white px-2 py-0.5 text-xs text-slate-700";
  const p = st.persistence;
  return (
    <header className="space-y-3">
      <nav className="text-sm text-slate-500" aria-label="Breadcrumb">
        <Link href="/" className="hover:underline">
          Overview
        </Link>
        <span className="mx-1.5">/</span>
        <span data-testid="service-agent">{frame.agent.name}</span>
        <span className="mx-1.5">/</span>
        <span className="text-slate-700">{st.name ?? st.key}</span>
      </nav>
      <div className="flex flex-wrap items-baseline gap-x-3 gap-y-2">
        <h1 className="text-2xl font-semibold" data-testid="service-name">
          {st.name ?? st.key}
        </h1>
        <span className="font-mono text-sm text-slate-600" data-testid="service-key">
          {st.key}
        </span>
      </div>
      <div className="flex flex-wrap items-center gap-2">
        <span className={chip} data-testid="service-scheduler" title="scheduler (ipvsadm -s) and its flags (-b)">
          scheduler <b className="font-semibold">{st.scheduler}</b>
          {st.schedulerFlags.length > 0 && <span className="text-slate-500"> · {st.schedulerFlags.join(", ")}</span>}
        </span>
        <span className={chip} data-testid="service-persistence" title="persistence (ipvsadm -p / -M)">
          {p ? (
            <>
              persistent <b className="font-semibold">{p.timeout} s</b> · /{p.prefixLength}
            </>
          ) : (
            "no persistence"
          )}
        </span>
        <span className={chip} data-testid="service-engine">
          engine <b className="font-semibold">{st.engine}</b>
        </span>
        <span
          className={`rounded-md px-2 py-0.5 text-xs font-medium ${stale ? "bg-slate-200 text-slate-600" : st.quorumUp ? "bg-green-100 text-green-800" : "bg-red-100 text-red-800"}`}
          data-testid="service-quorum"
          data-quorum={st.quorumUp ? "up" : "lost"}
          title="quorum: total weight of available real servers"
        >
          {st.quorumUp ? "quorum up" : "quorum lost"} · available weight {st.availableWeight}
        </span>
        <span className="text-xs text-slate-500">
          {st.realServers.length} real servers: {counts.healthy} healthy · {counts.draining} draining · {counts.maintenance} maintenance · {counts.down} down
        </span>
      </div>
    </header>
  );
}

function Totals({ frame, stale, counts }: { frame: ServiceFrame; stale: boolean; counts: ReturnType<typeof countByCondition> }) {
  const t = frame.totals;
  const cards: [string, string, string, string?][] = [
    ["Connections/s", stale ? "–" : fmtRate(t.cps), "service-totals-cps"],
    ["Active connections", String(t.activeConns), "service-totals-active", stale ? "last known" : undefined],
    ["Inactive connections", String(t.inactiveConns), "service-totals-inactive", stale ? "last known" : undefined],
    ["In (client → real)", stale ? "–" : `${fmtBytes(t.inBps)}/s`, "service-totals-in"],
    ["Out (real → client)", stale ? "–" : `${fmtBytes(t.outBps)}/s`, "service-totals-out"],
  ];
  return (
    <section className="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6" aria-label="Totals">
      {cards.map(([label, value, id, note]) => (
        <div key={id} className="rounded-xl border border-slate-200 bg-white p-3">
          <div className="text-xs uppercase tracking-wide text-slate-500">{label}</div>
          <div className={`num mt-1 text-2xl font-semibold ${stale ? "text-slate-400" : ""}`} data-testid={id} data-stale={stale ? "true" : undefined}>
            {value}
          </div>
          {note && <div className="text-xs text-slate-400">{note}</div>}
        </div>
      ))}
      <div className="rounded-xl border border-slate-200 bg-white p-3">
        <div className="text-xs uppercase tracking-wide text-slate-500">Healthy real servers</div>
        <div className="num mt-1 text-2xl font-semibold" data-testid="service-totals-rs">
          {counts.healthy}
          <span className="text-base font-normal text-slate-500"> / {counts.healthy + counts.draining + counts.maintenance + counts.down}</span>
        </div>
        <div className="mt-1.5">
          <ConditionBar counts={counts} stale={stale} />
        </div>
      </div>
    </section>
  );
}

function StaleBanner({ frame, silentFor }: { frame: ServiceFrame | null; silentFor: number | null }) {
  const lastOk = frame?.agent.lastOkAt;
  return (
    <div role="alert" className="flex items-start gap-3 rounded-xl border-2 border-slate-400 bg-slate-100 px-4 py-3 text-slate-800" data-testid="stale-banner">
      <span className="mt-0.5 rounded bg-slate-700 px-2 py-0.5 text-xs font-bold tracking-wider text-white">STALE</span>
      <div className="text-sm">
        {silentFor !== null ? (
          <p className="font-medium">No update from the console for {fmtDuration(silentFor)}: reconnecting. The numbers below are the last ones received, not live.</p>
        ) : (
          <p className="font-medium">
            Agent {frame?.agent.name} is not answering{lastOk ? ` (last data ${fmtClock(lastOk)}, ${fmtDuration(Date.now() - lastOk)} ago)` : ""}. Rates are not shown;
            connection counts are the last known values, not live.
          </p>
        )}
        {frame?.agent.error && <p className="mt-0.5 text-xs text-slate-600">{frame.agent.error}</p>}
      </div>
    </div>
  );
}

export function ServiceView({ agentId, serviceKey, role, canAdmin }: { agentId: string; serviceKey: ServiceKey; role: Role; canAdmin: boolean }) {
  const trpc = useTRPC();
  const canOperate = role === "operator" || role === "admin";
  const [live, setLive] = useState<LiveState>(EMPTY_LIVE);
  const [streamError, setStreamError] = useState<string | null>(null);
  const [silent, setSilent] = useState(false);
  const [members, setMembers] = useState<readonly string[]>([]);
  const [range, setRange] = useState<Range>("5m");
  const [metric, setMetric] = useState<ConnMetric>("active");
  const [filter, setFilter] = useState("");
  const [action, setAction] = useState<Action | null>(null);
  const [pending, setPending] = useState<Record<string, Pending>>({});

  const buffer = useRef(new LiveBuffer()).current;
  const staticRef = useRef<ServiceStatic | null>(null);
  const lastFrame = useRef<ServiceFrame | null>(null);
  const membersRef = useRef<{ list: readonly string[]; at: number; loaded: boolean }>({ list: [], at: 0, loaded: false });
  const receivedAt = useRef(0);
  const frameStart = useRef(0);

  const onData = useCallback(
    (f: ServiceFrame | null) => {
      frameStart.current = performance.now();
      receivedAt.current = Date.now();
      setStreamError(null);
      setSilent(false);
      // The stream sends on every hub update and on a 1 s timer: the same sample twice carries nothing new.
      const p = lastFrame.current;
      if (f && p && !f.static && p.t === f.t && p.rev === f.rev && p.stale === f.stale) return;
      lastFrame.current = f;
      if (f) {
        const st = f.static ?? staticRef.current;
        staticRef.current = st;
        if (st && f.activeConns.length === st.realServers.length) {
          const rows = rowsOf(st, f);
          const m = membersRef.current;
          // Chosen again every 30 s (5 s while nothing had any load), or when a charted real server is gone.
          const gone = f.static !== undefined && m.list.some((a) => !st.realServers.some((r) => r.address === a));
          if (!m.list.length || gone || f.t - m.at >= (m.loaded ? 30_000 : 5000) || (f.static && st.realServers.length <= CHARTED)) {
            const next = chartMembers(rows, m.list);
            membersRef.current = { list: same(next, m.list) ? m.list : next, at: f.t, loaded: rows.some((r) => r.activeConns || r.cps) };
            if (!same(next, m.list)) setMembers(next);
          }
          buffer.push(f, rows, membersRef.current.list);
        }
      }
      setLive((prev) => mergeFrame(prev, f, Date.now()));
    },
    [buffer],
  );

  useSubscription(
    trpc.live.service.subscriptionOptions(
      { agentId, key: serviceKey },
      {
        onData: (d) => onData(decodeFrame(d as WireFrame | null)),
        onError: (e) => setStreamError(e.message),
      },
    ),
  );

  // A silent stream (console gone, network down) is stale too.
  useEffect(() => {
    const id = setInterval(() => setSilent(receivedAt.current > 0 && Date.now() - receivedAt.current > SILENT_MS), 1000);
    return () => clearInterval(id);
  }, []);

  // Performance probe for the browser tests (inert unless window.__directorFramePerf is an array).
  useLayoutEffect(() => {
    const sink = typeof window !== "undefined" ? window.__directorFramePerf : undefined;
    if (!Array.isArray(sink) || !frameStart.current || !live.frame) return;
    const start = frameStart.current;
    const committed = performance.now() - start;
    frameStart.current = 0;
    requestAnimationFrame(() => setTimeout(() => sink.push([committed, performance.now() - start]), 0));
  }, [live]);

  const st = live.static;
  const frame = live.frame;
  const rows = useMemo(() => (st ? rowsOf(st, frame) : []), [st, frame]);
  const counts = useMemo(() => (st ? countByCondition(st) : { healthy: 0, draining: 0, maintenance: 0, down: 0 }), [st]);

  // Pending changes end when the agent's state shows them, or after 30 s.
  useEffect(() => {
    if (!st || !frame) return;
    setPending((p) => {
      const keys = Object.keys(p);
      if (!keys.length) return p;
      const now = Date.now();
      const next: Record<string, Pending> = {};
      for (const k of keys) {
        const x = p[k]!;
        const rs = st.realServers.find((r) => r.address === k);
        if (!x.e.done(rs) && now - x.at < PENDING_MS) next[k] = x;
      }
      return Object.keys(next).length === keys.length ? p : next;
    });
  }, [st, frame]);

  const pendingLabels = useMemo(() => Object.fromEntries(Object.entries(pending).map(([k, v]) => [k, v.e.label])), [pending]);
  const onAction = useCallback((kind: ActionKind, address: string) => setAction({ kind, address }), []);
  const onSelect = useCallback((address: string | null) => setFilter(address ?? ""), []);
  const onDone = useCallback((e: Expectation) => setPending((p) => ({ ...p, [e.address]: { e, at: Date.now() } })), []);

  if (streamError && !frame) return <p className="rounded-md bg-red-50 p-4 text-red-800" data-testid="service-error">Cannot show this virtual service: {streamError}</p>;
  if (live.missing)
    return (
      <div className="space-y-2" data-testid="service-missing">
        <h1 className="text-2xl font-semibold">
          {serviceKey.protocol}/{serviceKey.address}
        </h1>
        <p className="text-slate-600">
          This agent has no such virtual service (it may have been removed). <Link className="text-blue-700 underline" href="/">Back to the overview</Link>
        </p>
      </div>
    );
  if (!st || !frame) return <p className="text-slate-500">Connecting to the agent…</p>;

  const stale = frame.stale || silent;
  const row = action && action.kind !== "add" ? rows.find((r) => r.rs.address === action.address) : undefined;

  return (
    <div className="space-y-5" data-testid="service-page" data-stale={stale ? "true" : "false"}>
      <Header st={st} frame={frame} stale={stale} counts={counts} />
      {stale && <StaleBanner frame={frame} silentFor={silent ? Date.now() - receivedAt.current : null} />}
      {streamError && <p className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-800">Live updates interrupted: {streamError}</p>}
      <Totals frame={frame} stale={stale} counts={counts} />
      <div className="grid gap-5 xl:grid-cols-[minmax(0,5fr)_minmax(0,7fr)]">
        <section className="rounded-xl border border-slate-200 bg-white p-4" aria-label="Topology">
          <h2 className="mb-2 text-lg font-semibold">Topology</h2>
          <Topology rows={rows} vip={st.address} stale={stale} onSelect={onSelect} />
          <ShareBars rows={rows} scheduler={st.scheduler} stale={stale} />
        </section>
        <ServiceCharts
          agentId={agentId}
          serviceKey={serviceKey}
          now={frame.t}
          members={members}
          total={st.realServers.length}
          buffer={buffer}
          range={range}
          onRange={setRange}
          metric={metric}
          onMetric={setMetric}
          stale={stale}
        />
      </div>
      <RealServerTable
        rows={rows}
        rev={frame.rev}
        counts={counts}
        stale={stale}
        now={frame.t}
        canOperate={canOperate}
        canAdmin={canAdmin}
        pending={pendingLabels}
        onAction={onAction}
        filter={filter}
        onFilter={setFilter}
        toolbar={
          canAdmin ? (
            <button type="button" className="rounded-md bg-slate-900 px-3 py-1.5 text-sm font-medium text-white hover:bg-slate-700 disabled:opacity-50" onClick={() => setAction({ kind: "add" })} disabled={stale} data-testid="rs-add">
              Add real server
            </button>
          ) : null
        }
      />
      {action && canOperate && <ActionDialog key={action.kind + ("address" in action ? action.address : "")} action={action} st={st} row={row} agentId={agentId} serviceKey={serviceKey} onClose={() => setAction(null)} onDone={onDone} />}
    </div>
  );
}
