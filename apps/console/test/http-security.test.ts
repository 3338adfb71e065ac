/**
 * The console's HTTP surface against the production build served by server.mjs, over real sockets: security
 * headers on pages, API and static files; the CSRF rules for tRPC mutations; Next.js-internal request headers
 * (the x-middleware-subrequest bypass, CVE-2025-29927) changing nothing; no plaintext HTTP on the HTTPS port;
 * the optional redirect listener; sign-in throttling through next-auth's real endpoints, by account and by the
 * socket's address (not by what the client claims).
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_PASSWORD, type Cluster, startCluster } from "./helpers/cluster.js";
import { type Reply, request, SESSION_COOKIE, sessionCookie, signIn, trpcMutate, trpcQuery } from "./helpers/http.js";

let c: Cluster;
let admin: string;

beforeAll(async () => {
  c = await startCluster({ redirect: true });
  admin = await sessionCookie(c.url, "admin", ADMIN_PASSWORD);
});
afterAll(async () => {
  await c?.stop();
});

const userNames = async () => ((await trpcQuery<{ username: string }[]>(c.url, "user.list", undefined, { cookie: admin })).data ?? []).map((u) => u.username);

function expectSecurityHeaders(r: Reply, what: string) {
  const h = r.headers;
  const hsts = String(h["strict-transport-security"] ?? "");
  const maxAge = Number(/max-age=(\d+)/.exec(hsts)?.[1] ?? 0);
  expect(maxAge, `${what}: HSTS max-age (${hsts})`).toBeGreaterThanOrEqual(365 * 86400);
  const csp = String(h["content-security-policy"] ?? "");
  const directives = new Map(csp.split(";").map((d) => d.trim().split(/\s+/) as [string, ...string[]]).map(([k, ...v]) => [k, v]));
  expect(directives.get("frame-ancestors"), `${what}: frame-ancestors in ${csp}`).toEqual(["'none'"]);
  const scriptSrc = directives.get("script-src") ?? directives.get("default-src") ?? [];
  expect(scriptSrc.some((s) => /^'nonce-[A-Za-z0-9+/=]{16,}'$/.test(s)), `${what}: a nonce in script-src (${csp})`).toBe(true);
  expect(scriptSrc, `${what}: script-src`).not.toContain("'unsafe-inline'");
  expect(scriptSrc, `${what}: script-src`).not.toContain("*");
  expect(directives.get("object-src"), `${what}: object-src`).toEqual(["'none'"]);
  expect(h["x-content-type-options"], what).toBe("nosniff");
  expect(["no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"], `${what}: Referrer-Policy`).toContain(h["referrer-policy"]);
  expect(h["x-powered-by"], `${what}: X-Powered-By`).toBeUndefined();
  return scriptSrc.find((s) => s.startsWith("'nonce-"))!.slice(7, -1);
}

describe("security headers", () => {
  it("on a page: HSTS, CSP with frame-ancestors 'none' and a per-request nonce that every script carries", async () => {
    const r = await request(`${c.url}/signin`);
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toMatch(/^text\/html/);
    const nonce = expectSecurityHeaders(r, "GET /signin");
    const scripts = [...r.body.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) expect(s, "every <script> carries the response's nonce").toContain(`nonce="${nonce}"`);
    const again = await request(`${c.url}/signin`);
    expect(expectSecurityHeaders(again, "GET /signin again")).not.toBe(nonce);
  });

  it("on a protected page's redirect, the API, next-auth, static files and a 404", async () => {
    const page = await request(`${c.url}/`);
    expectSecurityHeaders(page, "GET / (signed out)");
    expectSecurityHeaders(await request(`${c.url}/api/trpc/session.me`), "tRPC query");
    expectSecurityHeaders(await trpcMutate(c.url, "session.revokeOthers", null, { headers: { "content-type": "text/plain" } }).then((x) => x.raw), "refused mutation");
    expectSecurityHeaders(await request(`${c.url}/api/auth/csrf`), "next-auth");
    expectSecurityHeaders(await request(`${c.url}/no/such/page`), "404");
    const signin = await request(`${c.url}/signin`);
    const asset = /src="(\/_next\/static\/[^"]+\.js)"/.exec(signin.body)?.[1];
    expect(asset, "the sign-in page loads a static chunk").toBeTruthy();
    const js = await request(`${c.url}${asset}`);
    expect(js.status).toBe(200);
    expectSecurityHeaders(js, `static ${asset}`);
  });

  it("X-Frame-Options DENY backs frame-ancestors for old browsers", async () => {
    expect((await request(`${c.url}/signin`)).headers["x-frame-options"]).toBe("DENY");
  });
});

describe("CSRF rules for tRPC mutations", () => {
  const input = (username: string) => ({ username, password: "a long enough password", role: "viewer" });

  it("refuses text/plain (a form or no-cors fetch could send it) with 403 and changes nothing", async () => {
    const r = await trpcMutate(c.url, "user.create", input("csrf-plain"), { cookie: admin, headers: { "content-type": "text/plain" } });
    expect(r.status).toBe(403);
    expect(await userNames()).not.toContain("csrf-plain");
  });

  it("refuses a cross-site Origin, and a missing one", async () => {
    const evil = await trpcMutate(c.url, "user.create", input("csrf-origin"), { cookie: admin, headers: { origin: "https://evil.example" } });
    expect(evil.status).toBe(403);
    const none = await trpcMutate(c.url, "user.create", input("csrf-noorigin"), { cookie: admin, headers: { origin: null } });
    expect(none.status).toBe(403);
    // Same host, another scheme or port: another origin.
    const http = await trpcMutate(c.url, "user.create", input("csrf-http"), { cookie: admin, headers: { origin: c.url.replace("https:", "http:") } });
    expect(http.status).toBe(403);
    expect(await userNames()).not.toEqual(expect.arrayContaining(["csrf-origin"]));
    const names = await userNames();
    for (const n of ["csrf-origin", "csrf-noorigin", "csrf-http"]) expect(names).not.toContain(n);
  });

  it("refuses a request without the x-director-csrf header", async () => {
    const r = await trpcMutate(c.url, "user.create", input("csrf-noheader"), { cookie: admin, headers: { "x-director-csrf": null } });
    expect(r.status).toBe(403);
    const wrong = await trpcMutate(c.url, "user.create", input("csrf-wrongheader"), { cookie: admin, headers: { "x-director-csrf": "0" } });
    expect(wrong.status).toBe(403);
    const names = await userNames();
    expect(names).not.toContain("csrf-noheader");
    expect(names).not.toContain("csrf-wrongheader");
  });

  it("does not run a mutation sent as GET", async () => {
    const r = await request(`${c.url}/api/trpc/user.create?input=${encodeURIComponent(JSON.stringify(input("csrf-get")))}`, { headers: { cookie: admin } });
    expect(r.status).not.toBe(200);
    expect(await userNames()).not.toContain("csrf-get");
  });

  it("accepts the same mutation sent properly (so the refusals above are the CSRF rules at work)", async () => {
    const r = await trpcMutate<{ id: string }>(c.url, "user.create", input("csrf-ok"), { cookie: admin });
    expect(r.status, r.raw.body).toBe(200);
    expect(r.data?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await userNames()).toContain("csrf-ok");
  });
});

describe("Next.js-internal request headers change nothing", () => {
  const variants = [
    "middleware",
    "middleware:middleware:middleware:middleware:middleware",
    "src/middleware",
    "src/middleware:src/middleware:src/middleware:src/middleware:src/middleware",
    "pages/_middleware",
    "proxy:proxy:proxy:proxy:proxy",
    "src/proxy:src/proxy:src/proxy:src/proxy:src/proxy",
  ];

  it("a protected page without a session redirects to /signin", async () => {
    const r = await request(`${c.url}/users`);
    expect([302, 303, 307, 308]).toContain(r.status);
    expect(String(r.headers.location)).toMatch(/\/signin/);
  });

  it.each(variants)("x-middleware-subrequest: %s still redirects a protected page to /signin", async (v) => {
    for (const p of ["/", "/users", "/audit"]) {
      const r = await request(`${c.url}${p}`, { headers: { "x-middleware-subrequest": v } });
      expect([302, 303, 307, 308], `${p}: HTTP ${r.status}`).toContain(r.status);
      expect(String(r.headers.location)).toMatch(/\/signin/);
      expect(r.body).not.toMatch(/data-testid="(whoami|users-table|audit-table)"/);
    }
  });

  it.each(variants)("x-middleware-subrequest: %s still gets UNAUTHORIZED from a protected tRPC query", async (v) => {
    for (const p of ["user.list", "overview.get", "audit.verify"]) {
      const r = await trpcQuery(c.url, p, undefined, { headers: { "x-middleware-subrequest": v } });
      expect(r.status, p).toBe(401);
      expect(r.code, p).toBe("UNAUTHORIZED");
      expect(r.data).toBeUndefined();
    }
  });

  it("other internal headers (x-invoke-*, x-nextjs-*, x-middleware-*) do not bypass or rewrite anything", async () => {
    const headers = {
      "x-invoke-path": "/api/trpc/user.list",
      "x-invoke-status": "200",
      "x-middleware-rewrite": `${c.url}/api/trpc/user.list`,
      "x-middleware-next": "1",
      "x-nextjs-data": "1",
      "x-matched-path": "/api/trpc/[trpc]",
    };
    const page = await request(`${c.url}/users`, { headers });
    expect([302, 303, 307, 308]).toContain(page.status);
    const q = await trpcQuery(c.url, "user.list", undefined, { headers });
    expect(q.code).toBe("UNAUTHORIZED");
  });
});

describe("no plaintext HTTP", () => {
  it("plain HTTP to the HTTPS port gets no page: the connection ends without an HTTP 200 or any HTML", async () => {
    const got = await new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: "127.0.0.1", port: c.port });
      let data = "";
      s.setEncoding("latin1");
      s.on("connect", () => s.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${c.port}\r\nConnection: close\r\n\r\n`));
      s.on("data", (d) => {
        data += d;
      });
      s.on("close", () => resolve(data));
      s.on("error", (e) => ((e as NodeJS.ErrnoException).code === "ECONNRESET" ? resolve(data) : reject(e)));
      s.setTimeout(10_000, () => {
        s.destroy();
        reject(new Error("the HTTPS port kept a plaintext connection open for 10 s"));
      });
    });
    expect(got).not.toMatch(/HTTP\/1\.[01] 200/);
    expect(got).not.toMatch(/<html|<!DOCTYPE/i);
    expect(got).not.toContain("Director");
  });

  it("an http:// client gets no HTTP answer from the HTTPS port", async () => {
    const outcome = await request(`http://127.0.0.1:${c.port}/signin`).then(
      (r) => `HTTP ${r.status}`,
      (e: NodeJS.ErrnoException) => `error ${e.code ?? e.message}`,
    );
    expect(outcome).toMatch(/^error /);
  });

  it("the redirect listener answers only 308 to the HTTPS URL, for any method, path and Host", async () => {
    const base = `http://127.0.0.1:${c.redirectPort}`;
    for (const [method, p] of [
      ["GET", "/"],
      ["GET", "/agents?x=1"],
      ["POST", "/api/trpc/user.create"],
      ["HEAD", "/signin"],
    ] as const) {
      const r = await request(`${base}${p}`, { method, headers: { host: "evil.example", "content-type": "application/json" }, ...(method === "POST" ? { body: "{}" } : {}) });
      expect(r.status, `${method} ${p}`).toBe(308);
      expect(r.headers.location).toBe(`${c.url}${p}`);
      expect(r.body).toBe("");
    }
  });
});

describe("sign-in throttling through next-auth", () => {
  const errorOf = (r: { reply: Reply }) => {
    const url = (JSON.parse(r.reply.body) as { url?: string }).url ?? String(r.reply.headers.location ?? "");
    return new URL(url, c.url).searchParams.get("error");
  };

  it("sets the session cookie Secure, HttpOnly and SameSite on success", async () => {
    const r = await signIn(c.url, "admin", ADMIN_PASSWORD);
    expect(r.ok).toBe(true);
    const set = (r.reply.headers["set-cookie"] ?? []).find((x) => x.startsWith(`${SESSION_COOKIE}=`))!;
    expect(set).toMatch(/;\s*Secure/i);
    expect(set).toMatch(/;\s*HttpOnly/i);
    expect(set).toMatch(/;\s*SameSite=(Lax|Strict)/i);
  });

  it("answers an unknown user and a wrong password with the same error", async () => {
    expect((await trpcMutate(c.url, "user.create", { username: "known-user", password: "known user's password", role: "viewer" }, { cookie: admin })).status).toBe(200);
    const unknown = await signIn(c.url, "no-such-user", "whatever password");
    const wrong = await signIn(c.url, "known-user", "not the password at all");
    expect(unknown.ok).toBe(false);
    expect(wrong.ok).toBe(false);
    expect(errorOf(unknown)).toBeTruthy();
    expect(errorOf(wrong)).toBe(errorOf(unknown));
    // A success from this address ends its run of failures (the address is throttled too).
    expect((await signIn(c.url, "known-user", "known user's password")).ok).toBe(true);
  });

  it("throttles by the socket's address: spoofed client-address headers do not spread the failures", async () => {
    expect((await trpcMutate(c.url, "user.create", { username: "spoof-victim", password: "spoof victim password", role: "viewer" }, { cookie: admin })).status).toBe(200);
    for (let i = 0; i < 10; i++) {
      const spoof = `10.9.8.${i + 1}`;
      const r = await signIn(c.url, `guess-${i}`, "password guess 123", { headers: { "x-forwarded-for": spoof, "x-real-ip": spoof, "x-director-client-ip": spoof, forwarded: `for=${spoof}` } });
      expect(r.ok).toBe(false);
    }
    const r = await signIn(c.url, "spoof-victim", "spoof victim password", { headers: { "x-forwarded-for": "10.9.8.99", "x-director-client-ip": "10.9.8.99" } });
    expect(r.ok, "the address has 10 failures: throttled whatever it claims").toBe(false);
    expect(errorOf(r)).toMatch(/Too many failed sign-ins/);
    const rows = (await trpcQuery<{ actor: string; ip: string; result: string; detail: string }[]>(c.url, "audit.list", { action: "auth.signIn", limit: 11 }, { cookie: admin })).data!;
    expect(rows.map((x) => x.ip)).toEqual(Array(11).fill("127.0.0.1"));
    expect(rows[0]).toMatchObject({ actor: "spoof-victim", result: "denied", detail: "throttled (ip)" });
    // After the 1 s back-off, a success from this address clears it (polled, bounded).
    const deadline = Date.now() + 10_000;
    while (!(await signIn(c.url, "spoof-victim", "spoof victim password")).ok) {
      if (Date.now() > deadline) throw new Error("the address stayed throttled for 10 s after 10 failures");
      await new Promise((res) => setTimeout(res, 250));
    }
  });

  it("refuses the 11th attempt for an account even with the right password (a dedicated user)", async () => {
    expect((await trpcMutate(c.url, "user.create", { username: "throttle-user", password: "throttle user's password", role: "viewer" }, { cookie: admin })).status).toBe(200);
    for (let i = 0; i < 10; i++) {
      const r = await signIn(c.url, "throttle-user", `wrong password ${i}`);
      expect(r.ok).toBe(false);
      expect(errorOf(r)).not.toMatch(/Too many/);
    }
    const good = await signIn(c.url, "throttle-user", "throttle user's password");
    expect(good.ok).toBe(false);
    expect(good.jar[SESSION_COOKIE]).toBeUndefined();
    expect(errorOf(good)).toMatch(/Too many failed sign-ins/);
    const last = (await trpcQuery<{ actor: string; result: string; detail: string }[]>(c.url, "audit.list", { action: "auth.signIn", actor: "throttle-user", limit: 1 }, { cookie: admin })).data!;
    expect(last[0]).toMatchObject({ result: "denied", detail: expect.stringMatching(/^throttled/) });
  });
});
