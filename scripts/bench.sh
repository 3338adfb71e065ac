#!/usr/bin/env bash
# npm run bench: the engine against HAProxy and a direct connection (same run, ratios), the scheduler
# micro-benchmark, agent memory with ~10,000 idle connections, and the console with 1,000 real servers in Chromium. Installs nginx, haproxy and wrk when root.
source "$(dirname "$0")/lib.sh"
apt_ensure nginx nginx haproxy haproxy wrk wrk chromium chromium
npm_ensure
build
say "schedulers: picks per second (every scheduler, 10 / 100 / 1,000 real servers)"
node packages/agent/bench/run-ts.mjs scheduler-bench.ts
say "health checks: 1,000 real servers, HTTP every second"
node packages/agent/bench/run-ts.mjs health-bench.ts
say "agent memory with idle connections"
node packages/agent/bench/memory-bench.mjs
say "engine vs HAProxy vs direct (wrk, loopback)"
bash packages/agent/bench/engine-bench.sh
say "console: 1,000 real servers at 1 Hz in headless Chromium"
node apps/console/bench/console-bench.mjs
