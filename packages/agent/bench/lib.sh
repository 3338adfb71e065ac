# shellcheck shell=bash
# Shared by engine-bench.sh and kernel-bench.sh: process handling, peer configurations, wrk results. Source me
# after setting W (work dir) and OUT (raw results file).
declare -A PIDS
BENCH_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { echo "[$(date +%T)] $*" >&2; }
# start_bg NAME CMD... : run in the background, remember the PID (only processes we start are ever stopped).
start_bg() { local n=$1; shift; "$@" >"$W/logs/$n.out" 2>&1 & PIDS[$n]=$!; }
stop_bg() {
  local pid=${PIDS[$1]:-}; [ -z "$pid" ] && return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; unset "PIDS[$1]"
}
# gen_nginx NAME LISTEN : an nginx real server serving $W/www (tiny, 1m), one worker; prints the config path.
gen_nginx() {
  local name=$1 listen=$2 f=$W/$1.conf
  mkdir -p "$W/$name"
  cat >"$f" <<EOC
worker_processes 1; daemon off; pid $W/$name/pid; error_log $W/logs/$name.err warn;
events { worker_connections 8192; }
http { access_log off; sendfile on; tcp_nopush on; tcp_nodelay on; keepalive_requests 100000000; keepalive_timeout 65;
  default_type application/octet-stream;
  client_body_temp_path $W/$name/b; proxy_temp_path $W/$name/p; fastcgi_temp_path $W/$name/f; uwsgi_temp_path $W/$name/u; scgi_temp_path $W/$name/s;
  server { listen $listen backlog=4096; root $W/www; location / { } } }
EOC
  echo "$f"
}
# gen_haproxy BIND SERVER... : HAProxy mode tcp, one thread, round robin; prints the config path.
gen_haproxy() {
  local bind=$1 f=$W/haproxy.cfg i=0 s; shift
  { printf 'global\n  nbthread 1\n  maxconn 6000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n  maxconn 6000\n'
    printf 'listen lb\n  bind %s\n  balance roundrobin\n' "$bind"
    for s in "$@"; do i=$((i + 1)); printf '  server s%d %s\n' "$i" "$s"; done; } >"$f"
  echo "$f"
}
# record_wrk CONFIG LOAD REP CPU_TICKS WRK_OUTPUT : appends one JSON line to $OUT and logs a summary.
record_wrk() {
  local json
  json=$(grep '^JSON:' <<<"$5" | sed 's/^JSON://')
  [ -z "$json" ] && { log "wrk failed: $5"; json='{"requests":0,"bytes":0,"duration_us":1,"err_connect":1,"err_read":0,"err_write":0,"err_status":0,"err_timeout":0,"lat_p50_us":0,"lat_p99_us":0}'; }
  echo "{\"config\":\"$1\",\"load\":\"$2\",\"rep\":$3,\"cpu_ticks\":$4,\"wrk\":$json}" >>"$OUT"
  log "$1/$2 rep$3: $(node -e 'const j=JSON.parse(process.argv[1]);const s=j.duration_us/1e6;const e=j.err_connect+j.err_read+j.err_write+j.err_status+j.err_timeout;console.log((j.requests/s).toFixed(0)+" req/s "+(j.bytes/s/1e6).toFixed(0)+" MB/s p99="+(j.lat_p99_us/1000).toFixed(2)+"ms errors="+e)' "$json")"
}
# wrk_args LOAD : the path and headers for a load (ka, close, 1m), in WPATH and WHDR.
wrk_args() { WPATH=/tiny; WHDR=(); [ "$1" = 1m ] && WPATH=/1m; [ "$1" = close ] && WHDR=(-H "Connection: close"); return 0; }
