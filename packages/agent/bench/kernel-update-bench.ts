/**
 * Ruleset update latency of the kernel engine: a virtual service with 1,000 real servers (weights 1..7); each
 * round changes one real server's weight and times the whole atomic nft batch until the kernel has it, for each
 * scheduler in KERNEL_BENCH_SCHEDULERS (default wrr, sh, mh, wlc). Run inside a network namespace (kernel-bench.sh
 * does): it programs nftables. Target (issue): ≤ 50 ms per update.
 *   wrr       a round of ~4,000 slots in a named map: the rule (its modulus) and the slots that move
 *   wlc       one numgen map of the re-weighted picks, rewritten whole
 *   sh        the 256-bucket table (ranges), rewritten whole: only the first servers fit, as in the kernel
 *   mh        the 4093-position Maglev table in a named map: only the positions that moved are sent
 */
import { AgentConfig, type SchedulerName } from "@director/model";
import pino from "pino";
import { ConnectionTable } from "../src/conn/connection.js";
import { TemplateTable } from "../src/conn/persistence.js";
import { KernelEngine } from "../src/engine/kernel/index.js";
import { VirtualService } from "../src/state/virtual-service.js";

const N = Number(process.env.KERNEL_BENCH_SERVERS ?? 1000);
const ROUNDS = Number(process.env.KERNEL_BENCH_ROUNDS ?? 30);
const SCHEDULERS = (process.env.KERNEL_BENCH_SCHEDULERS ?? "wrr,sh,mh,wlc").split(",") as SchedulerName[];
const log = pino({ level: "silent" });
const table = new ConnectionTable({ now: Date.now, lingerSeconds: () => 120, onIdle: () => {} });
const engine = new KernelEngine({ table, templates: new TemplateTable(Date.now, () => false), now: Date.now, timeouts: () => ({ tcp: 900, tcpFin: 120, udp: 300 }), log });

for (const scheduler of SCHEDULERS) {
  const spec = AgentConfig.parse({
    virtualServices: [
      {
        address: "10.98.100.1:90",
        engine: "kernel",
        scheduler,
        realServers: Array.from({ length: N }, (_, i) => ({ address: `10.97.${Math.floor(i / 250)}.${(i % 250) + 1}:80`, weight: 1 + (i % 7) })),
      },
    ],
  }).virtualServices[0]!;
  const vs = new VirtualService(spec, { now: Date.now, random: Math.random });
  const t0 = performance.now();
  await engine.open(vs);
  const first = performance.now() - t0;
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const rs = vs.realServers[r % N]!;
    rs.spec = { ...rs.spec, weight: rs.spec.weight + 1 };
    rs.refresh();
    const t = performance.now();
    vs.schedulerUpdate();
    await engine.refresh(vs);
    times.push(performance.now() - t);
  }
  await engine.close(vs);
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
  console.log(
    `kernel ruleset, ${scheduler} with ${N} real servers: first load ${first.toFixed(1)} ms; weight change p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms (target ≤ 50 ms)`,
  );
}
