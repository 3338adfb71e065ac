#!/usr/bin/env bash
# Kernel engine vs HAProxy vs a minimal hand-written nftables DNAT, in network namespaces made here:
#   client (10.98.0.1) --veth-- director (10.98.0.2, VIP 10.98.100.1 on lo) --veth-- rsN (10.98.N.2), N=1..3
# wrk -t2 -c64 in the client; HAProxy (mode tcp, 1 thread) on VIP:8080 and the agent's kernel engine (rr) on VIP:80
# in the director; the minimal ruleset (`table ip minimal`, numgen inc mod 3) on a second VIP; the kernel engine with
# full NAT (forward: fullnat) on a third; nginx in each real server. CONFIGS picks (default all four).
# Loads: keep-alive 100 B (ka), new connection per request (close), 1 MiB (1m). Also: ruleset update latency for a
# weight change with 1,000 real servers. Everything is removed at the end (and on error). Needs root.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DUR=${DUR:-5}; REPS=${REPS:-3}; CONNS=${CONNS:-64}
W=${BENCH_WORK:-$(mktemp -d /tmp/director-kbench.XXXXXX)}
OUT=$W/raw.jsonl; : >"$OUT"
NS=(db-cli db-dir db-rs1 db-rs2 db-rs3)
VIP=10.98.100.1
# The minimal ruleset gets its own VIP on the same port: a DNAT that also rewrites the port (81 → 80) measured
# 3× slower on new connections here, which would compare unlike with unlike.
VIP2=10.98.100.2
# Full NAT (forward: fullnat, source NAT to the director's address) on a third VIP, same real servers.
VIP3=10.98.100.3
CONFIGS=${CONFIGS:-"haproxy director nft-minimal fullnat"}
mkdir -p "$W/www" "$W/logs"
head -c 100 /dev/zero | tr '\0' x >"$W/www/tiny"; head -c 1048576 /dev/urandom >"$W/www/1m"; chmod -R a+rX "$W"
source "$HERE/lib.sh"
down() { for n in "${!PIDS[@]}"; do stop_bg "$n"; done; for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null; done; return 0; }
trap down EXIT
[ "$(id -u)" = 0 ] || { echo "kernel-bench needs root" >&2; exit 1; }
down
for n in "${NS[@]}"; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add db-c0 netns db-cli type veth peer name db-d0 netns db-dir
ip -n db-cli addr add 10.98.0.1/24 dev db-c0; ip -n db-cli link set db-c0 up
ip -n db-dir addr add 10.98.0.2/24 dev db-d0; ip -n db-dir link set db-d0 up
ip -n db-cli route add default via 10.98.0.2
for i in 1 2 3; do
  ip link add db-d$i netns db-dir type veth peer name eth0 netns db-rs$i
  ip -n db-dir addr add 10.98.$i.1/24 dev db-d$i; ip -n db-dir link set db-d$i up
  ip -n db-rs$i addr add 10.98.$i.2/24 dev eth0; ip -n db-rs$i link set eth0 up
  ip -n db-rs$i route add default via 10.98.$i.1
done
ip -n db-dir addr add $VIP/32 dev lo
ip -n db-dir addr add $VIP2/32 dev lo
ip -n db-dir addr add $VIP3/32 dev lo
ip netns exec db-dir sysctl -qw net.ipv4.ip_forward=1
for n in "${NS[@]}"; do ip netns exec "$n" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000" net.core.somaxconn=4096; done
ip netns exec db-dir sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=10 2>/dev/null || true
# Behind a NAT the real servers see the client's own address and ports; the servers close first, so their
# TIME_WAIT sockets (60 s) would collide with the next configuration's connections reusing those ports (measured:
# ~200 conn/s for whichever NAT configuration runs second). No TIME_WAIT in the real servers' namespaces only.
for i in 1 2 3; do ip netns exec "db-rs$i" sysctl -qw net.ipv4.tcp_max_tw_buckets=0; done
ip netns exec db-dir nft -f - <<EON
table ip minimal {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr $VIP2 tcp dport 80 dnat ip to numgen inc mod 3 map { 0 : 10.98.1.2 . 80, 1 : 10.98.2.2 . 80, 2 : 10.98.3.2 . 80 }
  }
}
EON
for i in 1 2 3; do start_bg "rs$i" ip netns exec "db-rs$i" nginx -c "$(gen_nginx "rs$i" 0.0.0.0:80)"; done
HAPROXY_CFG=$(gen_haproxy $VIP:8080 10.98.1.2:80 10.98.2.2:80 10.98.3.2:80)
cat >"$W/director.yaml" <<EOC
api: { listen: 127.0.0.1:9443 }
shutdownGraceSeconds: 1
virtualServices:
  - address: $VIP:80
    engine: kernel
    scheduler: rr
    realServers: [{ address: 10.98.1.2:80 }, { address: 10.98.2.2:80 }, { address: 10.98.3.2:80 }]
  - address: $VIP3:80
    engine: kernel
    scheduler: rr
    realServers: [{ address: 10.98.1.2:80, forward: fullnat }, { address: 10.98.2.2:80, forward: fullnat }, { address: 10.98.3.2:80, forward: fullnat }]
EOC
start_bg agent ip netns exec db-dir "$HERE/../bin/director-agent.js" --config "$W/director.yaml" --state-dir "$W/state"
start_bg haproxy ip netns exec db-dir haproxy -db -f "$HAPROXY_CFG"
wait_port() { for _ in $(seq 100); do ip netns exec db-cli bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null && return 0; sleep 0.1; done; log "port $1:$2 did not open"; return 1; }
for p in 8080 80; do wait_port $VIP $p || { cat "$W/logs/"*.out; exit 1; }; done
wait_port $VIP2 80 || exit 1
wait_port $VIP3 80 || exit 1

run_wrk() { # CONFIG LOAD URL REP
  local out
  wrk_args "$2"
  out=$(ip netns exec db-cli wrk -t2 -c"$CONNS" -d"${DUR}s" --timeout 5s -s "$HERE/wrk-json.lua" "${WHDR[@]}" "$3$WPATH" 2>&1)
  record_wrk "$1" "$2" "$4" 0 "$out"
}

for rep in $(seq "$REPS"); do
  for cfg in $CONFIGS; do
    case $cfg in haproxy) url=http://$VIP:8080 ;; director) url=http://$VIP:80 ;; nft-minimal) url=http://$VIP2:80 ;; fullnat) url=http://$VIP3:80 ;; esac
    ip netns exec db-cli wrk -t2 -c"$CONNS" -d1s "$url/tiny" >/dev/null 2>&1
    for load in ka close 1m; do
      # The previous run's conntrack entries (TIME_WAIT) would clash with this run's NATed tuples: start clean.
      ip netns exec db-dir conntrack -F >/dev/null 2>&1 || sleep 11
      run_wrk "$cfg" "$load" "$url" "$rep"
    done
  done
done
node "$HERE/engine-report.mjs" "$OUT" | grep -v "^ka:\|^close:\|^1m:"
node -e '
const rows=require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n").map(JSON.parse);
const med=a=>{const s=[...a].sort((x,y)=>x-y);const n=s.length;return n%2?s[(n-1)/2]:(s[n/2-1]+s[n/2])/2};
const rate=(c,l,k)=>med(rows.filter(r=>r.config===c&&r.load===l).map(r=>k==="mb"?r.wrk.bytes/(r.wrk.duration_us/1e6):r.wrk.requests/(r.wrk.duration_us/1e6)));
for (const [l,k,t] of [["close","rps",1.5],["1m","mb",1.5],["ka","rps",null]]) {
  const d=rate("director",l,k), h=rate("haproxy",l,k), m=rate("nft-minimal",l,k);
  const f=rate("fullnat",l,k);
  console.log(`${l}: director/haproxy = ${(d/h).toFixed(2)}×${t?` (target ≥ ${t}×)`:""}, director/minimal nft = ${(d/m).toFixed(2)}× (target ≥ 0.95×)${f?`, full NAT/director = ${(f/d).toFixed(2)}×`:""}`);
}' "$OUT"
log "ruleset update latency, 1,000 real servers"
ip netns exec db-dir node "$HERE/run-ts.mjs" kernel-update-bench.ts
