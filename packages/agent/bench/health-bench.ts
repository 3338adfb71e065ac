/**
 * Health checker benchmark: 1,000 real servers (one nginx process listening on 1,000 loopback ports), an HTTP
 * check on each every second, for BENCH_SECONDS (default 20). Reports how late checks start against their
 * schedule (p50/p99/max), the CPU the checker takes (share of one core, from process.cpuUsage), and failures.
 * Targets (issue): lateness p99 ≤ 100 ms, ≤ 25% of one core.
 *   node packages/agent/bench/run-ts.mjs health-bench.ts
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { HealthCheck } from "@director/model";
import pino from "pino";
import { HealthMonitor, type ProbeSubject } from "../src/health/monitor.js";

const N = Number(process.env.HEALTH_BENCH_SERVERS ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const BASE = Number(process.env.HEALTH_BENCH_BASE_PORT ?? 31000);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-health-bench-"));
const listens = Array.from({ length: N }, (_, i) => `    listen 127.0.0.1:${BASE + i};`).join("\n");
fs.writeFileSync(
  path.join(dir, "nginx.conf"),
  `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
worker_rlimit_nofile 8192;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path ${dir}/b; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f; uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;
  server {
${listens}
    location = /healthz { return 200 "ok\\n"; }
  }
}
`,
);
const nginx = spawn("nginx", ["-c", path.join(dir, "nginx.conf")], { stdio: ["ignore", "ignore", "inherit"] });
const stop = () => {
  if (nginx.exitCode === null) nginx.kill("SIGTERM");
  fs.rmSync(dir, { recursive: true, force: true });
};
process.on("exit", stop);
for (let i = 0; i < 100; i++) {
  const ok = await new Promise<boolean>((r) => {
    const s = net.connect(BASE + N - 1, "127.0.0.1");
    s.once("connect", () => r(!!s.destroy()));
    s.once("error", () => r(false));
  });
  if (ok) break;
  await new Promise((r) => setTimeout(r, 100));
}

const spec: HealthCheck = {
  type: "http",
  path: "/healthz",
  expectStatus: ["200"],
  interval: 1,
  timeout: 1,
  rise: 2,
  fall: 3,
  startState: "up",
  onFailure: "remove",
};
const lateness: number[] = [];
let measuring = false;
let checks = 0;
let failures = 0;
const reasons = new Map<string, number>();
const monitor = new HealthMonitor({
  now: Date.now,
  random: Math.random,
  log: pino({ level: "silent" }),
  onChange: () => {},
  onOutcome: (_key, o) => {
    if (!measuring) return;
    checks++;
    if (!o.ok) {
      failures++;
      reasons.set(o.reason, (reasons.get(o.reason) ?? 0) + 1);
    }
  },
  onLateness: (ms) => {
    if (measuring) lateness.push(ms);
  },
});
const subjects: ProbeSubject[] = Array.from({ length: N }, (_, i) => ({
  key: `rs${i}`,
  spec,
  target: { host: "127.0.0.1", port: BASE + i, family: 4 as const },
}));
monitor.sync(subjects);
await new Promise((r) => setTimeout(r, 2000)); // warm-up: first checks spread over the interval
measuring = true;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, SECONDS * 1000));
const cpu = process.cpuUsage(cpu0);
const wall = performance.now() - t0;
measuring = false;
monitor.stop();
lateness.sort((a, b) => a - b);
const q = (p: number) => lateness[Math.min(lateness.length - 1, Math.floor(p * lateness.length))] ?? Number.NaN;
const cpuShare = ((cpu.user + cpu.system) / 1000 / wall) * 100;
console.log(`health checks: ${N} real servers, HTTP every 1 s, ${SECONDS} s measured`);
console.log(`  checks completed: ${checks} (${(checks / (wall / 1000)).toFixed(0)}/s), failures: ${failures}${failures ? ` ${JSON.stringify([...reasons].slice(0, 3))}` : ""}`);
console.log(`  lateness: p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, max ${lateness.at(-1)?.toFixed(1)} ms (target p99 ≤ 100 ms)`);
console.log(`  checker CPU: ${cpuShare.toFixed(1)}% of one core (target ≤ 25%)`);
stop();
