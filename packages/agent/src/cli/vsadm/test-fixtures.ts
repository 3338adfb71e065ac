/**
 * Hand-built agent status for vsadm's golden tests. The golden/*.txt files are this same table rendered with
 * ipvsadm's own printf formats (print_title, print_service_entry, print_largenum, print_conn), so a test
 * failure means vsadm's output differs from what ipvsadm would print for it.
 * Given out of order (IPv6 first, servers reversed) so that the tests see ipvsadm's sorting happen.
 */
import type { ConnectionEntry, RealServerStatus, Stats, VirtualServiceStatus } from "@director/model";

const zero: Stats = { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 };
const still = { cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };

function rs(address: string, o: Partial<RealServerStatus> = {}): RealServerStatus {
  return {
    address,
    forward: "nat",
    weight: 1,
    effectiveWeight: 1,
    upperThreshold: 0,
    lowerThreshold: 0,
    adminState: "active",
    available: true,
    overloaded: false,
    activeConns: 0,
    inactiveConns: 0,
    persistConns: 0,
    stats: zero,
    rates: still,
    ...o,
  };
}

function vs(protocol: "tcp" | "udp", address: string, o: Partial<VirtualServiceStatus> = {}): VirtualServiceStatus {
  return {
    protocol,
    address,
    scheduler: "wlc",
    schedulerFlags: [],
    onePacket: false,
    proxyProtocol: "none",
    engine: "userspace",
    realServers: [],
    stats: zero,
    rates: still,
    quorumUp: true,
    availableWeight: 0,
    ...o,
  };
}

const huge: Stats = { conns: 100_000_000, inPkts: 999_999_999, outPkts: 1_000_000_000, inBytes: 100_000_000_000_000, outBytes: 123_456_789_012_345 };

export const SERVICES: VirtualServiceStatus[] = [
  vs("tcp", "[2001:db8::1]:443", {
    engine: "kernel",
    persistence: { timeout: 600, prefixLength: 64 },
    stats: huge,
    realServers: [rs("[2001:db8::10]:443", { forward: "dr", adminState: "maintenance", available: false, stats: huge })],
  }),
  vs("udp", "10.0.0.1:53", {
    scheduler: "rr",
    onePacket: true,
    persistence: { timeout: 300, prefixLength: 24 },
    stats: { conns: 1234, inPkts: 5678, outPkts: 91011, inBytes: 123_456_789, outBytes: 98_765_432_109 },
    rates: { cps: 12.4, inPps: 300, outPps: 250, inBps: 150_000_000, outBps: 5 },
    realServers: [
      rs("10.0.0.12:53", {
        weight: 2,
        effectiveWeight: 2,
        inactiveConns: 7,
        persistConns: 3,
        stats: { conns: 234, inPkts: 678, outPkts: 1011, inBytes: 456_789, outBytes: 432_109 },
        rates: { cps: 1, inPps: 10, outPps: 10, inBps: 1_000_000, outBps: 1 },
      }),
      rs("10.0.0.11:53", {
        inactiveConns: 3,
        persistConns: 1,
        stats: { conns: 1000, inPkts: 5000, outPkts: 90000, inBytes: 123_000_000, outBytes: 98_765_000_000 },
        rates: { cps: 11, inPps: 290, outPps: 240, inBps: 149_000_000, outBps: 4 },
      }),
    ],
  }),
  vs("tcp", "127.0.0.1:8080", {
    name: "web",
    scheduler: "wrr",
    stats: { conns: 42, inPkts: 420, outPkts: 400, inBytes: 42_000, outBytes: 4_200_000 },
    rates: { cps: 2.6, inPps: 30, outPps: 28, inBps: 3000, outBps: 300_000 },
    realServers: [
      rs("127.0.0.1:18082", {
        effectiveWeight: 0,
        adminState: "draining",
        drain: { thenMaintenance: true, startedAt: 1_700_000_000_000 },
        activeConns: 2,
        inactiveConns: 1,
        stats: { conns: 2, inPkts: 20, outPkts: 20, inBytes: 2000, outBytes: 200_000 },
      }),
      rs("127.0.0.1:18081", {
        weight: 3,
        effectiveWeight: 3,
        upperThreshold: 100,
        lowerThreshold: 75,
        activeConns: 5,
        inactiveConns: 10,
        stats: { conns: 40, inPkts: 400, outPkts: 380, inBytes: 40_000, outBytes: 4_000_000 },
        rates: { cps: 3, inPps: 30, outPps: 28, inBps: 3000, outBps: 300_000 },
      }),
    ],
  }),
  vs("tcp", "10.0.0.1:80", {
    scheduler: "sh",
    schedulerFlags: ["sh-port", "sh-fallback"],
    realServers: [
      rs("192.168.1.1:80", { forward: "tun", weight: 5, effectiveWeight: 5 }),
      rs("10.0.0.2:80", { available: false, overloaded: true, activeConns: 4, inactiveConns: 2 }),
    ],
  }),
];

export const CONNECTIONS: ConnectionEntry[] = [
  conn("tcp", "192.168.7.9:50123", "127.0.0.1:8080", "127.0.0.1:18081", "ESTABLISHED", 899),
  conn("tcp", "192.168.7.9:50124", "127.0.0.1:8080", "127.0.0.1:18082", "TIME_WAIT", 59.4),
  conn("udp", "10.9.8.7:40000", "10.0.0.1:53", "10.0.0.11:53", "UDP", 300),
  { ...conn("udp", "10.9.8.0:0", "10.0.0.1:53", "10.0.0.11:53", "NONE", 7200), template: true },
  { ...conn("tcp", "[2001:db8::99]:0", "[2001:db8::1]:443", "[2001:db8::10]:443", "NONE", 2_678_400), template: true },
];

function conn(protocol: "tcp" | "udp", client: string, virtual: string, real: string, state: string, expiresIn: number): ConnectionEntry {
  return { protocol, client, virtual, real, state, expiresIn, template: false, inBytes: 0, outBytes: 0, startedAt: 0 };
}
