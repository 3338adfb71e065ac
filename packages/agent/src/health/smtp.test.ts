import net from "node:net";
import { HealthCheck } from "@director/model";
import { afterEach, describe, expect, it } from "vitest";
import { smtp } from "./smtp.js";
import type { CheckTarget } from "./types.js";

const spec = (fields: Record<string, unknown> = {}) => HealthCheck.parse({ type: "smtp", ...fields }) as Extract<HealthCheck, { type: "smtp" }>;

interface Responder {
  /** Writes right after accept, each after a short pause (a reply split over packets). */
  banner: string[];
  /** Reply to a command line, or undefined to stay silent; "close" closes the connection. */
  onCommand: (line: string) => string | undefined;
}

const servers: net.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
});

/** A tiny SMTP responder on loopback; resolves its target and the command lines it received. */
async function responder(script: Responder): Promise<{ target: CheckTarget; commands: string[] }> {
  const commands: string[] = [];
  const server = net.createServer(async (socket) => {
    socket.on("error", () => {});
    let pending = "";
    socket.on("data", (chunk) => {
      pending += chunk.toString("latin1");
      for (let eol = pending.indexOf("\r\n"); eol >= 0; eol = pending.indexOf("\r\n")) {
        const line = pending.slice(0, eol);
        pending = pending.slice(eol + 2);
        commands.push(line);
        const answer = script.onCommand(line);
        if (answer === "close") socket.end();
        else if (answer !== undefined) socket.write(answer);
      }
    });
    for (const part of script.banner) {
      socket.write(part);
      await new Promise((r) => setTimeout(r, 5));
    }
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { target: { host: "127.0.0.1", port: (server.address() as net.AddressInfo).port, family: 4 }, commands };
}

const polite = (line: string) => {
  if (line.startsWith("HELO ")) return "250-mx.test greets you\r\n250 HELP\r\n";
  if (line === "QUIT") return "221 bye\r\n";
  return "500 what?\r\n";
};

describe("smtp (keepalived SMTP_CHECK)", () => {
  it("is up after 220, HELO → 250, QUIT, and says HELO with the configured name", async () => {
    const { target, commands } = await responder({ banner: ["220 mx.test ESMTP\r\n"], onCommand: polite });
    const outcome = await smtp(spec({ helo: "lb1.example.net" }))(target, AbortSignal.timeout(1000));
    expect(outcome).toMatchObject({ ok: true, reason: "SMTP banner 220, HELO 250" });
    expect(commands).toEqual(["HELO lb1.example.net", "QUIT"]);
  });

  it("reads multi-line replies split across packets before answering", async () => {
    const { target, commands } = await responder({ banner: ["220-mx.test first line\r\n220-sec", "ond line\r\n", "220 ready\r\n"], onCommand: polite });
    const outcome = await smtp(spec())(target, AbortSignal.timeout(1000));
    expect(outcome.ok).toBe(true);
    expect(commands).toEqual(["HELO director", "QUIT"]);
  });

  it("is down on a 554 banner and says it, without sending HELO", async () => {
    const { target, commands } = await responder({ banner: ["554 no service here\r\n"], onCommand: polite });
    const outcome = await smtp(spec())(target, AbortSignal.timeout(1000));
    expect(outcome).toMatchObject({ ok: false, reason: "SMTP banner 554: no service here" });
    await new Promise((r) => setTimeout(r, 20));
    expect(commands).toEqual([]);
  });

  it("is down when HELO is refused", async () => {
    const { target } = await responder({ banner: ["220 mx.test\r\n"], onCommand: (l) => (l.startsWith("HELO") ? "501 Syntax error\r\n" : undefined) });
    expect(await smtp(spec())(target, AbortSignal.timeout(1000))).toMatchObject({ ok: false, reason: "SMTP HELO 501: Syntax error" });
  });

  it("is up when the server closes after QUIT instead of answering 221", async () => {
    const { target } = await responder({
      banner: ["220 mx.test\r\n"],
      onCommand: (l) => (l === "QUIT" ? "close" : "250 ok\r\n"),
    });
    expect(await smtp(spec())(target, AbortSignal.timeout(1000))).toMatchObject({ ok: true });
  });

  it("is down on something that is not SMTP", async () => {
    const { target } = await responder({ banner: ["SSH-2.0-OpenSSH_9.2\r\n"], onCommand: () => undefined });
    expect(await smtp(spec())(target, AbortSignal.timeout(1000))).toMatchObject({
      ok: false,
      reason: 'not an SMTP reply waiting for the SMTP banner: "SSH-2.0-OpenSSH_9.2"',
    });
  });

  it("says where it was waiting when the timeout comes", async () => {
    const silent = await responder({ banner: [], onCommand: () => undefined });
    const banner = await smtp(spec())(silent.target, AbortSignal.timeout(150));
    expect(banner.reason).toMatch(/^timeout after \d+ ms waiting for the SMTP banner$/);
    const mute = await responder({ banner: ["220 mx.test\r\n"], onCommand: () => undefined });
    const helo = await smtp(spec())(mute.target, AbortSignal.timeout(150));
    expect(helo.reason).toMatch(/^timeout after \d+ ms waiting for the reply to HELO$/);
  });

  it("is down when the server hangs up before the banner", async () => {
    const server = net.createServer((socket) => socket.end());
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const target: CheckTarget = { host: "127.0.0.1", port: (server.address() as net.AddressInfo).port, family: 4 };
    expect(await smtp(spec())(target, AbortSignal.timeout(1000))).toMatchObject({
      ok: false,
      reason: "SMTP server closed the connection waiting for the SMTP banner",
    });
  });

  it("never sends a HELO name that could smuggle a command", async () => {
    const { target, commands } = await responder({ banner: ["220 mx.test\r\n"], onCommand: polite });
    const outcome = await smtp(spec({ helo: "x\r\nMAIL FROM:<a@b>" }))(target, AbortSignal.timeout(1000));
    expect(outcome).toMatchObject({ ok: false, reason: "HELO name must be printable ASCII without spaces" });
    expect(commands).toEqual([]);
  });
});
