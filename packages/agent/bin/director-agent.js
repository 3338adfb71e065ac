#!/usr/bin/env -S node --max-semi-space-size=64
// The forwarding path allocates a buffer per read; a larger young generation (V8 semi-space, which can only be
// set when the process starts) makes those short-lived buffers cheap to collect. Measured in
// bench/engine-bench.sh: 1 MiB transfers 0.81× → 1.08× HAProxy with the balancer pinned to one core.
import "../dist/director-agent.js";
