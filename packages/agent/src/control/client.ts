/**
 * A typed client for an agent's control API, for the CLI and the console. It pins the agent's certificate
 * (or a CA) instead of trusting the system store, and sends the bearer token. Imports no engine code.
 */
import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import { createTRPCClient, httpLink } from "@trpc/client";
import type { AppRouter } from "./router.js";

// What the streams carry (types only: importing them pulls in no engine code).
export type { RealServerSample, Sample, ServiceSample } from "../telemetry/sampler.js";
export type { LoggedEvent } from "../telemetry/event-log.js";

export interface AgentEndpoint {
  url: string;
  token: string;
  /** PEM of the agent's certificate or its CA. */
  ca?: string;
  /** Client certificate and key (PEM) when the agent requires mutual TLS. */
  cert?: string;
  key?: string;
}

export type AgentClient = ReturnType<typeof createAgentClient>;

export function createAgentClient(ep: AgentEndpoint) {
  const agent = new https.Agent({ ca: ep.ca, cert: ep.cert, key: ep.key, keepAlive: true, minVersion: "TLSv1.2" });
  const fetchImpl = (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    new Promise((resolve, reject) => {
      const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
      if (url.protocol !== "https:") return reject(new Error(`agent URL must be https: ${url.href}`));
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((v, k) => {
        headers[k] = v;
      });
      const req = https.request(url, { method: init?.method ?? "GET", headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers: h }));
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      if (init?.body) req.end(init.body as string);
      else req.end();
    });
  const client = createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: ep.url,
        fetch: fetchImpl as typeof fetch,
        headers: () => ({ authorization: `Bearer ${ep.token}` }),
      }),
    ],
  });
  // The tRPC client is a proxy (any property is a procedure path): answer `close` ourselves.
  const close = () => agent.destroy();
  return new Proxy(client, {
    get: (target, prop, receiver) => (prop === "close" ? close : Reflect.get(target, prop, receiver)),
  }) as typeof client & { close(): void };
}

/** What the agent writes into its state dir so local tools can find it. */
export interface ApiDescriptor {
  url: string;
  certFile: string;
  pid: number;
}

export function defaultStateDir(): string {
  if (process.getuid?.() === 0) return "/var/lib/director";
  const base = process.env.XDG_STATE_HOME || path.join(process.env.HOME || ".", ".local", "state");
  return path.join(base, "director");
}

/** Finds an agent: DIRECTOR_AGENT_URL/TOKEN/CA, else the state dir (DIRECTOR_STATE_DIR or the default). */
export function resolveAgentEndpoint(env: NodeJS.ProcessEnv = process.env): AgentEndpoint {
  if (env.DIRECTOR_AGENT_URL) {
    if (!env.DIRECTOR_AGENT_TOKEN) throw new Error("DIRECTOR_AGENT_URL is set but DIRECTOR_AGENT_TOKEN is not");
    const ep: AgentEndpoint = { url: env.DIRECTOR_AGENT_URL, token: env.DIRECTOR_AGENT_TOKEN };
    if (env.DIRECTOR_AGENT_CA) ep.ca = fs.readFileSync(env.DIRECTOR_AGENT_CA, "utf8");
    if (env.DIRECTOR_AGENT_CERT) ep.cert = fs.readFileSync(env.DIRECTOR_AGENT_CERT, "utf8");
    if (env.DIRECTOR_AGENT_KEY) ep.key = fs.readFileSync(env.DIRECTOR_AGENT_KEY, "utf8");
    return ep;
  }
  const dir = env.DIRECTOR_STATE_DIR || defaultStateDir();
  const apiFile = path.join(dir, "api.json");
  let api: ApiDescriptor;
  try {
    api = JSON.parse(fs.readFileSync(apiFile, "utf8")) as ApiDescriptor;
  } catch {
    throw new Error(`no agent found: ${apiFile} is missing (is director-agent running with --state-dir ${dir}? set DIRECTOR_STATE_DIR or DIRECTOR_AGENT_URL)`);
  }
  let token: string;
  try {
    token = fs.readFileSync(path.join(dir, "agent.token"), "utf8").trim();
  } catch (e) {
    throw new Error(`cannot read the agent token in ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return { url: api.url, token, ca: fs.readFileSync(api.certFile, "utf8") };
}

export interface StreamMessage {
  id?: string;
  event?: string;
  data?: unknown;
}

export interface StreamHandle {
  /** Resolves when the stream ends (closed by either side); rejects on a connection or HTTP error. */
  done: Promise<void>;
  /** Resolves at tRPC's "connected" message: the subscription is live from there. */
  ready: Promise<void>;
  stop(): void;
}

/**
 * Subscribes to one of the agent's SSE streams (`stream.samples`, `stream.events`) with the same pinning and
 * token as the client. Node 20 has no EventSource; this is the small part of one a tRPC subscription needs.
 * Pass the last id seen as `lastEventId` to resume without gaps or repeats.
 */
export function subscribeAgentStream(ep: AgentEndpoint, procedure: "stream.samples" | "stream.events", lastEventId: string | null, onMessage: (m: StreamMessage) => void): StreamHandle {
  let req: ReturnType<typeof https.get> | undefined;
  /** stop() ends the stream on purpose: that is the end of it, not an error. */
  let stopped = false;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((r) => {
    markReady = r;
  });
  const done = new Promise<void>((resolve, reject) => {
    const url = new URL(`${ep.url}/${procedure}?input=${encodeURIComponent(JSON.stringify(lastEventId ? { lastEventId } : {}))}`);
    if (url.protocol !== "https:") return reject(new Error(`agent URL must be https: ${url.href}`));
    req = https.get(url, { ca: ep.ca, cert: ep.cert, key: ep.key, minVersion: "TLSv1.2", headers: { authorization: `Bearer ${ep.token}`, accept: "text/event-stream" } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`agent answered HTTP ${res.statusCode} to ${procedure}`));
      }
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        buf += d;
        let i = buf.indexOf("\n\n");
        while (i >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          i = buf.indexOf("\n\n");
          const m: StreamMessage = {};
          for (const line of block.split("\n")) {
            const c = line.indexOf(":");
            if (c <= 0) continue;
            const k = line.slice(0, c);
            const v = line.slice(c + 1).replace(/^ /, "");
            if (k === "id") m.id = v;
            else if (k === "event") m.event = v;
            else if (k === "data") m.data = v ? JSON.parse(v) : undefined;
          }
          if (m.event === "connected") markReady();
          onMessage(m);
        }
      });
      res.on("close", () => resolve());
      res.on("error", (e) => (stopped ? resolve() : reject(e)));
    });
    req.on("error", (e) => (stopped || (e as NodeJS.ErrnoException).code === "ECONNRESET" ? resolve() : reject(e)));
  });
  return {
    done,
    ready,
    stop: () => {
      stopped = true;
      req?.destroy();
    },
  };
}
