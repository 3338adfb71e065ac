import { describe, expect, it } from "vitest";
import type { RealServerStatic, ServiceStatic } from "./frame.js";
import { decodeStatic, encodeStatic } from "./wire.js";

function rs(i: number, over: Partial<RealServerStatic> = {}): RealServerStatic {
  return {
    address: `10.0.${i >> 8}.${i & 255}:8080`,
    forward: "nat",
    weight: 1 + (i % 5),
    effectiveWeight: 1 + (i % 5),
    upperThreshold: 0,
    lowerThreshold: 0,
    adminState: "active",
    condition: "healthy",
    available: true,
    overloaded: false,
    health: { state: "up", check: "http", reason: "HTTP 200 from /healthz", since: 1_700_000_000_000 + i },
    drain: null,
    maintenanceDeadlineSeconds: null,
    ejectedUntil: null,
    slowStartUntil: null,
    ...over,
  };
}

const service = (realServers: RealServerStatic[]): ServiceStatic => ({
  key: "tcp/127.0.0.1:80",
  name: "web",
  protocol: "tcp",
  address: "127.0.0.1:80",
  scheduler: "wlc",
  schedulerFlags: [],
  persistence: { timeout: 300, prefixLength: 24 },
  engine: "userspace",
  quorumUp: true,
  availableWeight: 3000,
  realServers,
});

describe("static part on the wire", () => {
  it("decodes to exactly what was encoded, every field of every real server", () => {
    const st = service([
      rs(0),
      rs(1, { adminState: "draining", condition: "draining", effectiveWeight: 0, drain: { thenMaintenance: true, deadlineSeconds: 300, startedAt: 5 } as never }),
      rs(2, { adminState: "maintenance", condition: "maintenance", available: false, maintenanceDeadlineSeconds: 60 }),
      rs(3, { condition: "down", available: false, health: { state: "down", check: "tcp", reason: "connect ECONNREFUSED", since: 7 } }),
      rs(4, { health: null, overloaded: true, upperThreshold: 100, lowerThreshold: 75, forward: "dr" }),
      rs(5, { ejectedUntil: 99, slowStartUntil: 100 }),
    ]);
    expect(decodeStatic(JSON.parse(JSON.stringify(encodeStatic(st))))).toEqual(st);
  });

  it("keeps 1,000 real servers under 100 KB of JSON (as objects they take ~380 KB)", () => {
    const st = service(Array.from({ length: 1000 }, (_, i) => rs(i, i % 97 === 0 ? { condition: "down", available: false, health: { state: "down", check: "http", reason: `HTTP 503 from /healthz`, since: i } } : {})));
    const objects = JSON.stringify(st).length;
    const wire = JSON.stringify(encodeStatic(st)).length;
    expect(objects).toBeGreaterThan(300_000);
    expect(wire).toBeLessThan(100_000);
  });
});
