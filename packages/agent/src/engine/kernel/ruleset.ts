/**
 * The kernel engine's nftables ruleset for VS/NAT, rendered whole from the service table.
 *
 * Per virtual service (TCP or UDP, IPv4 in this version):
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

export function renderServiceRules(vs: VirtualService): { dnat: string; reject: string } {
  const proto = vs.spec.protocol;
  const match = `ip daddr ${vs.host} ${proto} dport ${vs.port}`;
  const eligible = vs.realServers.filter((r) => r.available && r.weight > 0 && !r.overloaded);
  if (eligible.length === 0) return { dnat: "", reject: `    ${match} reject\n` };
  const g = eligible.reduce((acc, r) => gcd(acc, r.weight), 0);
  let slot = 0;
  const entries = eligible.map((r) => {
    const n = r.weight / g;
    const range = n === 1 ? `${slot}` : `${slot}-${slot + n - 1}`;
    slot += n;
    return `${range} : ${r.host} . ${r.port}`;
  });
  return { dnat: `    ${match} dnat ip to numgen inc mod ${slot} map { ${entries.join(", ")} }\n`, reject: "" };
}

export function renderRuleset(services: Iterable<VirtualService>): string {
  let dnat = "";
  let reject = "";
  for (const vs of services) {
    const r = renderServiceRules(vs);
    dnat += r.dnat;
    reject += r.reject;
  }
  // "add" then "delete" makes the delete valid whether or not the table exists; the new table follows in the
  // same batch, so the swap is one transaction.
  return `add table ip ${TABLE}
delete table ip ${TABLE}
table ip ${TABLE} {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
${dnat}  }
  chain output {
    type nat hook output priority -100; policy accept;
${dnat}  }
  chain input {
    type filter hook input priority 0; policy accept;
${reject}  }
}
`;
}
