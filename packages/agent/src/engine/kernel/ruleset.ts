/**
 * The kernel engine's nftables ruleset for VS/NAT, rendered whole from the service table.
 *
 * Per virtual service (TCP or UDP, IPv4 in this version), with named counters per real server in filter/forward
 * (new connections, bytes and packets each way, told apart by the conntrack original destination):
 *   nat/prerouting and nat/output:  ip daddr VIP <proto> dport PORT  dnat ip to numgen inc mod W map { … }
 *   filter/input:                   ip daddr VIP <proto> dport PORT  reject   (nothing eligible: refuse, as IPVS does)
 * The map gives each eligible real server (available, weight > 0, not overloaded) a range of the W slots in
 * proportion to its weight, after dividing the weights by their gcd: rr when every weight is equal, wrr otherwise.
 * Difference from IPVS wrr: the share of each server is exact over every W connections, but the order inside a
 * round is grouped (A A A B B C), not interleaved (A A B A B C) — numgen has no per-server cursor.
 * A server that leaves the map (weight 0, draining, maintenance, failed check) keeps its established connections:
 * conntrack already holds their mapping, exactly the quiesced semantics of IPVS weight 0.
 */
import type { VirtualService } from "../../state/virtual-service.js";

export const TABLE = "director";

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Counter names of one real server of one service (stable across updates: they are the table's objects). */
export function counterNames(vs: VirtualService, rsHost: string, rsPort: number): { conns: string; in: string; out: string } {
  const id = `${vs.spec.protocol}_${vs.host.replaceAll(".", "_")}_${vs.port}__${rsHost.replaceAll(".", "_")}_${rsPort}`;
  return { conns: `c_${id}`, in: `i_${id}`, out: `o_${id}` };
}

interface Rendered {
  dnat: string[];
  reject: string[];
  forward: string[];
  counters: string[];
}

export function renderService(vs: VirtualService, out: Rendered): void {
  const proto = vs.spec.protocol;
  const match = `ip daddr ${vs.host} ${proto} dport ${vs.port}`;
  // Counters for every real server listed, eligible or not (a drained one still carries its connections).
  for (const r of vs.realServers) {
    const c = counterNames(vs, r.host, r.port);
    out.counters.push(c.conns, c.in, c.out);
    const orig = `meta l4proto ${proto} ct original ip daddr ${vs.host} ct original proto-dst ${vs.port}`;
    out.forward.push(`${orig} ct direction original ip daddr ${r.host} ${proto} dport ${r.port} ct state new counter name "${c.conns}"`);
    out.forward.push(`${orig} ct direction original ip daddr ${r.host} ${proto} dport ${r.port} counter name "${c.in}"`);
    out.forward.push(`${orig} ct direction reply ip saddr ${r.host} ${proto} sport ${r.port} counter name "${c.out}"`);
  }
  const eligible = vs.realServers.filter((r) => r.available && r.weight > 0 && !r.overloaded);
  if (eligible.length === 0) {
    out.reject.push(`${match} reject`);
    return;
  }
  const g = eligible.reduce((acc, r) => gcd(acc, r.weight), 0);
  let slot = 0;
  const entries = eligible.map((r) => {
    const n = r.weight / g;
    const range = n === 1 ? `${slot}` : `${slot}-${slot + n - 1}`;
    slot += n;
    return `${range} : ${r.host} . ${r.port}`;
  });
  out.dnat.push(`${match} dnat ip to numgen inc mod ${slot} map { ${entries.join(", ")} }`);
}

/**
 * One nft batch that brings the table to the wanted state: chains are flushed and refilled, counters are
 * table objects created once and kept (so they keep counting across updates), and counters no longer wanted
 * (`obsolete`) are deleted after the rules that used them are gone. The kernel applies the batch atomically.
 */
export function renderBatch(
  services: Iterable<VirtualService>,
  obsolete: Iterable<string>,
  previousForward?: string,
): { script: string; counters: Set<string>; forward: string } {
  const r: Rendered = { dnat: [], reject: [], forward: [], counters: [] };
  for (const vs of services) renderService(vs, r);
  const t = `ip ${TABLE}`;
  const forward = r.forward.join("\n");
  // The counting rules depend only on which real servers exist; a weight, drain or health change leaves them
  // (and the batch small: only the DNAT maps are rewritten).
  const structural = forward !== previousForward;
  const lines = [
    `add table ${t}`,
    `add chain ${t} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    `add chain ${t} output { type nat hook output priority -100; policy accept; }`,
    `add chain ${t} input { type filter hook input priority 0; policy accept; }`,
    `add chain ${t} forward { type filter hook forward priority 0; policy accept; }`,
    // The DNAT rules live once in a regular chain that both NAT hooks jump to (half the batch of two copies).
    `add chain ${t} services`,
    ...["prerouting", "output", "input", "services"].map((c) => `flush chain ${t} ${c}`),
    `add rule ${t} prerouting jump services`,
    `add rule ${t} output jump services`,
    ...r.dnat.map((rule) => `add rule ${t} services ${rule}`),
    ...r.reject.map((rule) => `add rule ${t} input ${rule}`),
  ];
  if (structural) {
    lines.push(
      `flush chain ${t} forward`,
      ...r.counters.map((c) => `add counter ${t} ${c}`),
      ...r.forward.map((rule) => `add rule ${t} forward ${rule}`),
      ...[...obsolete].filter((c) => !r.counters.includes(c)).map((c) => `delete counter ${t} ${c}`),
    );
  }
  return { script: `${lines.join("\n")}\n`, counters: new Set(r.counters), forward };
}
