/**
 * What each scheduler does, in one line, and what to expect from the simulator's numbers for it (the semantics
 * are in packages/agent/src/scheduler/<name>.ts, the kernel's ip_vs_<name>.c).
 */
export const SCHEDULERS = ["rr", "wrr", "lc", "wlc", "sed", "nq", "lblc", "lblcr", "dh", "sh", "mh", "fo", "ovf", "twos"] as const;
export type Scheduler = (typeof SCHEDULERS)[number];
export const HASHED: ReadonlySet<string> = new Set(["sh", "dh", "mh", "lblc", "lblcr"]);

export const SCHEDULER_INFO: Record<Scheduler, { name: string; expect: string }> = {
  rr: { name: "round robin", expect: "Round robin ignores weights (beyond 0 = quiesced): every eligible real server gets the same share." },
  wrr: { name: "weighted round robin", expect: "Weighted round robin: over a full cycle each real server's share is exactly its weight share." },
  lc: { name: "least-connection", expect: "All connections are held open; lc evens out active connections and ignores weights, so shares come out equal." },
  wlc: { name: "weighted least-connection", expect: "All connections are held open; wlc keeps active connections proportional to weight, so shares converge to the weight shares." },
  sed: { name: "shortest expected delay", expect: "All connections are held open; sed balances (active + 1) / weight, so shares converge to the weight shares." },
  nq: { name: "never queue", expect: "All connections are held open; an idle server is used first, then it behaves as sed (shares follow weights)." },
  lblc: {
    name: "locality-based least-connection",
    expect: "lblc keys on the destination address (the VIP). All simulated flows go to this one VIP, so they stay on the one real server chosen for it.",
  },
  lblcr: {
    name: "locality-based least-connection with replication",
    expect: "lblcr keys on the destination address (the VIP) and replicates only under load; the simulated flows, all to one VIP, stay on the servers chosen for it.",
  },
  dh: { name: "destination hashing", expect: "dh hashes the destination address (the VIP), so every flow to one virtual service lands on the same real server whatever the weights." },
  sh: { name: "source hashing", expect: "sh hashes the client address into a 256-bucket table tiled by weight: shares follow weights approximately." },
  mh: { name: "Maglev hashing", expect: "mh (Maglev) hashes the client address into a large lookup table filled in proportion to weight: shares follow weights closely." },
  fo: { name: "weighted fail over", expect: "Every connection goes to the eligible real server with the highest weight; the others are standbys." },
  ovf: { name: "overflow-connection", expect: "No connection is held here, so the highest-weight server never exceeds its budget and takes every connection." },
  twos: { name: "weighted random two choices", expect: "Two weighted random draws, the less loaded wins; with no connection held the shares follow weights (randomly, seed fixed)." },
};

/** How a drained server's flows should move, per hashed scheduler. */
export const DRAIN_EXPECT: Record<string, string> = {
  mh: "mh: only the drained server's flows move. Maglev is consistent: removing one of N servers remaps about 1/N of the clients, and the others keep theirs (give or take a handful).",
  sh: "sh: the drained server's flows move; sh re-tiles its 256-bucket table on every change, so when the tiling shifts, clients of other servers move too (sh is not consistent).",
  dh: "dh: flows move only if the VIP hashed to the drained server, and then all of them do (one VIP, one bucket).",
  lblc: "lblc: the VIP's flows move only if its remembered server is the drained one; then they all move to the wlc choice.",
  lblcr: "lblcr: the VIP's flows move only if the drained server is in its set; they go to the least loaded remaining member or a new wlc choice.",
};
