#!/usr/bin/env node
/**
 * Console benchmark (npm run bench → this file): a virtual service with 1,000 real servers updating at 1 Hz,
 * watched in headless Chromium on the production build.
 *  - first load of the overview: navigation start → the totals rendered (median of 5, signed in);
 *  - live-stream payload per update: the size of each SSE message of the service page (CDP Network events);
 * Traffic: 200 new connections/s through the VIP from this process (paced, not a saturating load generator).
 *  - render work per update: main-thread task time (CDP Performance.getMetrics TaskDuration) over 30 s of
 *    updates divided by the updates received, and the long animation frames (> 50 ms) seen meanwhile.
 * Targets (issue "The console"): ≤ 2 s, ≤ 100 KB, ≤ 50 ms.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const consoleDir = path.resolve(here, "..");
const root = path.resolve(consoleDir, "..", "..");
const RS = Number(process.env.BENCH_REAL_SERVERS ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const PASSWORD = "benchmark password 1";
const procs = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "director-console-bench-"));

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });

function run(cmd, args, opts = {}) {
  const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
  p.out = "";
  p.stdout.on("data", (d) => (p.out += d));
  p.stderr.on("data", (d) => (p.out += d));
  procs.push(p);
  return p;
}

async function until(cond, what, ms = 60_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopAll() {
  for (const p of procs) if (p.exitCode === null) p.kill("SIGTERM");
}
process.on("exit", () => {
  stopAll();
  fs.rmSync(tmp, { recursive: true, force: true });
});
process.on("SIGINT", () => process.exit(130));

async function main() {
  if (!fs.existsSync(path.join(consoleDir, process.env.CONSOLE_DIST_DIR ?? ".next", "BUILD_ID"))) throw new Error("build the console first (npm run build)");
  // Real servers: RS listeners in one process on consecutive ports.
  let base;
  for (;;) {
    base = 20000 + Math.floor(Math.random() * 30000);
    const rs = run(process.execPath, [path.join(here, "many-servers.mjs"), String(RS), String(base)]);
    await until(() => rs.out.includes("ready") || rs.exitCode !== null, "real servers");
    if (rs.out.includes("ready")) break;
  }
  const vip = await freePort();
  const api = await freePort();
  const cport = await freePort();
  const config = [
    `api: { listen: 127.0.0.1:${api} }`,
    "virtualServices:",
    "  - name: bench-1000",
    `    address: 127.0.0.1:${vip}`,
    "    scheduler: wlc",
    "    realServers:",
    ...Array.from({ length: RS }, (_, i) => `      - { address: 127.0.0.1:${base + i}, weight: ${1 + (i % 5)} }`),
  ].join("\n");
  fs.writeFileSync(path.join(tmp, "director.yaml"), `${config}\n`);
  const agentState = path.join(tmp, "agent");
  run(process.execPath, [path.join(root, "packages", "agent", "dist", "director-agent.js"), "--config", path.join(tmp, "director.yaml"), "--state-dir", agentState]);
  await until(() => fs.existsSync(path.join(agentState, "api.json")), "the agent");
  const con = run(process.execPath, ["server.mjs"], {
    cwd: consoleDir,
    env: { ...process.env, PORT: String(cport), CONSOLE_STATE_DIR: path.join(tmp, "console"), CONSOLE_AGENT_STATE_DIR: agentState, CONSOLE_ADMIN_PASSWORD: PASSWORD, NODE_ENV: "production" },
  });
  await until(() => con.out.includes("listening on https"), "the console");
  // Paced traffic through the VIP (200 new connections/s, some held open for a while), so every update carries
  // new numbers without the load generator itself taking the CPU the browser is measured on.
  const traffic = setInterval(() => {
    for (let i = 0; i < 20; i++) {
      const req = http.get({ host: "127.0.0.1", port: vip, path: "/", agent: false }, (res) => {
        res.resume();
        res.on("end", () => setTimeout(() => req.destroy(), Math.random() < 0.2 ? 5000 : 0));
      });
      req.on("error", () => {});
    }
  }, 100);
  process.on("exit", () => clearInterval(traffic));

  const profile = fs.mkdtempSync(path.join(tmp, "chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    ignoreHTTPSErrors: true,
    viewport: { width: 1400, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const origin = `https://localhost:${cport}`;
  try {
    const page = await ctx.newPage();
    await page.goto(`${origin}/signin`);
    await page.fill("input[name=username]", "admin");
    await page.fill("input[name=password]", PASSWORD);
    await page.click("button[type=submit]");
    await page.waitForURL(`${origin}/`);
    await page.waitForSelector("[data-testid=total-cps]");

    // First load of the overview, signed in, production build: navigation start → totals on screen.
    const loads = [];
    for (let i = 0; i < 5; i++) {
      const p = await ctx.newPage();
      await p.goto(`${origin}/`, { waitUntil: "commit" });
      await p.waitForFunction(() => {
        const el = document.querySelector("[data-testid=total-services]");
        return el && /\d+ \/ \d+/.test(el.textContent ?? "") && Number((el.textContent ?? "0/0").split("/")[1]) > 0;
      });
      loads.push(await p.evaluate(() => performance.now()));
      await p.close();
    }
    loads.sort((a, b) => a - b);

    // The service page: SSE message sizes and main-thread time per update.
    const svc = await ctx.newPage();
    const cdp = await ctx.newCDPSession(svc);
    await cdp.send("Network.enable");
    await cdp.send("Performance.enable");
    const messages = [];
    cdp.on("Network.eventSourceMessageReceived", (e) => {
      messages.push({ t: e.timestamp, bytes: Buffer.byteLength(e.data) });
      if (process.env.BENCH_DEBUG && messages.length < 12) console.log("  sse", e.requestId, e.eventName, e.eventId, e.timestamp.toFixed(3), e.data.length, e.data.slice(0, 80));
    });
    const href = await page.getAttribute("a[href*='/services/']", "href");
    await svc.goto(`${origin}${href}`);
    await svc.waitForTimeout(5000); // warm-up: first keyframe, history load
    await svc.evaluate(() => {
      window.__longFrames = [];
      new PerformanceObserver((l) => {
        for (const e of l.getEntries()) window.__longFrames.push(e.duration);
      }).observe({ type: "long-animation-frame", buffered: false });
    });
    const metric = async () => Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
    const m0 = await metric();
    const n0 = messages.length;
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const m1 = await metric();
    const updates = messages.length - n0;
    if (process.env.BENCH_PROFILE) {
      // Where the main thread's time goes: a 10 s CPU profile, the top functions by self time.
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.start");
      await new Promise((r) => setTimeout(r, 10_000));
      const { profile } = await cdp.send("Profiler.stop");
      const self = new Map();
      const dt = profile.timeDeltas;
      const byId = new Map(profile.nodes.map((n) => [n.id, n]));
      profile.samples.forEach((id, i) => {
        const n = byId.get(id);
        const k = `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.split("/").pop()}:${n.callFrame.lineNumber}`;
        self.set(k, (self.get(k) ?? 0) + (dt[i] ?? 0) / 1000);
      });
      for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`    ${(v / 10).toFixed(1)} ms/s  ${k}`);
    }
    const longFrames = await svc.evaluate(() => window.__longFrames);
    const steady = messages.slice(n0).map((m) => m.bytes);
    // The largest message before the measured window: the first frame, which carries the static part.
    const first = Math.max(0, ...messages.slice(0, n0).map((m) => m.bytes));
    const taskMs = ((m1.TaskDuration - m0.TaskDuration) * 1000) / Math.max(1, updates);
    const scriptMs = ((m1.ScriptDuration - m0.ScriptDuration) * 1000) / Math.max(1, updates);
    const layoutMs = (((m1.LayoutDuration ?? 0) - (m0.LayoutDuration ?? 0)) * 1000) / Math.max(1, updates);
    const kb = (b) => (b / 1024).toFixed(1);
    const pct = (arr, q) => [...arr].sort((a, b) => a - b)[Math.min(arr.length - 1, Math.floor(q * arr.length))] ?? 0;
    console.log(`console benchmark: ${RS} real servers, ${SECONDS} s of 1 Hz updates, production build, headless Chromium`);
    console.log(`  first load of the overview (median of 5): ${loads[2].toFixed(0)} ms   [target ≤ 2000 ms]   (min ${loads[0].toFixed(0)}, max ${loads[4].toFixed(0)})`);
    console.log(`  live payload per update: mean ${kb(steady.reduce((a, b) => a + b, 0) / Math.max(1, steady.length))} KB, p95 ${kb(pct(steady, 0.95))} KB, max ${kb(Math.max(0, ...steady))} KB   [target ≤ 100 KB]; first message (full keyframe) ${kb(first)} KB`);
    console.log(`  render work per update: ${taskMs.toFixed(1)} ms main-thread task time (script ${scriptMs.toFixed(1)} ms, layout ${layoutMs.toFixed(1)} ms) over ${updates} updates   [target ≤ 50 ms]`);
    console.log(`  long animation frames (> 50 ms) during the window: ${longFrames.length}${longFrames.length ? ` (max ${Math.max(...longFrames).toFixed(0)} ms)` : ""}`);
    fs.mkdirSync(path.join(root, "bench-results"), { recursive: true });
    await svc.screenshot({ path: path.join(root, "bench-results", "console-1000-real-servers.png") });
    fs.writeFileSync(
      path.join(root, "bench-results", "console.json"),
      `${JSON.stringify({ realServers: RS, seconds: SECONDS, firstLoadMs: loads, updates, payloadBytes: { first, steady }, taskMsPerUpdate: taskMs, scriptMsPerUpdate: scriptMs, layoutMsPerUpdate: layoutMs, longFrames }, null, 2)}\n`,
    );
  } finally {
    await ctx.close();
    stopAll();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`console benchmark failed: ${e.message}`);
    for (const p of procs) if (p.exitCode !== null && p.exitCode !== 0) console.error(p.spawnargs.join(" "), "→", p.out.slice(-2000));
    process.exit(1);
  },
);
