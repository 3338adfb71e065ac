// Agent memory with N concurrent idle connections (default 9,900: this machine's hard limit of 20,000 open
// files per process allows ~9,990 proxied connections, each holding two sockets in a full proxy).
// Starts 3 nginx real servers and an agent, opens N keep-alive connections through the VIP, each making one
// request and then idling, and reads the agent's RSS from /proc. Prints RSS before/after and bytes per connection.
//   node packages/agent/bench/memory-bench.mjs [N]
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const N = Number(process.argv[2] ?? 9900);
const here = path.dirname(fileURLToPath(import.meta.url));
const agentBin = path.join(here, "..", "dist", "director-agent.js");
const W = fs.mkdtempSync(path.join(os.tmpdir(), "director-mem-"));
const children = [];
const stopAll = () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
};
process.on("exit", stopAll);
const ports = [28081, 28082, 28083];
fs.mkdirSync(path.join(W, "www"));
fs.writeFileSync(path.join(W, "www", "tiny"), "x".repeat(100));
for (const p of ports) {
  fs.mkdirSync(path.join(W, `n${p}`));
  fs.writeFileSync(
    path.join(W, `n${p}.conf`),
    `worker_processes 1; daemon off; pid ${W}/n${p}/pid; error_log ${W}/n${p}/err warn;
events { worker_connections 16384; }
http { access_log off; keepalive_timeout 300s; keepalive_requests 1000000;
  client_body_temp_path ${W}/n${p}/b; proxy_temp_path ${W}/n${p}/p; fastcgi_temp_path ${W}/n${p}/f; uwsgi_temp_path ${W}/n${p}/u; scgi_temp_path ${W}/n${p}/s;
  server { listen 127.0.0.1:${p} backlog=4096; root ${W}/www; location / { } } }
`,
  );
  children.push(spawn("nginx", ["-c", path.join(W, `n${p}.conf`)], { stdio: "ignore" }));
}
fs.writeFileSync(
  path.join(W, "director.yaml"),
  `api: { listen: 127.0.0.1:29443 }
shutdownGraceSeconds: 1
virtualServices:
  - address: 127.0.0.1:28080
    scheduler: wlc
    realServers: [{ address: 127.0.0.1:28081 }, { address: 127.0.0.1:28082 }, { address: 127.0.0.1:28083 }]
`,
);
const agent = spawn(process.execPath, [agentBin, "--config", path.join(W, "director.yaml"), "--state-dir", path.join(W, "state")], { stdio: ["ignore", "pipe", "inherit"] });
children.push(agent);
await new Promise((resolve) => agent.stdout.on("data", (d) => String(d).includes("director agent started") && resolve()));
agent.stdout.resume();
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${agent.pid}/status`, "utf8"))[1]) * 1024;
global.gc?.();
const before = rss();
const sockets = [];
let ok = 0;
const open = () =>
  new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port: 28080 });
    s.on("error", () => resolve(false));
    s.on("connect", () => s.write("GET /tiny HTTP/1.1\r\nHost: m\r\n\r\n"));
    s.once("data", () => {
      ok++;
      resolve(true);
    });
    sockets.push(s);
  });
for (let i = 0; i < N; i += 200) await Promise.all(Array.from({ length: Math.min(200, N - i) }, open));
await new Promise((r) => setTimeout(r, 3000)); // let the agent settle (estimator ticks, GC)
const after = rss();
const mib = (b) => (b / 1048576).toFixed(1);
console.log(`connections held: ${ok} of ${N}`);
console.log(`agent RSS: ${mib(before)} MiB idle, ${mib(after)} MiB with ${ok} connections (${Math.round((after - before) / Math.max(ok, 1))} bytes per connection)`);
console.log(`extrapolated to 10,000 connections: ${mib(before + ((after - before) / Math.max(ok, 1)) * 10000)} MiB (target ≤ 300 MiB)`);
for (const s of sockets) s.destroy();
stopAll();
fs.rmSync(W, { recursive: true, force: true });
process.exit(0);
