#!/usr/bin/env node
/**
 * The console's only entry point, for development (--dev) and production: HTTPS only.
 *  - TLS certificate and key from CONSOLE_TLS_CERT / CONSOLE_TLS_KEY, or a self-signed one made on first start and
 *    kept in the state dir (tls/, mode 0600).
 *  - No plaintext listener, except CONSOLE_HTTP_REDIRECT_PORT, which only answers 308 to the HTTPS URL.
 *  - Every response carries HSTS (2 years), a strict Content-Security-Policy with a per-request script nonce
 *    (also handed to Next.js through the request header it reads), nosniff, Referrer-Policy, frame-ancestors
 *    'none' / X-Frame-Options DENY, COOP.
 *  - Headers only Next.js itself may set (x-middleware-subrequest, x-invoke-*, …) are dropped from requests, and
 *    the client address is taken from the socket (x-director-client-ip), not from what the client claims.
 *  - NEXTAUTH_SECRET is generated once and kept in the state dir; NEXTAUTH_URL defaults to https://localhost:PORT.
 * Plain .mjs because Node 20 cannot run TypeScript directly.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import { fileURLToPath } from "node:url";
import next from "next";
import { generate } from "selfsigned";

const here = path.dirname(fileURLToPath(import.meta.url));
const dev = process.argv.includes("--dev");
const port = Number(process.env.PORT ?? 8443);
const host = process.env.HOST ?? "127.0.0.1";
const stateDir = path.resolve(process.env.CONSOLE_STATE_DIR ?? defaultStateDir());
fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
process.env.CONSOLE_STATE_DIR = stateDir;

function defaultStateDir() {
  if (process.getuid?.() === 0) return "/var/lib/director-console";
  const base = process.env.XDG_STATE_HOME || path.join(process.env.HOME || ".", ".local", "state");
  return path.join(base, "director-console");
}

function writeSecret(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, "w", 0o600);
  fs.writeSync(fd, data);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

async function tlsOptions() {
  if (process.env.CONSOLE_TLS_CERT || process.env.CONSOLE_TLS_KEY) {
    if (!process.env.CONSOLE_TLS_CERT || !process.env.CONSOLE_TLS_KEY) throw new Error("set both CONSOLE_TLS_CERT and CONSOLE_TLS_KEY");
    return { cert: fs.readFileSync(process.env.CONSOLE_TLS_CERT), key: fs.readFileSync(process.env.CONSOLE_TLS_KEY) };
  }
  const dir = path.join(stateDir, "tls");
  const certFile = path.join(dir, "cert.pem");
  const keyFile = path.join(dir, "key.pem");
  if (!fs.existsSync(certFile) || !fs.existsSync(keyFile)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pems = await generate([{ name: "commonName", value: "localhost" }], {
      keySize: 2048,
      algorithm: "sha256",
      notAfterDate: new Date(Date.now() + 825 * 86400_000),
      extensions: [
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
        { name: "extKeyUsage", serverAuth: true },
        { name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }, { type: 7, ip: "::1" }] },
      ],
    });
    writeSecret(keyFile, pems.private);
    writeSecret(certFile, pems.cert);
  }
  return { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
}

function ensureAuthSecret() {
  if (process.env.NEXTAUTH_SECRET) return;
  const file = path.join(stateDir, "nextauth.secret");
  if (!fs.existsSync(file)) writeSecret(file, crypto.randomBytes(32).toString("base64url"));
  process.env.NEXTAUTH_SECRET = fs.readFileSync(file, "utf8").trim();
}

/** Request headers that only Next.js (or a proxy we trust) may set: a client sending them must change nothing. */
const INTERNAL = /^(x-middleware-|x-invoke-|x-nextjs-|x-next-|x-now-|x-matched-path$|x-vercel-|x-director-client-ip$|x-forwarded-|forwarded$|x-real-ip$)/;

function securityHeaders(res, nonce) {
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    // Inline style attributes (recharts, React style props) need 'unsafe-inline' for styles; scripts never do.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self'${dev ? " wss:" : ""}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "upgrade-insecure-requests",
  ].join("; ");
  res.setHeader("Strict-Transport-Security", "max-age=63072000; includeSubDomains");
  res.setHeader("Content-Security-Policy", csp);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("X-Frame-Options", "DENY");
  res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
  res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
  res.setHeader("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()");
  return csp;
}

async function main() {
  ensureAuthSecret();
  process.env.NEXTAUTH_URL ??= `https://localhost:${port}`;
  if (!process.env.NEXTAUTH_URL.startsWith("https://")) throw new Error("NEXTAUTH_URL must be an https:// URL: the console serves HTTPS only");
  const app = next({ dev, dir: here, hostname: "localhost", port });
  const handle = app.getRequestHandler();
  await app.prepare();
  const server = https.createServer({ ...(await tlsOptions()), minVersion: "TLSv1.2" }, (req, res) => {
    for (const h of Object.keys(req.headers)) if (INTERNAL.test(h)) delete req.headers[h];
    req.headers["x-director-client-ip"] = (req.socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
    const nonce = crypto.randomBytes(16).toString("base64");
    req.headers["content-security-policy"] = securityHeaders(res, nonce);
    handle(req, res);
  });
  if (dev) server.on("upgrade", app.getUpgradeHandler());
  server.listen(port, host, () => {
    process.stdout.write(`Director console listening on https://${host.includes(":") ? `[${host}]` : host}:${port} (${dev ? "development" : "production"})\n`);
  });
  const redirectPort = process.env.CONSOLE_HTTP_REDIRECT_PORT;
  let redirect;
  if (redirectPort) {
    redirect = http.createServer((req, res) => {
      const target = new URL(req.url ?? "/", process.env.NEXTAUTH_URL);
      res.writeHead(308, { Location: target.href, "Content-Length": "0" });
      res.end();
    });
    redirect.listen(Number(redirectPort), host);
  }
  const stop = () => {
    server.close();
    redirect?.close();
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((e) => {
  process.stderr.write(`console: ${e.stack ?? e}\n`);
  process.exit(1);
});
