import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { TLSSocket } from "node:tls";
import { HealthCheck } from "@director/model";
import selfsigned from "selfsigned";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../test/helpers/ports.js";
import { startNginx } from "../../test/helpers/nginx.js";
import { httpGet, httpsGet } from "./http.js";
import type { CheckTarget } from "./types.js";

const httpSpec = (fields: Record<string, unknown>) => HealthCheck.parse({ type: "http", ...fields }) as Extract<HealthCheck, { type: "http" }>;
const httpsSpec = (fields: Record<string, unknown>) => HealthCheck.parse({ type: "https", ...fields }) as Extract<HealthCheck, { type: "https" }>;

const BIG = Buffer.alloc(2 * 1024 * 1024, "a");
const EXACT = Buffer.alloc(1024 * 1024, "b");

/** Routes shared by the plain and TLS servers; every request's Host header and SNI name are recorded. */
const seen: { host?: string; servername?: string | false; connection?: string }[] = [];
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  seen.push({ host: req.headers.host, connection: req.headers.connection, servername: (req.socket as TLSSocket).servername ?? undefined });
  switch (req.url) {
    case "/":
      res.end("ok\n");
      return;
    case "/healthz":
      res.writeHead(503).end("overloaded\n");
      return;
    case "/moved":
      res.writeHead(302, { Location: "/" }).end();
      return;
    case "/status":
      res.end("service status: ok, 3 workers\n");
      return;
    case "/big":
      res.end(BIG);
      return;
    case "/exact":
      res.end(EXACT);
      return;
    case "/hang":
      return; // headers never come
    default:
      res.writeHead(404).end();
  }
}

let plain: http.Server;
let secure: https.Server;
let silent: net.Server;
let plainAt: CheckTarget;
let secureAt: CheckTarget;
let silentAt: CheckTarget;

async function listen(server: net.Server): Promise<CheckTarget> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { host: "127.0.0.1", port: (server.address() as net.AddressInfo).port, family: 4 };
}

beforeAll(async () => {
  const pems = await selfsigned.generate([{ name: "commonName", value: "localhost" }], { keyType: "ec", curve: "P-256" });
  plain = http.createServer(handler);
  secure = https.createServer({ key: pems.private, cert: pems.cert }, handler);
  // Accepts and reads, never answers (reading lets it see the checker's close).
  silent = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.resume();
  });
  [plainAt, secureAt, silentAt] = await Promise.all([listen(plain), listen(secure), listen(silent)]);
});
afterAll(async () => {
  for (const server of [plain, secure, silent]) {
    (server as http.Server).closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

const within = (ms = 2000) => AbortSignal.timeout(ms);
const md5 = (text: string | Buffer) => createHash("md5").update(text).digest("hex");

describe("http (keepalived HTTP_GET)", () => {
  it("is up on 200 and says so", async () => {
    const outcome = await httpGet(httpSpec({}))(plainAt, within());
    expect(outcome).toMatchObject({ ok: true, reason: "HTTP 200 from /" });
  });

  it("is down on 503 with the status and the path", async () => {
    const outcome = await httpGet(httpSpec({ path: "/healthz" }))(plainAt, within());
    expect(outcome).toMatchObject({ ok: false, reason: "HTTP 503 from /healthz" });
  });

  it.each([
    { expectStatus: ["200-399"], path: "/moved", ok: true, why: "302 is inside the default range" },
    { expectStatus: ["200"], path: "/moved", ok: false, why: "302 is not 200" },
    { expectStatus: ["200", "300-302"], path: "/moved", ok: true, why: "302 is in the second range" },
    { expectStatus: ["500-599"], path: "/healthz", ok: true, why: "a check that wants errors" },
    { expectStatus: ["200-299"], path: "/nothing", ok: false, why: "404 is outside 2xx" },
  ])("status list $expectStatus for $path → ok=$ok ($why)", async ({ expectStatus, path, ok }) => {
    const outcome = await httpGet(httpSpec({ expectStatus, path }))(plainAt, within());
    expect(outcome.ok).toBe(ok);
    expect(outcome.reason).toMatch(new RegExp(`^HTTP \\d{3} from ${path}`));
  });

  it("checks the body against bodyRegex", async () => {
    const match = await httpGet(httpSpec({ path: "/status", bodyRegex: "status: ok, \\d+ workers" }))(plainAt, within());
    expect(match).toMatchObject({ ok: true, reason: "HTTP 200 from /status" });
    const miss = await httpGet(httpSpec({ path: "/status", bodyRegex: "^ready$" }))(plainAt, within());
    expect(miss).toMatchObject({ ok: false, reason: "HTTP 200 from /status: body does not match /^ready$/" });
  });

  it("checks the body's MD5 against digest (keepalived genhash)", async () => {
    const match = await httpGet(httpSpec({ digest: md5("ok\n").toUpperCase() }))(plainAt, within());
    expect(match).toMatchObject({ ok: true, reason: "HTTP 200 from /" });
    const miss = await httpGet(httpSpec({ digest: md5("something else") }))(plainAt, within());
    expect(miss.ok).toBe(false);
    expect(miss.reason).toBe(`HTTP 200 from /: digest mismatch (body MD5 ${md5("ok\n")})`);
  });

  it("reads at most 1 MiB: a regex sees the first MiB, a digest of a longer body is not checked", async () => {
    const regex = await httpGet(httpSpec({ path: "/big", bodyRegex: "^a+$" }))(plainAt, within());
    expect(regex).toMatchObject({ ok: true });
    const digest = await httpGet(httpSpec({ path: "/big", digest: md5(BIG) }))(plainAt, within());
    expect(digest).toMatchObject({ ok: false, reason: "HTTP 200 from /big: body over 1 MiB, digest not checked" });
    const exact = await httpGet(httpSpec({ path: "/exact", digest: md5(EXACT) }))(plainAt, within());
    expect(exact).toMatchObject({ ok: true, reason: "HTTP 200 from /exact" });
  });

  it("sends the configured Host header, else address:port, and Connection: close", async () => {
    seen.length = 0;
    await httpGet(httpSpec({ host: "www.example.com" }))(plainAt, within());
    await httpGet(httpSpec({}))(plainAt, within());
    expect(seen).toEqual([
      expect.objectContaining({ host: "www.example.com", connection: "close" }),
      expect.objectContaining({ host: `127.0.0.1:${plainAt.port}`, connection: "close" }),
    ]);
  });

  it("leaves the query string, which may hold a token, out of the reason", async () => {
    const outcome = await httpGet(httpSpec({ path: "/healthz?token=s3cr3t" }))(plainAt, within());
    expect(outcome.reason).toBe("HTTP 404 from /healthz?…");
  });

  it("fails a bodyRegex that does not compile without throwing", async () => {
    const outcome = await httpGet(httpSpec({ bodyRegex: "(" }))(plainAt, within());
    expect(outcome.ok).toBe(false);
    expect(outcome.reason).toMatch(/^bodyRegex does not compile/);
  });

  it("says 'timeout after N ms' against a server that accepts and never answers", async () => {
    const outcome = await httpGet(httpSpec({}))(silentAt, within(200));
    expect(outcome.ok).toBe(false);
    expect(outcome.reason).toMatch(/^timeout after \d+ ms waiting for the HTTP response$/);
    const ms = Number(/after (\d+) ms/.exec(outcome.reason)![1]);
    expect(ms).toBeGreaterThanOrEqual(195);
    expect(ms).toBeLessThan(1000);
    const open = () => new Promise<number>((resolve) => silent.getConnections((_, n) => resolve(n)));
    for (let i = 0; i < 50 && (await open()) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await open()).toBe(0);
  });

  it("says 'timeout' for an HTTP server that never sends its headers", async () => {
    const outcome = await httpGet(httpSpec({ path: "/hang" }))(plainAt, within(150));
    expect(outcome.reason).toMatch(/^timeout after \d+ ms waiting for the HTTP response$/);
  });

  it("is down with the system's words when nothing listens", async () => {
    const outcome = await httpGet(httpSpec({}))({ host: "127.0.0.1", port: await freePort(), family: 4 }, within());
    expect(outcome).toMatchObject({ ok: false, reason: "connect ECONNREFUSED" });
  });

  it("fails in words, not a throw, on a path Node will not send", async () => {
    const outcome = await httpGet(httpSpec({ path: "/a b" }))(plainAt, within());
    expect(outcome.ok).toBe(false);
    expect(outcome.reason).toMatch(/^check failed: .*unescaped characters/);
  });

  it("checks an IPv6 target, with the address bracketed in the Host header", async (ctx) => {
    const v6 = http.createServer(handler);
    const listening = await new Promise<boolean>((resolve) => {
      v6.once("error", () => resolve(false));
      v6.listen(0, "::1", () => resolve(true));
    });
    if (!listening) return ctx.skip("no IPv6 loopback here");
    try {
      seen.length = 0;
      const target: CheckTarget = { host: "::1", port: (v6.address() as net.AddressInfo).port, family: 6 };
      expect(await httpGet(httpSpec({}))(target, within())).toMatchObject({ ok: true, reason: "HTTP 200 from /" });
      expect(seen[0]?.host).toBe(`[::1]:${target.port}`);
    } finally {
      v6.closeAllConnections();
      await new Promise<void>((resolve) => v6.close(() => resolve()));
    }
  });

  it("speaks to a TLS port as plain HTTP and fails in words, not a throw", async () => {
    const outcome = await httpGet(httpSpec({}))(secureAt, within(500));
    expect(outcome.ok).toBe(false);
  });
});

describe("https (keepalived SSL_GET)", () => {
  it("passes a self-signed certificate with verify off (the default)", async () => {
    const outcome = await httpsGet(httpsSpec({}))(secureAt, within());
    expect(outcome).toMatchObject({ ok: true, reason: "HTTP 200 from /" });
  });

  it("fails a self-signed certificate with verify on, naming the certificate problem", async () => {
    const outcome = await httpsGet(httpsSpec({ verify: true, sni: "localhost" }))(secureAt, within());
    expect(outcome.ok).toBe(false);
    expect(outcome.reason).toMatch(/^TLS certificate rejected: self[- ]signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/);
  });

  it("sends sni as the TLS server name, else the Host header's name, and none for an address", async () => {
    seen.length = 0;
    await httpsGet(httpsSpec({ sni: "api.example.com", host: "www.example.com" }))(secureAt, within());
    await httpsGet(httpsSpec({ host: "www.example.com:8443" }))(secureAt, within());
    await httpsGet(httpsSpec({}))(secureAt, within());
    expect(seen.map((s) => s.servername)).toEqual(["api.example.com", "www.example.com", false]);
    expect(seen.map((s) => s.host)).toEqual(["www.example.com", "www.example.com:8443", `127.0.0.1:${secureAt.port}`]);
  });

  it("applies status, regex and digest over TLS too", async () => {
    const down = await httpsGet(httpsSpec({ path: "/healthz" }))(secureAt, within());
    expect(down).toMatchObject({ ok: false, reason: "HTTP 503 from /healthz" });
    const digest = await httpsGet(httpsSpec({ digest: md5("ok\n") }))(secureAt, within());
    expect(digest.ok).toBe(true);
  });

  it("fails a plain-HTTP port with a TLS reason", async () => {
    const outcome = await httpsGet(httpsSpec({}))(plainAt, within());
    expect(outcome.ok).toBe(false);
    expect(outcome.reason).toBe("TLS handshake failed: wrong version number");
  });
});

const hasNginx = (() => {
  try {
    execFileSync("nginx", ["-v"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasNginx)("http against Debian nginx", () => {
  it("is up with the page's regex and digest, down on a missing page", async () => {
    const port = await freePort();
    const nginx = await startNginx([{ port, name: "rs1" }]);
    try {
      const target: CheckTarget = { host: "127.0.0.1", port, family: 4 };
      // A JavaScript regular expression: `$` does not match before a final newline (PCRE's does).
      const up = await httpGet(httpSpec({ bodyRegex: "^rs1\\n$", digest: md5("rs1\n") }))(target, within());
      expect(up).toMatchObject({ ok: true, reason: "HTTP 200 from /" });
      const down = await httpGet(httpSpec({ path: "/healthz" }))(target, within());
      expect(down.ok).toBe(false);
      expect(down.reason).toMatch(/^HTTP 4\d\d from \/healthz$/);
    } finally {
      await nginx.stop();
    }
  });
});
