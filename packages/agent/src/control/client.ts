/**
 * A typed client for an agent's control API, for the CLI and the console. It pins the agent's certificate
 * (or a CA) instead of trusting the system store, and sends the bearer token. Imports no engine code.
 */
import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import { createTRPCClient, httpLink } from "@trpc/client";
import type { AppRouter } from "./router.js";

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
