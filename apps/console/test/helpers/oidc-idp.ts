/**
 * A minimal but real OpenID Connect provider for the console's end-to-end tests (node:https and node:crypto; the
 * TLS certificate from `selfsigned`, which the console already depends on). Authorization code flow only:
 *  - GET /.well-known/openid-configuration: the discovery document;
 *  - GET /authorize: no login page, it approves the user set with `approve()` at once and redirects back to the
 *    registered redirect_uri with code and state. client_id and redirect_uri must be registered (else 400, no
 *    redirect, as the spec asks), response_type must be "code", scope must hold "openid"; the PKCE code_challenge
 *    (S256 only) and the nonce are kept with the code;
 *  - POST /token: client_secret_basic or client_secret_post (exactly one), grant_type=authorization_code, the code
 *    (single use, 60 s), the same redirect_uri, and the PKCE code_verifier whose S256 hash is the challenge; answers
 *    an RS256 id_token (iss, aud, sub, exp, iat, auth_time, nonce, at_hash, preferred_username, email, name) and an
 *    access_token;
 *  - GET /jwks: the RSA public key as a JWK; GET /userinfo: the claims, for the access_token as a Bearer token.
 * Served over HTTPS with a fresh self-signed certificate (`caFile`: give it to the console as NODE_EXTRA_CA_CERTS).
 * Every /authorize and /token request is recorded, with what was checked, for the tests to assert on; `misbehave`
 * makes it issue a bad id_token, to see that the console refuses it. `stop()` closes it and removes its temp dir.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import type http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { generate } from "selfsigned";

export interface IdpUser {
  sub: string;
  preferred_username?: string;
  email?: string;
  name?: string;
}

export interface AuthorizeRecord {
  clientId: string | null;
  redirectUri: string | null;
  responseType: string | null;
  scope: string | null;
  state: string | null;
  nonce: string | null;
  codeChallenge: string | null;
  codeChallengeMethod: string | null;
  /** "code" when it redirected back with a code; otherwise the error it answered. */
  outcome: string;
}

export interface TokenRecord {
  clientAuth: "client_secret_basic" | "client_secret_post" | "none" | "both";
  grantType: string | null;
  /** "ok", or why the request was refused. */
  outcome: string;
  /** The PKCE check: ok (the verifier's S256 hash is the code's challenge), missing, mismatch, or no-challenge. */
  pkce: "ok" | "missing" | "mismatch" | "no-challenge" | null;
  /** The nonce put into the id_token (the one /authorize received), when one was issued. */
  nonce: string | null;
  sub: string | null;
}

/** Ways to issue a bad id_token (each one the console must refuse). */
export interface Misbehaviour {
  /** Put this nonce in the id_token instead of the one the client sent. */
  nonce?: string;
  /** Sign the id_token with a key that is not in /jwks. */
  foreignKey?: boolean;
}

export interface Idp {
  /** https://127.0.0.1:PORT (no trailing slash): the OIDC_ISSUER. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** PEM file of the IdP's self-signed certificate, for NODE_EXTRA_CA_CERTS. */
  caFile: string;
  /** Registered redirect URIs (exact match); the console's is known only once it has a port, so add it then. */
  redirectUris: string[];
  /** The user /authorize approves from now on (null: it answers access_denied). */
  approve(user: IdpUser | null): void;
  misbehave(m: Misbehaviour | null): void;
  authorizeRequests: AuthorizeRecord[];
  tokenRequests: TokenRecord[];
  userinfoRequests: number;
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");
const sha256 = (s: string) => crypto.createHash("sha256").update(s).digest();

function signJwt(payload: object, key: crypto.KeyObject, kid: string): string {
  const input = `${b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid }))}.${b64url(JSON.stringify(payload))}`;
  // RSASSA-PKCS1-v1_5 with SHA-256: RS256.
  return `${input}.${b64url(crypto.sign("sha256", Buffer.from(input), key))}`;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) req.destroy(new Error("body too large"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** application/x-www-form-urlencoded decoding, as RFC 6749 2.3.1 asks for client_secret_basic's id and secret. */
const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, " "));

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

interface Grant {
  clientId: string;
  redirectUri: string;
  codeChallenge: string | null;
  nonce: string | null;
  scope: string;
  user: IdpUser;
  expires: number;
}

export async function startIdp(o: { clientId?: string; clientSecret?: string } = {}): Promise<Idp> {
  const clientId = o.clientId ?? "director-console";
  const clientSecret = o.clientSecret ?? crypto.randomBytes(24).toString("base64url");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-console-idp-"));
  try {
    const pems = await generate([{ name: "commonName", value: "test-idp" }], {
      keySize: 2048,
      algorithm: "sha256",
      notAfterDate: new Date(Date.now() + 86400_000),
      extensions: [
        { name: "basicConstraints", cA: true },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true },
        { name: "extKeyUsage", serverAuth: true },
        { name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] },
      ],
    });
    const caFile = path.join(dir, "idp-ca.pem");
    fs.writeFileSync(caFile, pems.cert);

    const { privateKey, publicKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const foreign = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const kid = b64url(sha256(publicKey.export({ type: "spki", format: "der" }).toString("base64")).subarray(0, 12));
    const jwk = { ...publicKey.export({ format: "jwk" }), kid, use: "sig", alg: "RS256" };

    const grants = new Map<string, Grant>();
    const accessTokens = new Map<string, { user: IdpUser; expires: number }>();
    let user: IdpUser | null = null;
    let bad: Misbehaviour | null = null;
    let issuer = "";

    const idp: Idp = {
      issuer: "",
      clientId,
      clientSecret,
      caFile,
      redirectUris: [],
      approve: (u) => {
        user = u;
      },
      misbehave: (m) => {
        bad = m;
      },
      authorizeRequests: [],
      tokenRequests: [],
      userinfoRequests: 0,
      stop: async () => {},
    };

    function authorize(url: URL, res: http.ServerResponse) {
      const q = (k: string) => url.searchParams.get(k);
      const rec: AuthorizeRecord = {
        clientId: q("client_id"),
        redirectUri: q("redirect_uri"),
        responseType: q("response_type"),
        scope: q("scope"),
        state: q("state"),
        nonce: q("nonce"),
        codeChallenge: q("code_challenge"),
        codeChallengeMethod: q("code_challenge_method"),
        outcome: "",
      };
      idp.authorizeRequests.push(rec);
      // An unknown client or redirect_uri: an error page here, never a redirect (RFC 6749 4.1.2.1).
      if (rec.clientId !== clientId || !rec.redirectUri || !idp.redirectUris.includes(rec.redirectUri)) {
        rec.outcome = rec.clientId !== clientId ? "unknown client_id" : "unregistered redirect_uri";
        res.writeHead(400, { "content-type": "text/plain" });
        res.end(rec.outcome);
        return;
      }
      const back = (params: Record<string, string>) => {
        const to = new URL(rec.redirectUri!);
        for (const [k, v] of Object.entries(params)) to.searchParams.set(k, v);
        if (rec.state !== null) to.searchParams.set("state", rec.state);
        res.writeHead(302, { location: to.href, "cache-control": "no-store" });
        res.end();
      };
      const refuse = (error: string, description: string) => {
        rec.outcome = error;
        back({ error, error_description: description });
      };
      if (rec.responseType !== "code") return refuse("unsupported_response_type", "only response_type=code");
      if (!(rec.scope ?? "").split(" ").includes("openid")) return refuse("invalid_scope", "scope must include openid");
      if (rec.codeChallenge !== null && rec.codeChallengeMethod !== "S256") return refuse("invalid_request", "code_challenge_method must be S256");
      if (!user) return refuse("access_denied", "no user approved");
      const code = crypto.randomBytes(24).toString("base64url");
      grants.set(code, { clientId, redirectUri: rec.redirectUri, codeChallenge: rec.codeChallenge, nonce: rec.nonce, scope: rec.scope!, user, expires: Date.now() + 60_000 });
      rec.outcome = "code";
      back({ code });
    }

    async function token(req: http.IncomingMessage, res: http.ServerResponse) {
      const body = new URLSearchParams(await readBody(req));
      const rec: TokenRecord = { clientAuth: "none", grantType: body.get("grant_type"), outcome: "", pkce: null, nonce: null, sub: null };
      idp.tokenRequests.push(rec);
      const fail = (status: number, error: string, description: string, headers: Record<string, string> = {}) => {
        rec.outcome = `${error}: ${description}`;
        json(res, status, { error, error_description: description }, headers);
      };
      // Client authentication: exactly one method.
      const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? "");
      let id: string | null = null;
      let secret: string | null = null;
      if (basic) {
        const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
        const i = decoded.indexOf(":");
        if (i >= 0) {
          id = formDecode(decoded.slice(0, i));
          secret = formDecode(decoded.slice(i + 1));
        }
        rec.clientAuth = "client_secret_basic";
      }
      if (body.has("client_secret")) {
        rec.clientAuth = basic ? "both" : "client_secret_post";
        id = body.get("client_id");
        secret = body.get("client_secret");
      }
      if (rec.clientAuth === "both") return fail(400, "invalid_request", "more than one client authentication method");
      const secretOk = secret !== null && secret.length === clientSecret.length && crypto.timingSafeEqual(Buffer.from(secret), Buffer.from(clientSecret));
      if (id !== clientId || !secretOk) return fail(401, "invalid_client", "client authentication failed", { "www-authenticate": 'Basic realm="test-idp"' });
      if (body.has("client_id") && body.get("client_id") !== clientId) return fail(400, "invalid_request", "client_id does not match the authenticated client");
      if (rec.grantType !== "authorization_code") return fail(400, "unsupported_grant_type", "only authorization_code");

      const code = body.get("code") ?? "";
      const g = grants.get(code);
      grants.delete(code); // single use, whatever happens next
      if (!g || g.expires < Date.now() || g.clientId !== id) return fail(400, "invalid_grant", "unknown, used or expired code");
      if (body.get("redirect_uri") !== g.redirectUri) return fail(400, "invalid_grant", "redirect_uri differs from the authorization request's");
      const verifier = body.get("code_verifier");
      if (g.codeChallenge === null) rec.pkce = verifier === null ? "no-challenge" : "mismatch";
      else if (verifier === null) rec.pkce = "missing";
      else rec.pkce = /^[A-Za-z0-9._~-]{43,128}$/.test(verifier) && b64url(sha256(verifier)) === g.codeChallenge ? "ok" : "mismatch";
      if (rec.pkce === "missing" || rec.pkce === "mismatch") return fail(400, "invalid_grant", `PKCE code_verifier ${rec.pkce}`);

      const now = Math.floor(Date.now() / 1000);
      const accessToken = crypto.randomBytes(32).toString("base64url");
      accessTokens.set(accessToken, { user: g.user, expires: Date.now() + 300_000 });
      const nonce = bad?.nonce ?? g.nonce;
      const claims = {
        iss: issuer,
        aud: clientId,
        sub: g.user.sub,
        iat: now,
        exp: now + 300,
        auth_time: now,
        ...(nonce !== null ? { nonce } : {}),
        at_hash: b64url(sha256(accessToken).subarray(0, 16)),
        ...(g.user.preferred_username ? { preferred_username: g.user.preferred_username } : {}),
        ...(g.user.email ? { email: g.user.email, email_verified: true } : {}),
        ...(g.user.name ? { name: g.user.name } : {}),
      };
      rec.nonce = nonce;
      rec.sub = g.user.sub;
      rec.outcome = "ok";
      json(res, 200, { access_token: accessToken, token_type: "Bearer", expires_in: 300, scope: g.scope, id_token: signJwt(claims, bad?.foreignKey ? foreign : privateKey, kid) });
    }

    function userinfo(req: http.IncomingMessage, res: http.ServerResponse) {
      idp.userinfoRequests++;
      const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "");
      const t = m ? accessTokens.get(m[1]!) : undefined;
      if (!t || t.expires < Date.now()) return json(res, 401, { error: "invalid_token" }, { "www-authenticate": 'Bearer error="invalid_token"' });
      const u = t.user;
      json(res, 200, { sub: u.sub, ...(u.preferred_username ? { preferred_username: u.preferred_username } : {}), ...(u.email ? { email: u.email } : {}), ...(u.name ? { name: u.name } : {}) });
    }

    const server = https.createServer({ cert: pems.cert, key: pems.private }, (req, res) => {
      const url = new URL(req.url ?? "/", issuer);
      const route = `${req.method} ${url.pathname}`;
      const done = (e: unknown) => {
        if (!res.headersSent) json(res, 500, { error: "server_error", error_description: String(e) });
        else res.destroy();
      };
      try {
        if (route === "GET /.well-known/openid-configuration")
          return json(res, 200, {
            issuer,
            authorization_endpoint: `${issuer}/authorize`,
            token_endpoint: `${issuer}/token`,
            userinfo_endpoint: `${issuer}/userinfo`,
            jwks_uri: `${issuer}/jwks`,
            response_types_supported: ["code"],
            grant_types_supported: ["authorization_code"],
            subject_types_supported: ["public"],
            id_token_signing_alg_values_supported: ["RS256"],
            scopes_supported: ["openid", "email", "profile"],
            token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
            code_challenge_methods_supported: ["S256"],
            claims_supported: ["iss", "aud", "sub", "exp", "iat", "auth_time", "nonce", "at_hash", "preferred_username", "email", "email_verified", "name"],
          });
        if (route === "GET /jwks") return json(res, 200, { keys: [jwk] });
        if (route === "GET /authorize") return authorize(url, res);
        if (route === "POST /token") return void token(req, res).catch(done);
        if (route === "GET /userinfo" || route === "POST /userinfo") return userinfo(req, res);
        json(res, 404, { error: "not_found" });
      } catch (e) {
        done(e);
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    issuer = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
    idp.issuer = issuer;
    idp.stop = async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      fs.rmSync(dir, { recursive: true, force: true });
    };
    return idp;
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
