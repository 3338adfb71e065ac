/** Webhooks to a real HTTP receiver: HMAC-signed bodies, retried with back-off after failures. */
import { createHmac, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startTestAgent, type TestAgent } from "./helpers/agent.js";
import { freePort } from "./helpers/ports.js";

let t: TestAgent | undefined;
let receiver: http.Server | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
});

describe("webhooks", () => {
  it("POSTs a signed event, retrying with back-off until the receiver accepts it", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-hook-"));
    const secret = "s3cret-s3cret-s3cret-0123456789";
    fs.writeFileSync(path.join(dir, "secret"), secret, { mode: 0o600 });
    const attempts: { at: number; headers: http.IncomingHttpHeaders; body: string }[] = [];
    const delivered = new Promise<void>((resolve) => {
      receiver = http.createServer((req, res) => {
        let body = "";
        req.on("data", (d) => {
          body += d;
        });
        req.on("end", () => {
          attempts.push({ at: Date.now(), headers: req.headers, body });
          const ok = attempts.length >= 3; // fail twice, then accept
          res.writeHead(ok ? 204 : 500).end();
          if (ok) resolve();
        });
      });
    });
    await new Promise<void>((r) => receiver!.listen(0, "127.0.0.1", r));
    const port = (receiver!.address() as net.AddressInfo).port;
    const vip = await freePort();
    t = await startTestAgent({
      webhooks: [{ name: "pager", url: `http://127.0.0.1:${port}/hook`, secretFile: path.join(dir, "secret"), events: ["adminState.changed"] }],
      virtualServices: [{ address: `127.0.0.1:${vip}`, realServers: [{ address: "127.0.0.1:9" }] }],
    });
    await t.client.config.change.mutate({
      ops: [{ op: "realServer.setAdminState", key: { protocol: "tcp", address: `127.0.0.1:${vip}` }, address: "127.0.0.1:9", state: "draining" }],
    });
    await delivered;
    expect(attempts).toHaveLength(3);
    const gaps = [attempts[1]!.at - attempts[0]!.at, attempts[2]!.at - attempts[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(900); // 1 s
    expect(gaps[1]).toBeGreaterThanOrEqual(1900); // 2 s
    for (const a of attempts) {
      const ts = a.headers["x-director-timestamp"] as string;
      const expected = `sha256=${createHmac("sha256", secret).update(`${ts}.${a.body}`).digest("hex")}`;
      expect(timingSafeEqual(Buffer.from(a.headers["x-director-signature"] as string), Buffer.from(expected))).toBe(true);
      expect(a.headers["x-director-event"]).toBe("adminState.changed");
    }
    const body = JSON.parse(attempts[2]!.body);
    expect(body).toMatchObject({ name: "adminState.changed", payload: { realServer: "127.0.0.1:9", from: "active", to: "draining" } });
    // The secret is nowhere in what the API returns.
    expect(JSON.stringify(await t.client.config.get.query())).not.toContain(secret);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
