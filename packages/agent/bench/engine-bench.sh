#!/usr/bin/env bash
# Userspace engine vs HAProxy (mode tcp, 1 thread) vs a direct connection, in one run, on loopback:
# three nginx real servers (1 worker each), wrk -t2 -c64, loads: keep-alive 100-byte responses (ka), a new
# connection per request (close), 1 MiB transfers (1m). Repetitions are interleaved; medians are reported with
# ratios against HAProxy measured in the same run. Stops by itself; ends only the processes it started.
#   bash packages/agent/bench/engine-bench.sh            (DUR=5 REPS=3 CONFIGS="direct haproxy director")
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DUR=${DUR:-5}
REPS=${REPS:-3}
CONNS=${CONNS:-64}
CONFIGS=${CONFIGS:-"direct haproxy director"}
# PIN=1: the balancer alone on CPU 0; wrk (one thread) and the real servers on CPU 1. Compares balancers per core
# with less noise from the scheduler sharing two cores between everything.
PIN=${PIN:-0}
if [ "$PIN" = 1 ]; then LBPIN=(taskset -c 0); BEPIN=(taskset -c 1); WRKPIN=(taskset -c 1); WT=1; else LBPIN=(); BEPIN=(); WRKPIN=(); WT=2; fi
W=${BENCH_WORK:-$(mktemp -d /tmp/director-bench.XXXXXX)}
OUT=${BENCH_OUT:-$W/raw.jsonl}
mkdir -p "$W/www" "$W/logs"
: >"$OUT"
head -c 100 /dev/zero | tr '\0' x >"$W/www/tiny"
head -c 1048576 /dev/urandom >"$W/www/1m"
chmod -R a+rX "$W"
source "$HERE/lib.sh"
cleanup() { for n in "${!PIDS[@]}"; do stop_bg "$n"; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; log "port $1 did not open"; return 1; }

for p in 18081 18082 18083; do start_bg "be$p" "${BEPIN[@]}" nginx -c "$(gen_nginx "be$p" "127.0.0.1:$p")"; done
for p in 18081 18082 18083; do wait_port $p || exit 1; done

HAPROXY_CFG=$(gen_haproxy 127.0.0.1:8080 127.0.0.1:18081 127.0.0.1:18082 127.0.0.1:18083)
cat >"$W/director.yaml" <<EOC
api: { listen: 127.0.0.1:19443 }
shutdownGraceSeconds: 1
virtualServices:
  - address: 127.0.0.1:8080
    scheduler: rr
    realServers: [{ address: 127.0.0.1:18081 }, { address: 127.0.0.1:18082 }, { address: 127.0.0.1:18083 }]
EOC

cpu_ticks() { awk '{sub(/^.*\) /,""); print $12+$13}' "/proc/$1/stat" 2>/dev/null || echo 0; }
run_wrk() { # CONFIG LOAD URL REP PID
  local cfg=$1 load=$2 url=$3 rep=$4 pid=$5 c0=0 c1=0 out
  wrk_args "$load"
  [ "$pid" != - ] && c0=$(cpu_ticks "$pid")
  out=$("${WRKPIN[@]}" wrk -t"$WT" -c"$CONNS" -d"${DUR}s" --timeout 5s -s "$HERE/wrk-json.lua" "${WHDR[@]}" "$url$WPATH" 2>&1)
  [ "$pid" != - ] && c1=$(cpu_ticks "$pid")
  record_wrk "$cfg" "$load" "$rep" $((c1 - c0)) "$out"
}

for rep in $(seq "$REPS"); do
  for cfg in $CONFIGS; do
    url=http://127.0.0.1:8080 pid=-
    case $cfg in
      direct) url=http://127.0.0.1:18081 ;;
      haproxy) start_bg lb "${LBPIN[@]}" haproxy -db -f "$HAPROXY_CFG" ;;
      naive) start_bg lb "${LBPIN[@]}" env LISTEN=127.0.0.1:8080 BACKENDS=127.0.0.1:18081,127.0.0.1:18082,127.0.0.1:18083 WORKERS=0 node "${NAIVE_PROXY:-$HERE/../../../../shared/bench/node/proxy.js}" ;;
      director) rm -rf "$W/state"; start_bg lb "${LBPIN[@]}" "$HERE/../bin/director-agent.js" --config "$W/director.yaml" --state-dir "$W/state" ;;
      *) log "unknown config $cfg"; continue ;;
    esac
    if [ "$cfg" != direct ]; then wait_port 8080 || { cat "$W/logs/lb.out"; stop_bg lb; continue; }; pid=${PIDS[lb]}; fi
    "${WRKPIN[@]}" wrk -t"$WT" -c"$CONNS" -d1s "$url/tiny" >/dev/null 2>&1   # warm-up (JIT), not recorded
    for load in ka close 1m; do run_wrk "$cfg" "$load" "$url" "$rep" "$pid"; done
    [ "$cfg" != direct ] && stop_bg lb
    sleep 0.3
  done
done
node "$HERE/engine-report.mjs" "$OUT"
