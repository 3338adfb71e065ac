/**
 * Scheduler micro-benchmark: picks per second for every scheduler at 10, 100 and 1,000 real servers, with the
 * counter churn a connection table causes. Each pick opens a connection on the chosen server (activeConns++,
 * changed()); a ring of in-flight connections closes the oldest one at each pick (activeConns--,
 * inactiveConns++, changed()), and a second ring plays TIME_WAIT, expiring the oldest inactive entry
 * (inactiveConns--, changed()). So every measured pick also pays for three counter updates, as in production.
 *
 * Flows vary client address, port and destination address (256 VIPs), so the hashing and locality schedulers
 * see realistic keys. Two baselines run the kernel's own linear loops (kernel-reference.ts) the same way.
 * After timing, the indexed least-load schedulers and twos are run in lockstep with those loops through the
 * same churn, and the bench fails if a single choice differs.
 *
 * Run from the repository root:
 *     node packages/agent/bench/run-ts.mjs scheduler-bench.ts [seconds-per-case] [scheduler …]
 * (the runner bundles this file with esbuild, as Node 20 cannot run TypeScript by itself).
 */
import { foScan, lcScan, nqScan, ovfScan, sedScan, twosScan, wlcScan } from "../src/scheduler/kernel-reference.js";
import { schedulers } from "../src/scheduler/registry.js";
import { clientFlow, makeClock, makeDests, makeOptions, seededRandom, type TestDest } from "../src/scheduler/testing.js";
import type { Dest, Flow, Scheduler, SchedulerOptions } from "../src/scheduler/types.js";

const SIZES = [10, 100, 1000] as const;
const FLOW_COUNT = 4096; // a power of two
const IN_FLIGHT_PER_SERVER = 4;
const VERIFY_STEPS = 5000;
const ROUNDS = 5;

/** The kernel's loops wrapped as schedulers: one full list walk per pick. */
function scanScheduler(name: string, scan: (dests: readonly Dest[], random: () => number) => Dest | null) {
  return (options: SchedulerOptions): Scheduler => {
    let list: readonly Dest[] = [];
    return {
      name: "wlc",
      update: (dests) => {
        list = dests.slice();
      },
      changed: () => {},
      pick: () => scan(list, options.random),
      done: () => {},
      toString: () => name,
    } as Scheduler;
  };
}

interface Case {
  label: string;
  make: (options: SchedulerOptions) => Scheduler;
}

/** The kernel loop each indexed scheduler must agree with. */
const KERNEL_LOOPS: Record<string, (dests: readonly Dest[], random: () => number) => Dest | null> = {
  lc: lcScan,
  wlc: wlcScan,
  sed: sedScan,
  nq: nqScan,
  fo: foScan,
  ovf: ovfScan,
  twos: twosScan,
};

/** Drives a scheduler with connection churn; `check` sees every choice before it is accounted. */
function churn(c: Case, n: number, check?: (list: readonly TestDest[], got: Dest | null) => void) {
  const clock = makeClock(0);
  const s = c.make(makeOptions({ flags: [], now: clock.now, random: seededRandom(42) }));
  const list: TestDest[] = makeDests(Array.from({ length: n }, (_, i) => 1 + ((i * 7919) % 100)));
  s.update(list);
  const flows: Flow[] = Array.from({ length: FLOW_COUNT }, (_, i) => clientFlow(i * 31 + 7, `198.51.100.${i & 255}`));
  const ringSize = IN_FLIGHT_PER_SERVER * n;
  const inFlight: (TestDest | null)[] = new Array(ringSize).fill(null);
  const timeWait: (TestDest | null)[] = new Array(ringSize).fill(null);
  let slot = 0;
  let picks = 0;
  const run = (count: number) => {
    for (let k = 0; k < count; k++) {
      const d = s.pick(flows[picks++ & (FLOW_COUNT - 1)]!) as TestDest | null;
      if (check) check(list, d);
      if (d) {
        d.activeConns++;
        s.changed(d);
      }
      const closing = inFlight[slot];
      inFlight[slot] = d;
      if (closing) {
        closing.activeConns--;
        closing.inactiveConns++;
        s.changed(closing);
      }
      const expiring = timeWait[slot];
      timeWait[slot] = closing ?? null;
      if (expiring) {
        expiring.inactiveConns--;
        s.changed(expiring);
      }
      slot = slot + 1 === ringSize ? 0 : slot + 1;
    }
  };
  return { run, clock };
}

function verify(c: Case, n: number, steps: number): void {
  const loop = KERNEL_LOOPS[c.label];
  if (!loop) return;
  const random = seededRandom(42);
  const { run } = churn(c, n, (list, got) => {
    const want = loop(list, random);
    if (got !== want) throw new Error(`${c.label} at ${n} servers chose ${got?.address} where the kernel loop chooses ${want?.address}`);
  });
  run(steps);
}

/**
 * The best of ROUNDS timed rounds after a warm-up: on a shared machine the fastest round is the one least
 * disturbed by other processes (the convention of Python's timeit); all rounds run the same code on the same
 * churn, so this measures the scheduler, not its neighbours.
 */
function measure(c: Case, n: number, seconds: number): number {
  const { run, clock } = churn(c, n);
  // Warm up (JIT, rings filled).
  const warmEnd = performance.now() + Math.min(200, seconds * 300);
  while (performance.now() < warmEnd) run(1000);
  const batch = 2000;
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let done = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < (seconds * 1000) / ROUNDS) {
      run(batch);
      done += batch;
      clock.advance(1); // lblc/lblcr: time passes, expiry ticks fall due now and then
      elapsed = performance.now() - start;
    }
    rates.push(done / (elapsed / 1000));
  }
  return Math.max(...rates);
}

function main(): void {
  const [secondsArg, ...only] = process.argv.slice(2);
  const seconds = Number(secondsArg) > 0 ? Number(secondsArg) : 0.5;
  const cases: Case[] = [
    ...Object.entries(schedulers)
      .filter(([name]) => only.length === 0 || only.includes(name))
      .map(([label, make]) => ({ label, make })),
  ];
  if (only.length === 0 || only.includes("baseline")) {
    cases.push({ label: "wlc, kernel scan", make: scanScheduler("wlc scan", (d) => wlcScan(d)) });
    cases.push({ label: "twos, kernel scan", make: scanScheduler("twos scan", twosScan) });
  }
  const fmt = (v: number) => (v / 1e6).toFixed(2).padStart(10);
  console.log(`million picks/s with connection churn (best of ${ROUNDS} rounds, ${seconds} s per case, node ${process.version})`);
  console.log(`${"scheduler".padEnd(18)}${SIZES.map((n) => `${n} RS`.padStart(10)).join("")}`);
  for (const c of cases) {
    const row = SIZES.map((n) => measure(c, n, seconds));
    console.log(`${c.label.padEnd(18)}${row.map(fmt).join("")}`);
  }
  // After the timings, so the checking code does not share the timed loop's type feedback.
  const verified = cases.filter((c) => KERNEL_LOOPS[c.label]);
  for (const c of verified) for (const n of SIZES) verify(c, n, VERIFY_STEPS);
  if (verified.length) {
    console.log(`same choices as the kernel loops over ${VERIFY_STEPS} churned picks at ${SIZES.join("/")} RS: ${verified.map((c) => c.label).join(" ")}`);
  }
}

main();
