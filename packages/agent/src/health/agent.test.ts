import net from "node:net";
import { HealthCheck } from "@director/model";
import { afterEach, describe, expect, it } from "vitest";
import { agent, parseAgentLine } from "./agent.js";
import type { CheckTarget } from "./types.js";

const spec = (fields: Record<string, unknown> = {}) => HealthCheck.parse({ type: "agent", port: 1, ...fields }) as Extract<HealthCheck, { type: "agent" }>;

const servers: net.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
});

/** A tiny agent: answers every connection with `reply` (after the client's first line if `waitForLine`). */
async function tinyAgent(reply: string | Buffer, opts: { waitForLine?: boolean; close?: boolean } = {}): Promise<{ target: CheckTarget; heard: string[] }> {
  const heard: string[] = [];
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    const answer = () => (opts.close === false ? socket.write(reply) : socket.end(reply));
    if (!opts.waitForLine) answer();
    let got = "";
    socket.on("data", (chunk) => {
      got += chunk.toString();
      if (got.includes("\n")) {
        heard.push(got);
        if (opts.waitForLine) answer();
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { target: { host: "127.0.0.1", port: (server.address() as net.AddressInfo).port, family: 4 }, heard };
}

const ask = async (reply: string | Buffer, fields: Record<string, unknown> = {}, opts = {}) => {
  const { target } = await tinyAgent(reply, opts);
  return agent(spec(fields))(target, AbortSignal.timeout(1000));
};

describe("agent (HAProxy agent-check) against a real agent", () => {
  it("up 75% → ok with weightPercent 75", async () => {
    const outcome = await ask("up 75%\n");
    expect(outcome).toMatchObject({ ok: true, reason: "agent says up 75%", weightPercent: 75 });
    expect(outcome.adminRequest).toBeUndefined();
  });

  it("drain → ok with adminRequest drain", async () => {
    expect(await ask("drain\n")).toMatchObject({ ok: true, reason: "agent says drain", adminRequest: "drain" });
  });

  it("down disk full → down, the rest of the line as the reason", async () => {
    expect(await ask("down disk full\n")).toMatchObject({ ok: false, reason: "agent says down: disk full" });
  });

  it("maint → ok with adminRequest maint", async () => {
    expect(await ask("maint\n")).toMatchObject({ ok: true, reason: "agent says maint", adminRequest: "maint" });
  });

  it("reads only the first line and does not wait for the close", async () => {
    expect(await ask("ready,50%\r\ndown\n", {}, { close: false })).toMatchObject({ ok: true, adminRequest: "ready", weightPercent: 50 });
  });

  it("takes a line ended by the close (HAProxy would ignore it)", async () => {
    expect(await ask("stopped")).toMatchObject({ ok: false, reason: "agent says stopped" });
  });

  it("sends `send` verbatim first and answers after it", async () => {
    const { target, heard } = await tinyAgent("up\n", { waitForLine: true });
    const outcome = await agent(spec({ send: "backend web\n" }))(target, AbortSignal.timeout(1000));
    expect(outcome).toMatchObject({ ok: true, reason: "agent says up" });
    expect(heard).toEqual(["backend web\n"]);
  });

  it("fails when the agent closes without a word", async () => {
    expect(await ask("")).toMatchObject({ ok: false, reason: "agent closed without a reply" });
  });

  it("fails a line over 1 KiB", async () => {
    expect(await ask(`${"x".repeat(2000)}\n`)).toMatchObject({ ok: false, reason: "agent line longer than 1 KiB" });
  });

  it("fails when the agent is unreachable, and times out in words when it is silent", async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await agent(spec())({ host: "127.0.0.1", port, family: 4 }, AbortSignal.timeout(1000))).toMatchObject({
      ok: false,
      reason: "connect ECONNREFUSED",
    });
    const { target } = await tinyAgent("up\n", { waitForLine: true });
    const silent = await agent(spec())(target, AbortSignal.timeout(150));
    expect(silent.reason).toMatch(/^timeout after \d+ ms waiting for the agent's line$/);
  });
});

describe("parseAgentLine (HAProxy src/check.c word rules)", () => {
  it.each([
    { line: "up", ok: true, reason: "agent says up", extra: {} },
    { line: "UP 100%", ok: true, reason: "agent says up 100%", extra: { weightPercent: 100 } },
    { line: "75%", ok: true, reason: "agent says 75%", extra: { weightPercent: 75 } },
    { line: "0%", ok: true, reason: "agent says 0%", extra: { weightPercent: 0 } },
    { line: "99999%", ok: true, reason: "agent says 25600%", extra: { weightPercent: 25600 } },
    { line: "ready", ok: true, reason: "agent says ready", extra: { adminRequest: "ready" } },
    { line: "up, drain\t20%", ok: true, reason: "agent says up drain 20%", extra: { adminRequest: "drain", weightPercent: 20 } },
    { line: "50% 60%", ok: true, reason: "agent says 60%", extra: { weightPercent: 60 } },
    { line: "drain maint", ok: true, reason: "agent says maint", extra: { adminRequest: "maint" } },
    { line: "down", ok: false, reason: "agent says down", extra: {} },
    { line: "fail", ok: false, reason: "agent says fail", extra: {} },
    { line: "failed", ok: false, reason: "agent says failed", extra: {} },
    { line: "stopped#maintenance window", ok: false, reason: "agent says stopped: maintenance window", extra: {} },
    { line: "down 0% # no disk", ok: false, reason: "agent says down 0%: no disk", extra: { weightPercent: 0 } },
    { line: "down up", ok: true, reason: "agent says up", extra: {} },
    { line: "up down", ok: false, reason: "agent says down", extra: {} },
    { line: "maxconn:30 up", ok: true, reason: "agent says up", extra: {} },
    { line: "up 75%x hello", ok: true, reason: "agent says up (ignored: 75%x hello)", extra: {} },
    { line: "", ok: true, reason: "agent says nothing to act on", extra: {} },
    { line: "hello", ok: true, reason: "agent says nothing to act on (ignored: hello)", extra: {} },
  ])("$line → ok=$ok", ({ line, ok, reason, extra }) => {
    const parsed = parseAgentLine(line);
    expect(parsed).toEqual({ ok, reason, ...extra });
  });
});
