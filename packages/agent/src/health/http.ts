/**
 * http, https — keepalived HTTP_GET and SSL_GET: send `GET <path>` with a Host header (keepalived
 * `virtualhost`, else the target's address and port, as keepalived does) and `Connection: close`; the server is
 * up when the status is in `expectStatus` (keepalived `status_code`: codes and ranges, "200-399" by default
 * here), the body matches `bodyRegex` (keepalived `regex`) and its MD5 equals `digest` (keepalived `digest`,
 * the value `genhash` prints).
 *
 * The body is read only when a body test is configured, and never past 1 MiB: a regex is tested against the
 * first MiB; a digest of a longer body cannot be verified and fails ("body over 1 MiB, digest not checked").
 * https: SNI is `sni`, else the Host header's name (none for an address), as keepalived's `enable_sni` sends the
 * virtualhost; `verify: false` (the default, as keepalived SSL_GET without a CA) accepts any certificate, `true`
 * checks the chain against the system CAs and the name against the SNI name.
 *
 * Reasons read "HTTP 503 from /healthz"; a query string is shown as "?…" since it may hold a token. bodyRegex
 * is a JavaScript regular expression: unlike keepalived's PCRE, `$` does not match before a final newline.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { HealthCheck } from "@director/model";
import { compilePattern, errorWords, runCheck, type CheckRun } from "./tcp.js";
import type { CheckTarget, Checker, CheckerFactory } from "./types.js";

type HttpSpec = Extract<HealthCheck, { type: "http" }>;
type HttpsSpec = Extract<HealthCheck, { type: "https" }>;

const BODY_CAP = 1024 * 1024;

/** "200", "200-399" → a predicate over status codes. */
export function statusMatcher(list: readonly string[]): (status: number) => boolean {
  const ranges = list.map((item) => {
    const [low, high = low] = item.split("-").map(Number) as [number, number?];
    return [low, high] as const;
  });
  return (status) => ranges.some(([low, high]) => status >= low && status <= high);
}

function hostHeader(target: CheckTarget, defaultPort: number): string {
  const host = net.isIPv6(target.host) ? `[${target.host}]` : target.host;
  return target.port === defaultPort ? host : `${host}:${target.port}`;
}

/** The name part of a Host header value ("example.com:8443" → "example.com", "[::1]:80" → "::1"). */
function hostName(header: string): string {
  if (header.startsWith("[")) return header.slice(1, header.indexOf("]"));
  const colon = header.lastIndexOf(":");
  return colon >= 0 && header.indexOf(":") === colon ? header.slice(0, colon) : header;
}

const CERT_CODE = /CERT|SELF_SIGNED|LEAF_SIGNATURE|ISSUER|HOSTNAME/;

function requestError(err: Error & { code?: string }, connected: boolean): string {
  const code = err.code ?? "";
  if (CERT_CODE.test(code)) return `TLS certificate rejected: ${err.message} (${code})`;
  if (code.startsWith("ERR_SSL") || code === "EPROTO") {
    // OpenSSL's words sit between colons: "…:SSL routines:ssl3_get_record:wrong version number:…".
    const openssl = /SSL routines:[^:]*:([^:]+)/.exec(err.message)?.[1];
    return `TLS handshake failed: ${openssl ?? code}`;
  }
  if (connected && code === "ECONNRESET") return "connection closed before an HTTP response";
  return errorWords(connected ? "connection" : "connect", err);
}

function get(spec: HttpSpec | HttpsSpec, tls: { sni?: string; verify: boolean } | undefined): Checker {
  const statusOk = statusMatcher(spec.expectStatus);
  const bodyPattern = compilePattern(spec.bodyRegex);
  const digest = spec.digest?.toLowerCase();
  // Reasons reach logs and the console; a query string may carry a token, so it is left out.
  const shownPath = spec.path.replace(/\?.*$/s, "?…");
  return (target, signal) =>
    runCheck(signal, (run) => {
      if (typeof bodyPattern === "string") return run.finish(false, `bodyRegex does not compile: ${bodyPattern}`);
      const host = spec.host ?? hostHeader(target, tls ? 443 : 80);
      const options: https.RequestOptions = {
        host: target.host,
        port: target.port,
        family: target.family,
        method: "GET",
        path: spec.path,
        headers: { Host: host, Connection: "close", "User-Agent": "director-healthcheck" },
        agent: false,
      };
      if (tls) {
        const name = tls.sni ?? hostName(host);
        // An empty servername sends no SNI (an address is not a valid server name).
        options.servername = net.isIP(name) ? "" : name;
        options.rejectUnauthorized = tls.verify;
      }
      let connected = false;
      run.phase = "while connecting";
      const req = (tls ? https : http).request(options);
      run.onSettle(() => req.destroy());
      req.on("socket", (socket) => {
        socket.once(tls ? "secureConnect" : "connect", () => {
          connected = true;
          run.phase = "waiting for the HTTP response";
        });
      });
      req.on("error", (err) => run.finish(false, requestError(err, connected)));
      req.on("response", (res) => {
        res.on("error", (err) => run.finish(false, errorWords("HTTP body", err)));
        const what = `HTTP ${res.statusCode} from ${shownPath}`;
        if (!statusOk(res.statusCode ?? 0)) return run.finish(false, what);
        if (!bodyPattern && !digest) return run.finish(true, what);
        readBody(run, res, what, bodyPattern, digest);
      });
      req.end();
    });
}

function readBody(run: CheckRun, res: http.IncomingMessage, what: string, pattern: RegExp | undefined, digest: string | undefined): void {
  run.phase = "reading the HTTP body";
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  const judge = () => {
    const body = Buffer.concat(chunks, size);
    if (pattern && !pattern.test(body.toString("utf8"))) return run.finish(false, `${what}: body does not match /${pattern.source}/`);
    if (digest) {
      if (truncated) return run.finish(false, `${what}: body over 1 MiB, digest not checked`);
      const actual = createHash("md5").update(body).digest("hex");
      if (actual !== digest) return run.finish(false, `${what}: digest mismatch (body MD5 ${actual})`);
    }
    run.finish(true, what);
  };
  res.on("data", (chunk: Buffer) => {
    if (run.settled) return;
    if (size + chunk.length > BODY_CAP) {
      chunks.push(chunk.subarray(0, BODY_CAP - size));
      size = BODY_CAP;
      truncated = true;
      return judge();
    }
    chunks.push(chunk);
    size += chunk.length;
  });
  res.on("end", () => {
    if (!run.settled) judge();
  });
  res.on("close", () => {
    if (!run.settled && !res.complete) run.finish(false, `${what}: connection closed inside the body`);
  });
}

export const httpGet: CheckerFactory<HttpSpec> = (spec) => get(spec, undefined);

export const httpsGet: CheckerFactory<HttpsSpec> = (spec) => get(spec, { sni: spec.sni, verify: spec.verify });
