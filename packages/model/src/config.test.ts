import { describe, expect, it } from "vitest";
import { AgentConfig, formatIssues } from "./config.js";
import { canonicalEndpoint, parseEndpoint } from "./endpoint.js";

const issues = (input: unknown) => {
  const r = AgentConfig.safeParse(input);
  return r.success ? [] : formatIssues(r.error);
};

describe("endpoints", () => {
  it.each([
    ["10.0.0.1:80", { host: "10.0.0.1", port: 80, family: 4 }],
    ["[2001:db8::1]:443", { host: "2001:db8::1", port: 443, family: 6 }],
  ])("parses %s", (text, want) => expect(parseEndpoint(text)).toEqual(want));

  it.each([
    ["10.0.0.1", /no port/],
    ["10.0.0.1:0", /port 0 is out of range/],
    ["10.0.0.1:65536", /port 65536 is out of range/],
    ["example.com:80", /not an IP address/],
    ["2001:db8::1:80", /must be written \[/],
    ["10.0.0.1:8o", /not a port number/],
  ])("refuses %s", (text, msg) => expect((parseEndpoint(text) as { error: string }).error).toMatch(msg));

  it("canonicalises IPv6 so one address has one key", () => {
    expect(canonicalEndpoint("[2001:0db8:0000::0001]:80")).toBe("[2001:db8::1]:80");
  });
});

describe("configuration semantics", () => {
  const vs = (extra: Record<string, unknown> = {}) => ({ address: "10.0.0.1:80", realServers: [{ address: "10.0.1.1:80" }], ...extra });

  it("applies IPVS defaults", () => {
    const c = AgentConfig.parse({ virtualServices: [vs()] });
    expect(c.timeouts).toEqual({ tcp: 900, tcpFin: 120, udp: 300 });
    expect(c.virtualServices[0]!.scheduler).toBe("wlc");
    expect(c.virtualServices[0]!.realServers[0]!.weight).toBe(1);
  });

  it("names the field at fault for each semantic error", () => {
    expect(issues({ virtualServices: [vs(), vs()] })).toEqual(["virtualServices.1.address: duplicate virtual service tcp/10.0.0.1:80"]);
    expect(issues({ virtualServices: [vs({ realServers: [{ address: "10.0.1.1:80" }, { address: "10.0.1.1:80" }] })] })).toEqual([
      "virtualServices.0.realServers.1.address: duplicate real server 10.0.1.1:80",
    ]);
    expect(issues({ virtualServices: [vs({ sorryServer: "10.0.1.1:80" })] })).toEqual([
      "virtualServices.0.sorryServer: sorry server 10.0.1.1:80 is also a real server of this service",
    ]);
    expect(issues({ virtualServices: [vs({ realServers: [{ address: "10.0.1.1:80", upperThreshold: 10, lowerThreshold: 20 }] })] })).toEqual([
      "virtualServices.0.realServers.0.lowerThreshold: lower threshold 20 is above upper threshold 10",
    ]);
    expect(issues({ api: { listen: "10.0.0.1:80" }, virtualServices: [vs()] })).toEqual(["api.listen: the API address 10.0.0.1:80 is also a virtual service"]);
    expect(issues({ virtualServices: [vs({ onePacket: true })] })).toEqual(["virtualServices.0.onePacket: one-packet scheduling (-o) is for UDP services only"]);
    expect(issues({ virtualServices: [vs({ feedback: { coefficients: { cpu: 0.5, memory: 0.5, swap: 0.5, disk: 0, responseTime: 0 } } })] })).toEqual([
      "virtualServices.0.feedback.coefficients: coefficients must sum to 1 (they sum to 1.500)",
    ]);
    expect(issues({ virtualServices: [vs({ bogus: 1 })] })[0]).toMatch(/bogus/);
    expect(issues({ virtualServices: [vs({ realServers: [{ address: "[::1]:80" }] })] })[0]).toMatch(/same address family/);
    expect(issues({ virtualServices: [vs({ interface: "eth0" })] })).toEqual(["virtualServices.0.interface: interface is for kernel-engine VS/DR services (engine: kernel)"]);
    expect(issues({ virtualServices: [vs({ engine: "kernel", interface: "eth0 up" })] })[0]).toMatch(/interface: an interface name is 1-15/);
    expect(issues({ virtualServices: [vs({ engine: "kernel", interface: "a-very-long-name0" })] })[0]).toMatch(/interface: an interface name is 1-15/);
    expect(issues({ virtualServices: [vs({ engine: "kernel", interface: ".." })] })).toEqual(["virtualServices.0.interface: an interface name cannot be . or .."]);
    expect(issues({ virtualServices: [vs({ engine: "kernel", interface: "br-lan.10" })] })).toEqual([]);
    expect(issues({ virtualServices: [vs({ localAddresses: ["10.0.2.1", "10.0.2.2"] })] })).toEqual([]);
    expect(issues({ virtualServices: [vs({ localAddresses: ["10.0.2.1", "10.0.2.1"] })] })).toEqual(["virtualServices.0.localAddresses: a local address is listed twice"]);
    expect(issues({ virtualServices: [vs({ localAddresses: ["10.0.2.300"] })] })).toEqual(["virtualServices.0.localAddresses.0: a local address is an IPv4 address"]);
    expect(issues({ virtualServices: [vs({ localAddresses: [] })] })[0]).toMatch(/^virtualServices\.0\.localAddresses: /);
    expect(issues({ virtualServices: [vs({ address: "[2001:db8::1]:80", realServers: [], localAddresses: ["10.0.2.1"] })] })).toEqual([
      "virtualServices.0.localAddresses: local addresses are IPv4; this virtual service is IPv6",
    ]);
  });
});
