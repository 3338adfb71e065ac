// The demo behind `npm start`: three small real servers, an agent with a virtual service on 127.0.0.1:8080
// (wrr 3:2:1), and light traffic so the counters move. Ctrl-C stops everything it started (by PID).
// It also starts the console (https://localhost:8443, PORT overrides) with the agent registered.
// Environment: DIRECTOR_STATE_DIR (default .state/agent), CONSOLE_STATE_DIR (default .state/console),
// CONSOLE_ADMIN_PASSWORD (creates the first admin "admin" instead of printing a setup link), DEMO_TRAFFIC=0.
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const stateDir = process.env.DIRECTOR_STATE_DIR || path.join(root, ".state", "agent");
const consoleStateDir = process.env.CONSOLE_STATE_DIR || path.join(root, ".state", "console");
const consolePort = process.env.PORT || "8443";
const dist = path.join(root, "packages", "agent", "dist");
const children = [];

function start(name, args, opts = {}) {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DIRECTOR_STATE_DIR: stateDir, ...opts.env }, cwd: opts.cwd });
  child.stdout.on("data", (d) => {
    prefix(name, d);
    opts.onOutput?.(String(d));
  });
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
  clearInterval(waitForAgent);
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

// The console, once the agent has written its API descriptor (so the console can register it).
const apiFile = path.join(stateDir, "api.json");
let consoleOutput = "";
const waitForAgent = setInterval(() => {
  if (!fs.existsSync(apiFile)) return;
  clearInterval(waitForAgent);
  start("console", [path.join(root, "apps", "console", "server.mjs")], {
    cwd: path.join(root, "apps", "console"),
    env: { CONSOLE_STATE_DIR: consoleStateDir, CONSOLE_AGENT_STATE_DIR: stateDir, PORT: consolePort },
    onOutput: (d) => {
      consoleOutput += d;
      if (/listening on https/.test(d)) setTimeout(banner, 500);
    },
  });
}, 100);

function banner() {
  const setup = /(https:\/\/\S+\/setup\?token=\S+)/.exec(consoleOutput)?.[1];
  const signIn = setup
    ? `first sign-in: open ${setup}\n                                                         (one-time link: choose the admin's name and password)`
    : process.env.CONSOLE_ADMIN_PASSWORD
      ? "sign in as admin with CONSOLE_ADMIN_PASSWORD"
      : `sign in with the admin you created (users live in ${consoleStateDir})`;
  console.log(`
  Director demo is running.
    https://localhost:${consolePort}                            # the console (self-signed certificate): ${signIn}
    curl 127.0.0.1:8080                                  # through the director (wrr 3:2:1)
    DIRECTOR_STATE_DIR=${stateDir} npx vsadm -L -n --stats
    DIRECTOR_STATE_DIR=${stateDir} npx vsadm -e -t 127.0.0.1:8080 -r 127.0.0.1:18081 --drain
  Ctrl-C stops the demo.
`);
}
