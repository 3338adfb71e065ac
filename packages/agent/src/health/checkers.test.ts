import net from "node:net";
import { HealthCheck, type HealthCheckInput } from "@director/model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkers, createChecker } from "./checkers.js";
import type { CheckTarget } from "./types.js";

/** One valid spec per model type: if the model grows a type, this table (and the registry) must grow too. */
const examples: Record<HealthCheck["type"], HealthCheckInput> = {
  tcp: { type: "tcp" },
  http: { type: "http", path: "/healthz" },
  https: { type: "https", sni: "example.com" },
  udp: { type: "udp", payload: "ping" },
  dns: { type: "dns", name: "example.com" },
  smtp: { type: "smtp" },
  exec: { type: "exec", command: ["true"] },
  agent: { type: "agent", port: 9999 },
};

let server: net.Server;
let target: CheckTarget;

beforeAll(async () => {
  server = net.createServer((socket) => {
    socket.on("error", () => {}); // the tcp check resets the connection before reading
    socket.end("up 50%\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  target = { host: "127.0.0.1", port: (server.address() as net.AddressInfo).port, family: 4 };
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("checker registry", () => {
  it("has exactly one factory per model type", () => {
    expect(Object.keys(checkers).sort()).toEqual(Object.keys(examples).sort());
  });

  it.each(Object.values(examples))("builds a checker for $type", (input) => {
    expect(typeof createChecker(HealthCheck.parse(input))).toBe("function");
  });

  it("dispatches on the type: the same peer seen by tcp and by agent", async () => {
    const byTcp = await createChecker(HealthCheck.parse(examples.tcp))(target, AbortSignal.timeout(1000));
    expect(byTcp).toMatchObject({ ok: true, reason: "connected" });
    const byAgent = await createChecker(HealthCheck.parse(examples.agent))(target, AbortSignal.timeout(1000));
    expect(byAgent).toMatchObject({ ok: true, reason: "agent says up 50%", weightPercent: 50 });
  });

  it("runs an exec check through the registry", async () => {
    const outcome = await createChecker(HealthCheck.parse(examples.exec))(target, AbortSignal.timeout(1000));
    expect(outcome).toMatchObject({ ok: true, reason: "exit 0" });
  });
});
