/**
 * The kernel engine's simulator: where a new connection would go under a service's current plan, without a
 * packet. For the hashing schedulers (sh, dh, mh) this is exact — the same jhash, seed and table nftables uses
 * (tested against the kernel in kernel-hash.e2e.test.ts); numgen schedulers (rr, wrr, lc family) answer with the
 * share of each real server instead. Persistence templates are kernel state and are not consulted.
 */
import type { RealServer } from "../../state/real-server.js";
import { flowKey, nftJhash } from "./jhash.js";
import type { Dispatch } from "./ruleset.js";

export interface SimFlow {
  clientHost: string;
  clientPort?: number;
  vHost: string;
}

/** The bytes nft hashes for the dispatch's key expression. */
export function keyBytes(key: string, flow: SimFlow): Uint8Array {
  if (key === "ip daddr") return flowKey(flow.vHost);
  if (key === "ip saddr") return flowKey(flow.clientHost);
  return flowKey(flow.clientHost, flow.clientPort ?? 0); // ip saddr . tcp|udp sport
}

/** The table position a flow hashes to (jhash dispatch). */
export function positionOf(d: Extract<Dispatch, { kind: "jhash" }>, flow: SimFlow): number {
  return nftJhash(keyBytes(d.key, flow), d.table.length, d.seed);
}

/** The real server a new flow goes to (null: refused), or undefined for a numgen dispatch (see shares()). */
export function destinationOf(d: Dispatch, flow: SimFlow): RealServer | null | undefined {
  if (d.kind !== "jhash") return undefined;
  return d.table[positionOf(d, flow)] ?? null;
}

/** Each real server's share of new connections under a dispatch (by address). */
export function shares(d: Dispatch): Map<string, number> {
  const out = new Map<string, number>();
  if (d.kind === "numgen") {
    const total = d.slots.reduce((n, s) => n + s.n, 0);
    for (const s of d.slots) if (s.n > 0) out.set(s.rs.address, (out.get(s.rs.address) ?? 0) + s.n / total);
  } else {
    for (const rs of d.table) if (rs) out.set(rs.address, (out.get(rs.address) ?? 0) + 1 / d.table.length);
  }
  return out;
}
