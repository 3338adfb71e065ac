import { describe, expect, it } from "vitest";
import { makeDests } from "../../scheduler/testing.js";
import { conntrackEntry, countConntrack, MAX_PICKS, MIN_PICKS, picksFor, simulatePicks } from "./reweight.js";

const loads = (entries: [number, number, number?][]) => new Map(entries.map(([i, active, inactive]) => [`10.0.0.${i + 1}:80`, { active, inactive: inactive ?? 0 }]));

describe("lc family re-weighting: the kernel's choices for the next K connections", () => {
  it.each([
    { sched: "lc", proto: "tcp", weights: [1, 1, 1], load: loads([]), k: 16, want: [6, 5, 5], what: "lc, idle: even (ties go to the first)" },
    { sched: "lc", proto: "tcp", weights: [1, 1, 1], load: loads([[0, 20]]), k: 16, want: [0, 8, 8], what: "lc: a server holding 20 connections gets none until the others catch up" },
    { sched: "lc", proto: "tcp", weights: [1, 1, 1], load: loads([[0, 2]]), k: 16, want: [4, 6, 6], what: "lc: … and its share once they have" },
    { sched: "lc", proto: "tcp", weights: [1, 1], load: loads([[0, 0, 300]]), k: 4, want: [1, 3], what: "lc: an active connection counts 256, an inactive 1 (300 inactive outweigh one active, not two)" },
    { sched: "wlc", proto: "tcp", weights: [3, 1], load: loads([]), k: 16, want: [12, 4], what: "wlc, idle: in proportion to weight" },
    { sched: "wlc", proto: "tcp", weights: [3, 1], load: loads([[1, 4]]), k: 16, want: [15, 1], what: "wlc: overhead / weight" },
    { sched: "wlc", proto: "tcp", weights: [1, 0, 1], load: loads([]), k: 16, want: [8, 0, 8], what: "quiesced (weight 0): none" },
    { sched: "sed", proto: "tcp", weights: [1, 3], load: loads([]), k: 16, want: [4, 12], what: "sed: (active + 1) / weight" },
    { sched: "nq", proto: "tcp", weights: [1, 3], load: loads([[1, 5]]), k: 16, want: [5, 11], what: "nq: an idle server first, then sed" },
    { sched: "nq", proto: "tcp", weights: [1, 9], load: loads([[1, 5]]), k: 1, want: [1, 0], what: "nq: the idle one wins even at a ninth of the weight" },
    { sched: "wlc", proto: "udp", weights: [1, 1], load: loads([[0, 0, 10]]), k: 16, want: [3, 13], what: "UDP connections count as inactive" },
    { sched: "sed", proto: "udp", weights: [1, 3, 3], load: loads([]), k: 16, want: [0, 16, 0], what: "sed over UDP: active stays 0, so the highest weight takes all (as in IPVS)" },
  ] as const)("$what", ({ sched, proto, weights, load, k, want }) => {
    expect(simulatePicks(sched, proto, makeDests(weights), load, k)).toEqual(want);
  });

  it("unavailable and overloaded servers get nothing; none eligible, nothing", () => {
    const list = makeDests([1, 1, 1]);
    list[0]!.available = false;
    list[1]!.overloaded = true;
    expect(simulatePicks("wlc", "tcp", list, new Map(), 16)).toEqual([0, 0, 16]);
    list[2]!.weight = 0;
    expect(simulatePicks("wlc", "tcp", list, new Map(), 16)).toEqual([0, 0, 0]);
  });

  it("K follows the new connections of the last period, within [max(16, servers), 4096]", () => {
    expect(picksFor(0, 3)).toBe(MIN_PICKS);
    expect(picksFor(100, 3)).toBe(100);
    expect(picksFor(5, 1000)).toBe(1000);
    expect(picksFor(1e9, 3)).toBe(MAX_PICKS);
  });
});

describe("conntrack -L counts", () => {
  it("counts per real server from the reply source: ESTABLISHED active, other TCP states and UDP inactive", () => {
    const lines = [
      "tcp      6 431999 ESTABLISHED src=10.201.0.2 dst=10.201.0.1 sport=40000 dport=80 src=10.202.1.2 dst=10.201.0.2 sport=80 dport=40000 [ASSURED] mark=0 use=1",
      "tcp      6 431998 ESTABLISHED src=10.201.0.3 dst=10.201.0.1 sport=40001 dport=80 packets=3 bytes=180 src=10.202.1.2 dst=10.201.0.3 sport=80 dport=40001 packets=2 bytes=120 [ASSURED] mark=0 use=1",
      "tcp      6 117 TIME_WAIT src=10.201.0.2 dst=10.201.0.1 sport=40002 dport=80 src=10.202.2.2 dst=10.201.0.2 sport=80 dport=40002 [ASSURED] mark=0 use=1",
      "tcp      6 59 SYN_SENT src=10.201.0.2 dst=10.201.0.1 sport=40003 dport=80 [UNREPLIED] src=10.202.3.2 dst=10.201.0.2 sport=80 dport=40003 mark=0 use=1",
      "udp      17 29 src=10.201.0.2 dst=10.201.0.1 sport=5000 dport=53 src=10.202.1.2 dst=10.201.0.2 sport=53 dport=5000 mark=0 use=1",
      "conntrack v1.4.7 (conntrack-tools): 5 flow entries have been shown.",
      "",
    ];
    expect(Object.fromEntries(countConntrack(lines))).toEqual({
      "10.202.1.2:80": { active: 2, inactive: 0 },
      "10.202.2.2:80": { active: 0, inactive: 1 },
      "10.202.3.2:80": { active: 0, inactive: 1 },
      "10.202.1.2:53": { active: 0, inactive: 1 },
    });
  });
});

describe("conntrackEntry: a conntrack -L line as ipvsadm -Lc shows a connection", () => {
  it.each([
    {
      line: "tcp      6 431990 ESTABLISHED src=10.201.0.2 dst=10.201.0.1 sport=41234 dport=80 packets=5 bytes=300 src=10.202.2.2 dst=10.201.0.2 sport=80 dport=41234 packets=4 bytes=900 [ASSURED] mark=0 use=1",
      want: { protocol: "tcp", client: "10.201.0.2:41234", virtual: "10.201.0.1:80", real: "10.202.2.2:80", state: "ESTABLISHED", expiresIn: 431990, inBytes: 300, outBytes: 900 },
    },
    {
      line: "udp      17 28 src=10.1.0.9 dst=10.0.0.1 sport=5353 dport=53 src=10.1.1.2 dst=10.1.1.1 sport=53 dport=5353 mark=0 use=1",
      want: { protocol: "udp", client: "10.1.0.9:5353", virtual: "10.0.0.1:53", real: "10.1.1.2:53", state: "UDP", expiresIn: 28, inBytes: 0, outBytes: 0 },
    },
  ])("$want.protocol $want.state", ({ line, want }) => {
    expect(conntrackEntry(line)).toEqual({ ...want, template: false, startedAt: 0 });
  });

  it("is null for what is not a flow", () => {
    expect(conntrackEntry("conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.")).toBeNull();
    expect(conntrackEntry("")).toBeNull();
  });
});

