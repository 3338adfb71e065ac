/**
 * next-auth (v4) configuration. Sign-in with a password against the console's users (argon2id, throttled,
 * audited: see @director/api auth/login.ts), and optionally an OIDC provider configured by the environment.
 * The JWT cookie carries only a session id; the session lives in the store so it can be revoked, and every tRPC
 * procedure checks it (server/request.ts). Sign-out revokes it.
 */
import { authenticate, LoginError } from "@director/api";
import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { env, oidcEnabled } from "~/env";
import { server } from "./state";

function header(req: { headers?: Record<string, string | string[] | undefined> | Headers } | undefined, name: string): string {
  const h = req?.headers;
  if (!h) return "";
  if (h instanceof Headers) return h.get(name) ?? "";
  const v = h[name];
  return Array.isArray(v) ? (v[0] ?? "") : (v ?? "");
}

export function authOptions(): NextAuthOptions {
  const e = env();
  const providers: NextAuthOptions["providers"] = [
    CredentialsProvider({
      id: "credentials",
      name: "Password",
      credentials: { username: { label: "Username", type: "text" }, password: { label: "Password", type: "password" }, totp: { label: "Code", type: "text" } },
      async authorize(credentials, req) {
        const { store } = await server();
        const username = String(credentials?.username ?? "").slice(0, 64);
        const password = String(credentials?.password ?? "").slice(0, 256);
        const totp = credentials?.totp ? String(credentials.totp).slice(0, 16) : undefined;
        try {
          const { user, session } = await authenticate(store, { username, password, totp }, { ip: header(req, "x-director-client-ip") || "unknown", userAgent: header(req, "user-agent") });
          return { id: user.id, name: user.username, sid: session.id };
        } catch (err) {
          if (err instanceof LoginError) throw new Error(err.message);
          throw err;
        }
      },
    }),
  ];
  if (oidcEnabled())
    providers.push({
      id: "oidc",
      name: "Single sign-on",
      type: "oauth",
      wellKnown: `${e.OIDC_ISSUER!.replace(/\/$/, "")}/.well-known/openid-configuration`,
      authorization: { params: { scope: "openid email profile" } },
      idToken: true,
      checks: ["pkce", "state", "nonce"],
      clientId: e.OIDC_CLIENT_ID!,
      clientSecret: e.OIDC_CLIENT_SECRET!,
      profile(p: { sub: string; preferred_username?: string; email?: string; name?: string }) {
        return { id: p.sub, name: (p.preferred_username ?? p.email ?? p.sub).toLowerCase() };
      },
    });
  return {
    secret: e.NEXTAUTH_SECRET,
    providers,
    pages: { signIn: "/signin", error: "/signin" },
    session: { strategy: "jwt", maxAge: 12 * 3600 },
    jwt: { maxAge: 12 * 3600 },
    useSecureCookies: true,
    callbacks: {
      async signIn({ user, account }) {
        if (account?.provider !== "oidc") return true;
        // OIDC: the identity must map to a console user (by name), or be created with OIDC_DEFAULT_ROLE.
        const { store } = await server();
        const name = String(user.name ?? "").slice(0, 64);
        if (!/^[\x21-\x7e]{1,64}$/.test(name)) return false;
        let u = await store.userByName(name);
        if (!u && e.OIDC_DEFAULT_ROLE) u = await store.createUser({ username: name, passwordHash: "!oidc", role: e.OIDC_DEFAULT_ROLE });
        const ok = Boolean(u && !u.disabled);
        const detail = ok ? "signed in with OIDC" : u ? "user disabled (OIDC)" : "OIDC user not in the console";
        await store.appendAudit({ actor: name, actorRole: u?.role ?? null, ip: null, action: "auth.signIn", target: name, result: ok ? "ok" : "denied", detail });
        if (!ok || !u) return false;
        const s = await store.createSession({ userId: u.id, epoch: u.sessionEpoch, ip: "oidc", userAgent: "" });
        (user as { sid?: string }).sid = s.id;
        return true;
      },
      async jwt({ token, user }) {
        // Only the session id goes into the cookie.
        if (user && "sid" in user) return { sid: (user as { sid: string }).sid };
        return { sid: token.sid };
      },
      async session({ session, token }) {
        return { ...session, sid: token.sid } as typeof session;
      },
    },
    events: {
      async signOut({ token }) {
        const sid = typeof token?.sid === "string" ? token.sid : undefined;
        if (!sid) return;
        const { store } = await server();
        const s = await store.session(sid);
        await store.revokeSession(sid);
        const u = s ? await store.userById(s.userId) : undefined;
        await store.appendAudit({ actor: u?.username ?? null, actorRole: u?.role ?? null, ip: s?.ip ?? null, action: "auth.signOut", target: u?.username ?? null, result: "ok" });
      },
    },
  };
}
