/**
 * What a request tells the server, checked here once: the caller's address (set by server.mjs from the socket),
 * the session (next-auth's encrypted JWT carries only a session id; the session itself is checked in the store),
 * and the CSRF rules for tRPC mutations (JSON content type, the x-director-csrf header, a same-origin Origin).
 */
import { checkSession, type Context } from "@director/api";
import { decode } from "next-auth/jwt";
import { env, requireAdminTotp } from "~/env";
import { server } from "./state";

export const CSRF_HEADER = "x-director-csrf";
export const SESSION_COOKIE = "__Secure-next-auth.session-token";

export function clientIp(headers: Headers): string {
  return headers.get("x-director-client-ip") ?? "unknown";
}

function cookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  // next-auth splits large tokens into name.0, name.1 …; ours hold only a session id, but read both forms.
  const parts = new Map<string, string>();
  for (const c of header.split(/;\s*/)) {
    const i = c.indexOf("=");
    if (i > 0) parts.set(c.slice(0, i), decodeURIComponent(c.slice(i + 1)));
  }
  if (parts.has(name)) return parts.get(name);
  const chunks: string[] = [];
  for (let i = 0; parts.has(`${name}.${i}`); i++) chunks.push(parts.get(`${name}.${i}`)!);
  return chunks.length ? chunks.join("") : undefined;
}

export async function sessionIdFromCookie(cookieHeader: string | null): Promise<string | undefined> {
  const raw = cookie(cookieHeader, SESSION_COOKIE);
  if (!raw) return undefined;
  try {
    const jwt = await decode({ token: raw, secret: env().NEXTAUTH_SECRET ?? "" });
    return typeof jwt?.sid === "string" ? jwt.sid : undefined;
  } catch {
    return undefined;
  }
}

export async function createContext(req: Request): Promise<Context> {
  const { store, hub } = await server();
  const sid = await sessionIdFromCookie(req.headers.get("cookie"));
  const s = await checkSession(store, sid);
  return {
    store,
    hub,
    session: s.ok ? { id: s.id, user: s.user } : null,
    ip: clientIp(req.headers),
    userAgent: req.headers.get("user-agent") ?? "",
    requireAdminTotp: requireAdminTotp(),
  };
}

/** Why a state-changing request must be refused (null = it may go on). */
export function csrfRefusal(req: Request): string | null {
  const type = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") return "mutations must be sent as application/json";
  if (req.headers.get(CSRF_HEADER) !== "1") return `mutations must carry the ${CSRF_HEADER} header`;
  const origin = req.headers.get("origin");
  const host = req.headers.get("host");
  const allowed = [new URL(env().NEXTAUTH_URL).origin, ...(host ? [`https://${host}`] : [])];
  if (!origin || !allowed.includes(origin)) return "cross-origin request refused";
  return null;
}
