/**
 * Single sign-on through a real OpenID Connect provider (test/helpers/oidc-idp.ts, over HTTPS with its own
 * self-signed certificate, trusted by the console through NODE_EXTRA_CA_CERTS) in a real browser, against the
 * production console:
 *  - an identity that names an existing console user signs in with "Sign in with single sign-on" and lands on the
 *    overview as that user (its role unchanged), audited; the flow used state, nonce and PKCE (S256), and the
 *    IdP checked the code_verifier;
 *  - without OIDC_DEFAULT_ROLE an identity with no console user is refused: back on /signin with an error, no
 *    session, audited as denied, no user created;
 *  - an id_token with the wrong nonce or a signature by a key not in the IdP's JWKS is refused;
 *  - with OIDC_DEFAULT_ROLE=viewer (a second console) a new identity becomes a viewer, once;
 *  - and the test IdP's own checks are not vacuous: it refuses a wrong code_verifier, client secret or redirect_uri.
 * Both consoles (each with its own agent and real servers) start together, so the file stays within ~30 s.
 */
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, launchBrowser, sessionCookieOf } from "./helpers/browser.js";
import { ADMIN_PASSWORD, type Cluster, startCluster } from "./helpers/cluster.js";
import { request, sessionCookie, trpcMutate, trpcQuery } from "./helpers/http.js";
import { type Idp, type IdpUser, startIdp } from "./helpers/oidc-idp.js";

/** An IdP identity whose preferred_username (lowercased) is an existing console operator's name. */
const SAM: IdpUser = { sub: "idp-1001", preferred_username: "Sam-SSO", email: "sam@example.test", name: "Sam Sso" };
/** No console user has this name. */
const STRANGER: IdpUser = { sub: "idp-2002", preferred_username: "nobody-here", email: "nobody@example.test" };
/** New to the second console (OIDC_DEFAULT_ROLE=viewer): no preferred_username, the email names it. */
const NEWCOMER: IdpUser = { sub: "idp-3003", email: "Vera.New@Example.test" };

interface AuditRow {
  actor: string | null;
  actorRole: string | null;
  action: string;
  target: string | null;
  result: string;
  detail: string | null;
}

let idp: Idp;
let c: Cluster;
let cViewer: Cluster;
let b: Browser;
let admin: string;
let adminViewer: string;

beforeAll(async () => {
  idp = await startIdp();
  const oidcEnv = (defaultRole: string | undefined): Record<string, string | undefined> => ({
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: idp.clientId,
    OIDC_CLIENT_SECRET: idp.clientSecret,
    OIDC_DEFAULT_ROLE: defaultRole,
    NODE_EXTRA_CA_CERTS: idp.caFile,
  });
  // Everything at once; wait for all of it (so afterAll stops whatever started) before failing on any of it.
  const started = await Promise.allSettled([
    startCluster({ env: oidcEnv(undefined) }).then((x) => (c = x)),
    startCluster({ env: oidcEnv("viewer") }).then((x) => (cViewer = x)),
    launchBrowser().then((x) => (b = x)),
  ]);
  for (const s of started) if (s.status === "rejected") throw s.reason;
  idp.redirectUris.push(`${c.url}/api/auth/callback/oidc`, `${cViewer.url}/api/auth/callback/oidc`);
  [admin, adminViewer] = await Promise.all([sessionCookie(c.url, "admin", ADMIN_PASSWORD), sessionCookie(cViewer.url, "admin", ADMIN_PASSWORD)]);
  const r = await trpcMutate(c.url, "user.create", { username: "sam-sso", password: crypto.randomBytes(18).toString("base64url"), role: "operator" }, { cookie: admin });
  if (r.status !== 200) throw new Error(`user.create sam-sso: ${r.raw.body}`);
});
afterAll(async () => {
  await b?.close();
  await Promise.all([c?.stop(), cViewer?.stop()]);
  await idp?.stop();
});

/** From a fresh sign-in page, "Sign in with single sign-on", as `user` at the IdP; returns where the browser ends. */
async function signInWithSso(base: string, user: IdpUser): Promise<URL> {
  idp.approve(user);
  await b.context.clearCookies();
  const { page } = b;
  await page.goto(`${base}/signin`);
  const before = idp.authorizeRequests.length;
  const toIdp = page.waitForRequest((r) => r.url().startsWith(`${idp.issuer}/authorize?`) && r.isNavigationRequest());
  await page.getByRole("button", { name: "Sign in with single sign-on" }).click();
  await toIdp;
  // The IdP answers at once; back at the console: the overview, or the sign-in page with an error.
  await page.waitForURL((u) => u.origin === base && (u.pathname === "/" || (u.pathname === "/signin" && u.searchParams.has("error"))));
  expect(idp.authorizeRequests.length, "the browser went through the IdP's /authorize once").toBe(before + 1);
  return new URL(page.url());
}

const signInAudit = async (base: string, cookie: string, actor: string) =>
  (await trpcQuery<AuditRow[]>(base, "audit.list", { action: "auth.signIn", actor }, { cookie })).data!;
const usernames = async (base: string, cookie: string) => (await trpcQuery<{ username: string; role: string }[]>(base, "user.list", undefined, { cookie })).data!;

describe("OIDC sign-in", () => {
  it("an IdP identity that is a console user signs in as that user, with state, nonce and PKCE checked", async () => {
    const at = await signInWithSso(c.url, SAM);
    expect(at.pathname, `ended on ${at.href}\n${c.consoleOutput().slice(-2000)}`).toBe("/");
    const whoami = b.page.getByTestId("whoami");
    await whoami.filter({ hasText: "sam-sso" }).waitFor();
    expect((await whoami.textContent())?.replace(/\s+/g, " ").trim()).toBe("sam-sso operator");
    expect(await sessionCookieOf(b)).toBeTruthy();
    // Still signed in on a fresh load (the session is in the store, the cookie holds its id).
    await b.page.reload();
    await whoami.filter({ hasText: "sam-sso" }).waitFor();
    expect(b.takeErrors()).toEqual([]);

    // What the console sent the IdP: the authorization code flow with state, nonce and an S256 PKCE challenge …
    const auth = idp.authorizeRequests.at(-1)!;
    expect(auth).toMatchObject({ clientId: idp.clientId, redirectUri: `${c.url}/api/auth/callback/oidc`, responseType: "code", codeChallengeMethod: "S256", outcome: "code" });
    expect(auth.scope?.split(" ")).toEqual(expect.arrayContaining(["openid", "email", "profile"]));
    expect(auth.state).toMatch(/^.{16,}$/);
    expect(auth.nonce).toMatch(/^.{16,}$/);
    expect(auth.codeChallenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // … and a token request, authenticated with the client secret, whose code_verifier hashes to that challenge;
    // the id_token carried the nonce of the authorization request.
    const tok = idp.tokenRequests.at(-1)!;
    expect(tok).toMatchObject({ clientAuth: "client_secret_basic", grantType: "authorization_code", outcome: "ok", pkce: "ok", nonce: auth.nonce, sub: SAM.sub });

    const rows = await signInAudit(c.url, admin, "sam-sso");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: "sam-sso", actorRole: "operator", target: "sam-sso", result: "ok" });
    expect(rows[0]!.detail).toMatch(/OIDC/);
    // Mapped to the existing user: no second one, role unchanged.
    expect((await usernames(c.url, admin)).filter((u) => u.username === "sam-sso")).toEqual([expect.objectContaining({ role: "operator" })]);
  });

  it("without OIDC_DEFAULT_ROLE an identity with no console user is refused, audited, and no user is created", async () => {
    const at = await signInWithSso(c.url, STRANGER);
    expect(at.pathname).toBe("/signin");
    expect(at.searchParams.get("error")).toBe("AccessDenied");
    await b.page.getByRole("alert").filter({ hasText: "Sign-in failed." }).waitFor();
    expect(await sessionCookieOf(b)).toBeUndefined();
    expect(idp.tokenRequests.at(-1)).toMatchObject({ outcome: "ok", pkce: "ok", sub: STRANGER.sub });
    expect(b.takeErrors()).toEqual([]);

    const rows = await signInAudit(c.url, admin, "nobody-here");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: "nobody-here", actorRole: null, result: "denied" });
    expect(rows[0]!.detail).toMatch(/OIDC/);
    expect((await usernames(c.url, admin)).map((u) => u.username)).not.toContain("nobody-here");
  });

  it.each([
    ["with a nonce other than the one the console sent", { nonce: "not-the-nonce-the-console-sent" }, /nonce mismatch, expected [\w-]+, got: not-the-nonce-the-console-sent/],
    ["signed by a key that is not in the IdP's JWKS", { foreignKey: true }, /failed to validate JWT signature/],
  ])("an id_token %s is refused", async (_, bad, reason) => {
    const auditBefore = (await signInAudit(c.url, admin, "sam-sso")).length;
    idp.misbehave(bad);
    try {
      const at = await signInWithSso(c.url, SAM);
      expect(at.pathname).toBe("/signin");
      expect(at.searchParams.get("error")).toBe("OAuthCallback");
    } finally {
      idp.misbehave(null);
    }
    await b.page.getByRole("alert").filter({ hasText: "Sign-in failed." }).waitFor();
    // The IdP did issue the (bad) token: the console is what refused it.
    expect(idp.tokenRequests.at(-1)).toMatchObject({ outcome: "ok", pkce: "ok", sub: SAM.sub });
    expect(await sessionCookieOf(b)).toBeUndefined();
    expect((await signInAudit(c.url, admin, "sam-sso")).length).toBe(auditBefore);
    expect(b.takeErrors()).toEqual([]);
    // … and for that reason (next-auth logs openid-client's error).
    expect(c.consoleOutput()).toMatch(reason);
  });

  it("with OIDC_DEFAULT_ROLE=viewer a new identity becomes a viewer, and signs in as the same user next time", async () => {
    const name = NEWCOMER.email!.toLowerCase();
    expect((await usernames(cViewer.url, adminViewer)).map((u) => u.username)).not.toContain(name);
    for (let i = 0; i < 2; i++) {
      const at = await signInWithSso(cViewer.url, NEWCOMER);
      expect(at.pathname, `ended on ${at.href}\n${cViewer.consoleOutput().slice(-2000)}`).toBe("/");
      const whoami = b.page.getByTestId("whoami");
      await whoami.filter({ hasText: name }).waitFor();
      expect((await whoami.textContent())?.replace(/\s+/g, " ").trim()).toBe(`${name} viewer`);
    }
    expect(b.takeErrors()).toEqual([]);
    expect((await usernames(cViewer.url, adminViewer)).filter((u) => u.username === name)).toEqual([expect.objectContaining({ role: "viewer" })]);
    const rows = await signInAudit(cViewer.url, adminViewer, name);
    expect(rows.map((r) => [r.result, r.actorRole])).toEqual([
      ["ok", "viewer"],
      ["ok", "viewer"],
    ]);
  });
});

describe("the test IdP", () => {
  /** A code from /authorize for a PKCE challenge of `verifier`, as the console would get it. */
  async function code(verifier: string): Promise<string> {
    idp.approve(SAM);
    const q = new URLSearchParams({
      client_id: idp.clientId,
      redirect_uri: `${c.url}/api/auth/callback/oidc`,
      response_type: "code",
      scope: "openid",
      state: "s",
      nonce: "n",
      code_challenge: crypto.createHash("sha256").update(verifier).digest("base64url"),
      code_challenge_method: "S256",
    });
    const r = await request(`${idp.issuer}/authorize?${q}`);
    expect(r.status).toBe(302);
    return new URL(r.headers.location!).searchParams.get("code")!;
  }
  const token = (form: Record<string, string>, secret = idp.clientSecret) =>
    request(`${idp.issuer}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${Buffer.from(`${idp.clientId}:${secret}`).toString("base64")}` },
      body: new URLSearchParams({ grant_type: "authorization_code", redirect_uri: `${c.url}/api/auth/callback/oidc`, ...form }).toString(),
    });
  const verifier = crypto.randomBytes(32).toString("base64url");

  it("refuses a wrong code_verifier, a wrong client secret, a reused code and an unregistered redirect_uri", async () => {
    const wrongVerifier = await token({ code: await code(verifier), code_verifier: crypto.randomBytes(32).toString("base64url") });
    expect([wrongVerifier.status, JSON.parse(wrongVerifier.body).error, idp.tokenRequests.at(-1)!.pkce]).toEqual([400, "invalid_grant", "mismatch"]);
    const noVerifier = await token({ code: await code(verifier) });
    expect([noVerifier.status, idp.tokenRequests.at(-1)!.pkce]).toEqual([400, "missing"]);
    expect((await token({ code: await code(verifier), code_verifier: verifier }, "not the secret")).status).toBe(401);

    const good = await code(verifier);
    const ok = await token({ code: good, code_verifier: verifier });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ token_type: "Bearer", id_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/) });
    expect((await token({ code: good, code_verifier: verifier })).status).toBe(400);

    const elsewhere = await request(`${idp.issuer}/authorize?${new URLSearchParams({ client_id: idp.clientId, redirect_uri: "https://evil.example/cb", response_type: "code", scope: "openid" })}`);
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.headers.location).toBeUndefined();
  });
});
