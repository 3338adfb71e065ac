import fs from "node:fs";
import { describe, expect, it } from "vitest";
import {
  adminText,
  DEFAULT_FORMAT,
  formatConnections,
  formatServices,
  formatTimeouts,
  largenum,
  maskText,
  sortRealServers,
  sortServices,
} from "./format.js";
import { CONNECTIONS, SERVICES } from "./test-fixtures.js";

/** golden/*.txt: the fixture rendered with ipvsadm's printf formats (trailing padding included). */
const golden = (name: string) => fs.readFileSync(new URL(`./golden/${name}`, import.meta.url), "utf8");

describe("formatServices: ipvsadm -L layouts, byte for byte", () => {
  const cases: [string, Partial<typeof DEFAULT_FORMAT>, string][] = [
    ["-L -n", {}, "list-n.txt"],
    ["-L -n --stats (K/M/T suffixes)", { layout: "stats" }, "stats.txt"],
    ["-L -n --stats --exact", { layout: "stats", exact: true }, "stats-exact.txt"],
    ["-L -n --rate (cps/pps never suffixed)", { layout: "rate" }, "rate.txt"],
    ["-L -n --rate --exact", { layout: "rate", exact: true }, "rate-exact.txt"],
    ["-L -n --thresholds", { layout: "thresholds" }, "thresholds.txt"],
    ["-L -n --persistent-conn", { layout: "persistent-conn" }, "persistent-conn.txt"],
    ["-L -n --admin (one trailing column)", { admin: true }, "admin.txt"],
  ];
  it.each(cases)("%s", (_what, format, file) => {
    expect(formatServices(SERVICES, { ...DEFAULT_FORMAT, ...format })).toBe(golden(file));
  });

  it("the brief's example, exactly", () => {
    const one = SERVICES.filter((s) => s.address === "127.0.0.1:8080").map((s) => ({ ...s, realServers: s.realServers.slice(1) }));
    expect(formatServices(one)).toBe(
      [
        "IP Virtual Server version 1.2.1 (size=4096)",
        "Prot LocalAddress:Port Scheduler Flags",
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
        "TCP  127.0.0.1:8080 wrr",
        "  -> 127.0.0.1:18081              Masq    3      5          10        ",
        "",
      ].join("\n"),
    );
  });

  it("-L -t: one service, no version line (list_service)", () => {
    const out = formatServices([SERVICES[2]!], { ...DEFAULT_FORMAT, header: false });
    expect(out.split("\n").slice(0, 3)).toEqual([
      "Prot LocalAddress:Port Scheduler Flags",
      "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
      "TCP  127.0.0.1:8080 wrr",
    ]);
  });

  it("an empty table is the header and title", () => {
    expect(formatServices([])).toBe(golden("list-n.txt").split("\n").slice(0, 3).join("\n") + "\n");
  });

  it("--nosort keeps the agent's order", () => {
    const out = formatServices(SERVICES, { ...DEFAULT_FORMAT, sort: false });
    const services = out.split("\n").filter((l) => /^(TCP|UDP) /.test(l));
    expect(services.map((l) => l.split(/\s+/)[1])).toEqual(["[2001:db8::1]:443", "10.0.0.1:53", "127.0.0.1:8080", "10.0.0.1:80"]);
    expect(out).toContain("  -> 10.0.0.12:53                 Masq    2      0          7         \n  -> 10.0.0.11:53");
  });

  it("a UDP one-packet service without persistence still says ops (ipvsadm 1.26+)", () => {
    const s = { ...SERVICES[1]!, persistence: undefined, realServers: [] };
    expect(formatServices([s]).split("\n")[3]).toBe("UDP  10.0.0.1:53 rr ops");
  });
});

describe("largenum (print_largenum)", () => {
  const cases: [number, boolean, string][] = [
    [0, false, "        0"],
    [99_999_999, false, " 99999999"],
    [100_000_000, false, "  100000K"],
    [999_999_999, false, "  999999K"],
    [1_000_000_000, false, "    1000M"],
    [99_999_999_999, false, "   99999M"],
    [100_000_000_000, false, "     100G"],
    [99_999_999_999_999, false, "   99999G"],
    [100_000_000_000_000, false, "     100T"],
    [12.5, false, "       13"],
    [-3, false, "        0"],
    [12_345_678, true, " 12345678"],
    [123_456_789, true, " 123456789"],
    [100_000_000_000_000, true, " 100000000000000"],
  ];
  it.each(cases)("%d (exact %s) → %j", (n, exact, want) => {
    expect(largenum(n, exact)).toBe(want);
  });
});

describe("formatConnections (-L -c)", () => {
  it("ipvsadm's layout: MM:SS, minutes past 99 for long templates", () => {
    expect(formatConnections(CONNECTIONS)).toBe(golden("connections.txt"));
  });
  it("with --persistent-conn: the longer title, rows without persistence-engine data", () => {
    expect(formatConnections(CONNECTIONS, true)).toBe(golden("connections-persistent-conn.txt"));
  });
  it("no connections: the two title lines", () => {
    expect(formatConnections([])).toBe("IPVS connection entries\npro expire state       source             virtual            destination\n");
  });
});

describe("small pieces", () => {
  it("formatTimeouts (list_timeout)", () => {
    expect(formatTimeouts({ tcp: 900, tcpFin: 120, udp: 300 })).toBe("Timeout (tcp tcpfin udp): 900 120 300\n");
  });

  it.each([
    [32, 4, "255.255.255.255"],
    [24, 4, "255.255.255.0"],
    [17, 4, "255.255.128.0"],
    [1, 4, "128.0.0.0"],
    [0, 4, "0.0.0.0"],
    [64, 6, "64"],
  ] as const)("maskText(/%d, IPv%d) = %s", (len, family, want) => {
    expect(maskText(len, family)).toBe(want);
  });

  it("adminText: state, then why it takes no new connections", () => {
    const s = SERVICES[3]!.realServers;
    expect(s.map(adminText)).toEqual(["active", "active,down,overloaded"]);
    expect(adminText(SERVICES[0]!.realServers[0]!)).toBe("maintenance");
  });

  it("sorting: family, protocol, address as a number, port", () => {
    const svc = (protocol: "tcp" | "udp", address: string) => ({ protocol, address });
    const input = [
      svc("tcp", "[::1]:80"),
      svc("udp", "10.0.0.1:53"),
      svc("tcp", "200.0.0.1:80"),
      svc("tcp", "10.0.0.1:8080"),
      svc("tcp", "10.0.0.1:443"),
      svc("tcp", "9.255.255.255:80"),
      svc("tcp", "[2001:db8::1]:80"),
      svc("tcp", "[::ffff:1.2.3.4]:80"),
    ];
    expect(sortServices(input).map((s) => `${s.protocol} ${s.address}`)).toEqual([
      "tcp 9.255.255.255:80",
      "tcp 10.0.0.1:443",
      "tcp 10.0.0.1:8080",
      "tcp 200.0.0.1:80",
      "udp 10.0.0.1:53",
      "tcp [::1]:80",
      "tcp [::ffff:1.2.3.4]:80",
      "tcp [2001:db8::1]:80",
    ]);
    expect(sortRealServers([{ address: "10.0.0.10:80" }, { address: "10.0.0.9:81" }, { address: "10.0.0.9:80" }]).map((r) => r.address)).toEqual([
      "10.0.0.9:80",
      "10.0.0.9:81",
      "10.0.0.10:80",
    ]);
  });
});
