import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tcp } from "./tcp.js";
import type { CheckTarget } from "./types.js";

const spec = { type: "tcp", interval: 2, timeout: 1, rise: 2, fall: 3, startState: "up", onFailure: "remove" } as const;

let server: net.Server;
let port: number;

beforeAll(async () => {
  server = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A loopback port nothing listens on: bound, read, closed. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return p;
}

const at = (p: number): CheckTarget => ({ host: "127.0.0.1", port: p, family: 4 });

describe("tcp (keepalived TCP_CHECK)", () => {
  it("is up when the connection completes", async () => {
    const outcome = await tcp(spec)(at(port), AbortSignal.timeout(1000));
    expect(outcome).toMatchObject({ ok: true, reason: "connected" });
    expect(outcome.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("is down with the system's words when the port is closed", async () => {
    const outcome = await tcp(spec)(at(await closedPort()), AbortSignal.timeout(1000));
    expect(outcome).toMatchObject({ ok: false, reason: "connect ECONNREFUSED" });
  });

  // A listening socket that never completes handshakes cannot be made from Node (it accepts for us), so the
  // timeout path is driven by aborting the caller's signal while the connect to a real server is in flight.
  it("says 'timeout after N ms' and closes the socket when the signal aborts mid-connect", async () => {
    // This server keeps what it accepts, so a socket the checker left open would stay counted.
    const hold = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.resume();
  });
    await new Promise<void>((resolve) => hold.listen(0, "127.0.0.1", resolve));
    const controller = new AbortController();
    const pending = tcp(spec)(at((hold.address() as net.AddressInfo).port), controller.signal);
    controller.abort();
    const outcome = await pending;
    expect(outcome.ok).toBe(false);
    expect(outcome.reason).toMatch(/^timeout after \d+ ms while connecting$/);
    const open = () => new Promise<number>((resolve) => hold.getConnections((_, n) => resolve(n)));
    for (let i = 0; i < 50 && (await open()) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await open()).toBe(0);
    await new Promise<void>((resolve) => hold.close(() => resolve()));
  });

  it("settles at once on a signal that is already aborted", async () => {
    const outcome = await tcp(spec)(at(port), AbortSignal.abort());
    expect(outcome).toMatchObject({ ok: false, reason: "timeout after 0 ms" });
  });
});
