import dgram from "node:dgram";
import { HealthCheck } from "@director/model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckTarget } from "./types.js";
import { udp } from "./udp.js";

const spec = (fields: Record<string, unknown>) => HealthCheck.parse({ type: "udp", ...fields }) as Extract<HealthCheck, { type: "udp" }>;

let echo: dgram.Socket;
let silent: dgram.Socket;
let echoAt: CheckTarget;
let silentAt: CheckTarget;
const received: string[] = [];

async function bind(socket: dgram.Socket): Promise<CheckTarget> {
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { host: "127.0.0.1", port: socket.address().port, family: 4 };
}

beforeAll(async () => {
  echo = dgram.createSocket("udp4");
  echo.on("message", (msg, from) => {
    received.push(msg.toString());
    echo.send(Buffer.concat([Buffer.from("echo:"), msg]), from.port, from.address);
  });
  silent = dgram.createSocket("udp4"); // bound, reads, never replies: no ICMP either
  silent.on("message", () => {});
  [echoAt, silentAt] = await Promise.all([bind(echo), bind(silent)]);
});
afterAll(() => {
  echo.close();
  silent.close();
});

/** A UDP port nothing is bound to: bound, read, closed. */
async function unboundPort(): Promise<CheckTarget> {
  const s = dgram.createSocket("udp4");
  const target = await bind(s);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return target;
}

describe("udp (keepalived UDP_CHECK)", () => {
  it("is up when a reply comes back, and sends the payload", async () => {
    received.length = 0;
    const outcome = await udp(spec({ payload: "ping" }))(echoAt, AbortSignal.timeout(1000));
    expect(outcome).toMatchObject({ ok: true, reason: "UDP reply, 9 bytes" });
    expect(received).toEqual(["ping"]);
  });

  it("sends an empty datagram when there is no payload", async () => {
    received.length = 0;
    const outcome = await udp(spec({}))(echoAt, AbortSignal.timeout(1000));
    expect(outcome).toMatchObject({ ok: true, reason: "UDP reply, 5 bytes" });
    expect(received).toEqual([""]);
  });

  it("checks the reply against expect", async () => {
    const match = await udp(spec({ payload: "status", expect: "^echo:stat" }))(echoAt, AbortSignal.timeout(1000));
    expect(match.ok).toBe(true);
    const miss = await udp(spec({ payload: "status", expect: "^pong$" }))(echoAt, AbortSignal.timeout(1000));
    expect(miss).toMatchObject({ ok: false, reason: 'UDP reply does not match /^pong$/: "echo:status"' });
  });

  it("fails at once in words when the port is unreachable (ICMP → ECONNREFUSED on a connected socket)", async () => {
    const outcome = await udp(spec({ payload: "ping" }))(await unboundPort(), AbortSignal.timeout(2000));
    expect(outcome).toMatchObject({ ok: false, reason: "UDP port unreachable (ICMP, ECONNREFUSED)" });
    expect(outcome.latencyMs).toBeLessThan(1000);
  });

  it("says 'timeout after N ms with no UDP reply' when the peer stays silent", async () => {
    const outcome = await udp(spec({ payload: "ping" }))(silentAt, AbortSignal.timeout(150));
    expect(outcome.ok).toBe(false);
    expect(outcome.reason).toMatch(/^timeout after \d+ ms with no UDP reply$/);
  });
});
