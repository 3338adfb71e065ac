#!/usr/bin/env bash
# npm run bench:kernel: the kernel engine against HAProxy and a minimal nftables DNAT in network namespaces, and the
# ruleset update latency with 1,000 real servers. Root only (namespaces, nftables); installs what it needs.
source "$(dirname "$0")/lib.sh"
apt_ensure nginx nginx haproxy haproxy wrk wrk nft nftables ip iproute2 sysctl procps conntrack conntrack
npm_ensure
build
bash packages/agent/bench/kernel-bench.sh
