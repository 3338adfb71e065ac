// The demo behind `npm start`: three small real servers, an agent with a virtual service on 127.0.0.1:8080
// (wrr 3:2:1), and light traffic so the counters move. Ctrl-C stops everything it started (by PID).
// Environment: DIRECTOR_STATE_DIR (default .state/agent), DEMO_TRAFFIC=0 to start without traffic.
import { spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const stateDir = process.env.DIRECTOR_STATE_DIR || path.join(root, ".state", "agent");
const dist = path.join(root, "packages", "agent", "dist");
const children = [];

function start(name, args) {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DIRECTOR_STATE_DIR: stateDir } });
  child.stdout.on("data", (d) => prefix(name, d));
  child.stderr.on("data", (d) => prefix(name, d));
  child.on("exit", (code, sig) => {
    if (!stopping) {
      console.error(`[demo] ${name} exited (${code ?? sig}); stopping the demo`);
      stop(1);
    }
  });
  children.push(child);
  return child;
}

function prefix(name, data) {
  for (const line of String(data).split("\n")) if (line) process.stdout.write(`[${name}] ${line}\n`);
}

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  clearInterval(traffic);
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  setTimeout(() => process.exit(code), 1500).unref();
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.on("exit", r)) : null))).then(() => process.exit(code));
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

const servers = [
  ["alpha", "127.0.0.1:18081"],
  ["beta", "127.0.0.1:18082"],
  ["gamma", "127.0.0.1:18083"],
];
for (const [name, addr] of servers) start(name, [path.join(dist, "demo-real-server.js"), addr, name]);
start("agent", ["--max-semi-space-size=64", path.join(dist, "director-agent.js"), "--config", path.join(root, "examples", "demo.yaml"), "--state-dir", stateDir]);

// Light traffic: a few requests a second through the VIP, so `vsadm -L -n --stats` shows counters moving.
let traffic;
if (process.env.DEMO_TRAFFIC !== "0") {
  traffic = setInterval(() => {
    const req = http.get({ host: "127.0.0.1", port: 8080, path: "/", agent: false }, (res) => res.resume());
    req.on("error", () => {});
  }, 250);
}

setTimeout(() => {
  console.log(`
  Director demo is running.
    curl 127.0.0.1:8080                                  # through the director (wrr 3:2:1)
    DIRECTOR_STATE_DIR=${stateDir} npx vsadm -L -n --stats
    DIRECTOR_STATE_DIR=${stateDir} npx vsadm -e -t 127.0.0.1:8080 -r 127.0.0.1:18081 --drain
  Ctrl-C stops the demo.
`);
}, 1500);
