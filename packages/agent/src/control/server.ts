/**
 * The control API server: HTTPS only, tRPC over the node adapter, bearer token checked in the context.
 * Request bodies are capped; the server listens on the management address (loopback by default).
 */
import https from "node:https";
import type { AgentInfo } from "@director/model";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import type { Logger } from "pino";
import type { ServiceTable } from "../state/service-table.js";
import type { EventLog } from "../telemetry/event-log.js";
import type { Sampler } from "../telemetry/sampler.js";
import type { Registry } from "prom-client";
import { type Authenticator, scopeAllows } from "./auth.js";
import { appRouter } from "./router.js";

export interface ControlServerOptions {
  host: string;
  port: number;
  cert: string;
  key: string;
  /** PEM of a CA: require client certificates it signed (mutual TLS). */
  clientCa?: string;
  auth: Authenticator;
  metrics: Registry;
  services: ServiceTable;
  sampler: Sampler;
  eventLog: EventLog;
  info: () => AgentInfo;
  log: Logger;
}

export async function startControlServer(o: ControlServerOptions): Promise<{ server: https.Server; url: string; close: () => Promise<void> }> {
  const handler = createHTTPHandler({
    router: appRouter,
    basePath: "/trpc/",
    maxBodySize: 8 * 1024 * 1024,
    createContext: ({ req }) => ({ caller: o.auth.authenticate(req.headers.authorization), services: o.services, sampler: o.sampler, eventLog: o.eventLog, info: o.info }),
    onError: ({ error, path }) => {
      if (error.code === "INTERNAL_SERVER_ERROR") o.log.error({ err: error, path }, "control API error");
    },
  });
  const tlsOptions: https.ServerOptions = { cert: o.cert, key: o.key, minVersion: "TLSv1.2" };
  if (o.clientCa) Object.assign(tlsOptions, { ca: o.clientCa, requestCert: true, rejectUnauthorized: true });
  const server = https.createServer(tlsOptions, (req, res) => {
    if (req.url === "/metrics" && req.method === "GET") {
      const caller = o.auth.authenticate(req.headers.authorization);
      if (!caller) return void res.writeHead(401, { "content-type": "text/plain", "www-authenticate": "Bearer" }).end("missing or wrong bearer token\n");
      if (!scopeAllows(caller.scope, "read")) return void res.writeHead(403).end();
      o.metrics
        .metrics()
        .then((text) => res.writeHead(200, { "content-type": o.metrics.contentType }).end(text))
        .catch((e: Error) => {
          o.log.error({ err: e }, "metrics failed");
          res.writeHead(500).end();
        });
      return;
    }
    if (!req.url?.startsWith("/trpc/")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    handler(req, res);
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: o.host, port: o.port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : o.port;
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  return {
    server,
    url: `https://${host}:${port}/trpc`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
