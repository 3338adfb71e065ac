/**
 * Plain HTTPS clients for the console's end-to-end tests (node:https, the console's self-signed certificate
 * accepted): raw requests, a sign-in through the real next-auth endpoints, and tRPC calls over the wire exactly
 * as the browser's client makes them (GET for queries, POST with the CSRF header and a same-origin Origin for
 * mutations).
 */
import http from "node:http";
import https from "node:https";

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

export function request(url: string, o: RequestOptions = {}): Promise<Reply> {
  const u = new URL(url);
  const lib = u.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(u, { method: o.method ?? "GET", headers: o.headers, rejectUnauthorized: false, agent: false, timeout: 20_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url} within 20 s`)));
    req.on("error", reject);
    req.end(o.body);
  });
}

/** name=value pairs from Set-Cookie headers, merged over `jar`. */
export function cookies(reply: Reply, jar: Record<string, string> = {}): Record<string, string> {
  for (const c of reply.headers["set-cookie"] ?? []) {
    const [pair] = c.split(";");
    const i = pair!.indexOf("=");
    jar[pair!.slice(0, i).trim()] = pair!.slice(i + 1).trim();
  }
  return jar;
}

export const cookieHeader = (jar: Record<string, string>) =>
  Object.entries(jar)
    .map(([k, v]) => `${k}=${v}`)
    .join("; ");

export const SESSION_COOKIE = "__Secure-next-auth.session-token";

export interface SignInResult {
  ok: boolean;
  /** The cookie jar after the attempt (with the session cookie on success). */
  jar: Record<string, string>;
  reply: Reply;
}

/** A credentials sign-in through next-auth's own endpoints, as its client library does it (plus `headers`). */
export async function signIn(base: string, username: string, password: string, o: { totp?: string; headers?: Record<string, string> } = {}): Promise<SignInResult> {
  const csrf = await request(`${base}/api/auth/csrf`, { headers: { ...o.headers } });
  if (csrf.status !== 200) throw new Error(`GET /api/auth/csrf: HTTP ${csrf.status}`);
  const jar = cookies(csrf);
  const { csrfToken } = JSON.parse(csrf.body) as { csrfToken: string };
  const body = new URLSearchParams({ csrfToken, username, password, totp: o.totp ?? "", json: "true", callbackUrl: `${base}/` }).toString();
  const reply = await request(`${base}/api/auth/callback/credentials`, {
    method: "POST",
    headers: { ...o.headers, "content-type": "application/x-www-form-urlencoded", cookie: cookieHeader(jar), origin: base },
    body,
  });
  cookies(reply, jar);
  return { ok: Boolean(jar[SESSION_COOKIE]), jar, reply };
}

export interface TrpcReply<T = unknown> {
  status: number;
  data?: T;
  /** The tRPC error code (UNAUTHORIZED, FORBIDDEN…), or the route's own refusal code. */
  code?: string;
  message?: string;
  raw: Reply;
}

function trpcReply<T>(r: Reply): TrpcReply<T> {
  let j: { result?: { data?: T }; error?: { message?: string; code?: string | number; data?: { code?: string } } } = {};
  try {
    j = JSON.parse(r.body);
  } catch {
    // not JSON: leave it to the caller's assertions on status and raw
  }
  const code = j.error?.data?.code ?? (typeof j.error?.code === "string" ? j.error.code : undefined);
  return { status: r.status, raw: r, ...(j.result ? { data: j.result.data as T } : {}), ...(code ? { code } : {}), ...(j.error?.message ? { message: j.error.message } : {}) };
}

export async function trpcQuery<T = unknown>(base: string, path: string, input: unknown, o: { cookie?: string; headers?: Record<string, string> } = {}): Promise<TrpcReply<T>> {
  const q = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
  return trpcReply<T>(await request(`${base}/api/trpc/${path}${q}`, { headers: { ...(o.cookie ? { cookie: o.cookie } : {}), ...o.headers } }));
}

/** A mutation as the console's browser client sends it; `headers` override (to leave out or change parts). */
export async function trpcMutate<T = unknown>(base: string, path: string, input: unknown, o: { cookie?: string; headers?: Record<string, string | null> } = {}): Promise<TrpcReply<T>> {
  const headers: Record<string, string | null> = { "content-type": "application/json", "x-director-csrf": "1", origin: base, ...(o.cookie ? { cookie: o.cookie } : {}), ...o.headers };
  const sent = Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => e[1] !== null));
  return trpcReply<T>(await request(`${base}/api/trpc/${path}`, { method: "POST", headers: sent, body: JSON.stringify(input) }));
}

/** Signs in over HTTP and returns the cookie header for API calls; fails the test if refused. */
export async function sessionCookie(base: string, username: string, password: string): Promise<string> {
  const r = await signIn(base, username, password);
  if (!r.ok) throw new Error(`sign-in as ${username} refused: HTTP ${r.reply.status} ${r.reply.body.slice(0, 300)}`);
  return cookieHeader({ [SESSION_COOKIE]: r.jar[SESSION_COOKIE]! });
}
