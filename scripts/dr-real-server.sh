#!/usr/bin/env bash
# Prepares a Linux real server for VS/DR (direct routing) behind Director's kernel engine, or undoes it. Root only.
#
#   dr-real-server.sh [--dev IFACE] VIP...           hold each VIP on lo (/32) and never answer ARP for it
#   dr-real-server.sh --undo [--dev IFACE] VIP...    remove the VIPs; once no VIP is left on lo, ARP settings back to 0
#
# With VS/DR the director changes only the frame's destination MAC address: the packet reaches the real server
# still addressed to the VIP, so the real server must hold the VIP itself (on lo, where it is local but not on the
# wire), and answer the client directly from it. It must not claim the VIP on the segment, or the router would send
# the VIP's traffic straight to it instead of to the director:
#   arp_ignore=1    answer an ARP request only if the address asked for is on the interface it came in on (the VIP
#                   is on lo, so requests for it on the segment go unanswered);
#   arp_announce=2  use the interface's own address as the sender of this host's ARP requests, never the VIP a
#                   reply happens to come from (which would teach the neighbours that the VIP is here).
# Both are set for `all` (the kernel takes the larger of `all` and the interface's value) and, for clarity in
# `sysctl -a`, on the segment's interface: --dev, or else every interface with an IPv4 address other than lo.
set -euo pipefail

usage() {
  sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

undo=0
devs=()
vips=()
while [ $# -gt 0 ]; do
  case "$1" in
    --undo) undo=1 ;;
    --dev)
      [ $# -ge 2 ] || usage
      devs+=("$2")
      shift
      ;;
    -h | --help) usage ;;
    -*) echo "dr-real-server.sh: unknown option $1" >&2; usage ;;
    *) vips+=("$1") ;;
  esac
  shift
done
[ ${#vips[@]} -gt 0 ] || usage
for vip in "${vips[@]}"; do
  if ! [[ "$vip" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]]; then
    echo "dr-real-server.sh: $vip is not an IPv4 address (VS/DR in the kernel engine is IPv4)" >&2
    exit 2
  fi
done
for dev in "${devs[@]}"; do
  ip link show dev "$dev" >/dev/null || exit 1
done
if [ ${#devs[@]} -eq 0 ]; then
  mapfile -t devs < <(ip -o -4 addr show | awk '$2 != "lo" { print $2 }' | sort -u)
fi

set_arp() { # ignore announce
  sysctl -qw "net.ipv4.conf.all.arp_ignore=$1" "net.ipv4.conf.all.arp_announce=$2"
  for dev in "${devs[@]}"; do
    sysctl -qw "net.ipv4.conf.${dev//./\/}.arp_ignore=$1" "net.ipv4.conf.${dev//./\/}.arp_announce=$2"
  done
}

on_lo() { [ -n "$(ip -o -4 addr show dev lo to "$1/32")" ]; }

if [ "$undo" -eq 0 ]; then
  # First stop answering ARP for addresses on lo, then add them: the VIP is never announced, not even briefly.
  set_arp 1 2
  for vip in "${vips[@]}"; do
    on_lo "$vip" || ip addr add "$vip/32" dev lo
  done
  echo "dr-real-server.sh: ${vips[*]} on lo; arp_ignore=1 arp_announce=2 on all ${devs[*]}"
else
  for vip in "${vips[@]}"; do
    if on_lo "$vip"; then ip addr del "$vip/32" dev lo; fi
  done
  # Other VIPs (any address on lo outside 127.0.0.0/8) still need the settings.
  others=$(ip -o -4 addr show dev lo | awk '$4 !~ /^127\./ { print $4 }')
  if [ -n "$others" ]; then
    echo "dr-real-server.sh: ${vips[*]} removed; other VIPs remain on lo, ARP settings kept"
  else
    set_arp 0 0
    echo "dr-real-server.sh: ${vips[*]} removed; arp_ignore=0 arp_announce=0 on all ${devs[*]}"
  fi
fi
