/**
 * The console in a real browser (headless Debian Chromium) against the production build, a real agent process
 * and three real servers:
 *  - sign in, and the overview shows the agent reachable and live numbers that move with traffic through the VIP;
 *  - an operator drains a real server from the virtual service page: the agent's own API says draining, new
 *    connections through the VIP no longer reach it, a connection it already had keeps working;
 *  - a viewer sees no actions, and a mutation forced from the viewer's page is refused FORBIDDEN (and audited);
 *  - sign out ends the session: the old cookie no longer works;
 *  - screenshots of every main page (with no page or CSP errors);
 *  - last, the agent process is killed and the console shows it stale within 5 s (+2 s).
 * Tests run in order against one cluster; each signs in as the user it needs.
 */
import fs from "node:fs";
import path from "node:path";
import { type AgentClient, createAgentClient, resolveAgentEndpoint } from "@director/agent/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyToSegment } from "../src/lib/format.js";
import { type Browser, launchBrowser, sessionCookieOf, signInAs } from "./helpers/browser.js";
import { ADMIN_PASSWORD, type Cluster, SCREENSHOTS, startCluster } from "./helpers/cluster.js";
import { sessionCookie, trpcMutate, trpcQuery } from "./helpers/http.js";
import { answers, type HeldConnection, holdConnection, startTraffic } from "./helpers/traffic.js";

const OPERATOR = { username: "olivia-operator", password: "operator's password 1" };
const VIEWER = { username: "victor-viewer", password: "viewer's password 12" };

let c: Cluster;
let b: Browser;
let agent: AgentClient;
let admin: string;
let agentId: string;
let servicePath: string;
const held: HeldConnection[] = [];

beforeAll(async () => {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  c = await startCluster();
  agent = createAgentClient(resolveAgentEndpoint({ NODE_ENV: "test", DIRECTOR_STATE_DIR: c.agentStateDir }));
  admin = await sessionCookie(c.url, "admin", ADMIN_PASSWORD);
  for (const u of [
    { ...OPERATOR, role: "operator" },
    { ...VIEWER, role: "viewer" },
  ]) {
    const r = await trpcMutate(c.url, "user.create", u, { cookie: admin });
    if (r.status !== 200) throw new Error(`user.create ${u.username}: ${r.raw.body}`);
  }
  const agents = await trpcQuery<{ id: string; name: string }[]>(c.url, "agent.list", undefined, { cookie: admin });
  agentId = agents.data!.find((a) => a.name === "local")!.id;
  servicePath = `/agents/${agentId}/services/${keyToSegment(`tcp/${c.vip}`)}`;
  b = await launchBrowser();
});
afterAll(async () => {
  for (const h of held) h.close();
  agent?.close();
  await b?.close();
  await c?.stop();
});

const rsOf = (name: string) => c.realServers.find((r) => r.name === name)!;
const adminStates = async () => Object.fromEntries((await agent.service.list.query({}))[0]!.realServers.map((r) => [r.address, r.adminState]));
/** Parses a rate as the console prints it ("0.0", "12.5", "1.2k"). */
const rate = (text: string) => {
  const m = /^([\d.]+)(k|M)?$/.exec(text.trim());
  if (!m) throw new Error(`not a rate: ${JSON.stringify(text)}`);
  return Number(m[1]) * (m[2] === "k" ? 1e3 : m[2] === "M" ? 1e6 : 1);
};

/** Polls fn until it returns a value for which ok() holds (bounded), returning it. */
async function poll<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("signing in and the overview", () => {
  it("a protected page sends a signed-out browser to the sign-in page", async () => {
    await b.page.goto(`${c.url}/`);
    await b.page.waitForURL(/\/signin/);
    await b.page.locator('button[type="submit"]').waitFor();
    await b.page.screenshot({ path: path.join(SCREENSHOTS, "signin.png") });
    expect(b.takeErrors()).toEqual([]);
  });

  it("a wrong password shows the one generic message and stays on the sign-in page", async () => {
    await b.page.locator('input[name="username"]').fill("admin");
    await b.page.locator('input[name="password"]').fill("not the admin password");
    await b.page.locator('button[type="submit"]').click();
    // (Next.js's route announcer is an empty role=alert too.)
    await b.page.getByRole("alert").filter({ hasText: "Invalid username, password or code." }).waitFor();
    expect(b.page.url()).toMatch(/\/signin/);
    expect(await sessionCookieOf(b)).toBeUndefined();
    expect(b.takeErrors()).toEqual(["401 POST /api/auth/callback/credentials"]);
  });

  it("signs in; the overview shows the agent reachable and live numbers that move with traffic through the VIP", async () => {
    await signInAs(b, c.url, "admin", ADMIN_PASSWORD);
    const { page } = b;
    await expect(page.getByTestId("agent-local").textContent()).resolves.toMatch(/reachable/);
    const total = page.getByTestId("total-cps");
    const service = page.getByTestId(`service-tcp/${c.vip}`).getByTestId("service-cps");
    expect(rate((await total.textContent()) ?? "")).toBe(0);

    const traffic = startTraffic(c.vipPort, 4);
    const seen = new Set<number>();
    try {
      // The numbers are pushed by the live stream: watch them move, without reloading.
      await poll(
        async () => {
          const v = rate((await total.textContent()) ?? "");
          if (v > 0) seen.add(v);
          return v;
        },
        () => seen.size >= 2,
        "two different non-zero connections/s values on the overview",
        15_000,
      );
      expect(rate((await service.textContent()) ?? "")).toBeGreaterThan(0);
    } finally {
      const sent = await traffic.stop();
      expect(sent).toBeGreaterThan(20);
    }
    const peak = Math.max(...seen);
    await poll(async () => rate((await total.textContent()) ?? ""), (v) => v < peak, "the rate to fall after the traffic stopped", 15_000);
    expect(b.takeErrors()).toEqual([]);
  });
});

describe("draining a real server from the virtual service page", () => {
  it("an operator drains beta: the agent says draining, new connections avoid it, an existing one keeps working", async () => {
    const beta = rsOf("beta");
    // A keep-alive connection already on beta before the drain (round robin: one of three is).
    for (let i = 0; i < 3 && !held.some((h) => h.name.startsWith("beta ")); i++) held.push(await holdConnection(c.vipPort));
    const onBeta = held.find((h) => h.name.startsWith("beta "));
    expect(onBeta, "a held connection on beta").toBeTruthy();

    await signInAs(b, c.url, OPERATOR.username, OPERATOR.password);
    const { page } = b;
    await page.goto(`${c.url}${servicePath}`);
    for (const r of c.realServers) await page.getByTestId(`rs-row-${r.address}`).waitFor();
    await expect(page.getByTestId(`rs-condition-${beta.address}`).textContent()).resolves.toMatch(/healthy/i);
    expect(await adminStates()).toEqual(Object.fromEntries(c.realServers.map((r) => [r.address, "active"])));

    await page.getByTestId(`rs-action-drain-${beta.address}`).click();
    const dialog = page.getByTestId("action-dialog");
    await dialog.waitFor();
    // Drain only (stay draining, not "then maintenance when idle"), so the state to check is draining.
    const then = page.getByTestId("drain-then-maintenance");
    if (await then.isChecked()) await then.uncheck();
    await page.getByTestId("confirm-action").click();
    await dialog.waitFor({ state: "hidden" });

    // The agent's own API, not the console's view of it.
    const states = await poll(adminStates, (s) => s[beta.address] === "draining", "the agent to report beta draining");
    expect(states).toEqual({ [rsOf("alpha").address]: "active", [beta.address]: "draining", [rsOf("gamma").address]: "active" });
    // The page follows from the agent's frames.
    await page.locator(`[data-testid="rs-row-${beta.address}"][data-condition="draining"]`).waitFor();
    await expect(page.getByTestId(`rs-condition-${beta.address}`).textContent()).resolves.toMatch(/draining/i);

    // New connections through the VIP: never beta now, still both others.
    const names = await answers(c.vipPort, 30);
    expect(names).not.toContain("beta");
    expect(new Set(names)).toEqual(new Set(["alpha", "gamma"]));
    // The connection beta already had is not cut: draining lets it finish.
    expect(await onBeta!.again()).toMatch(/^beta /);

    const audit = await trpcQuery<{ actor: string; actorRole: string; target: string; before: string; after: string; result: string }[]>(c.url, "audit.list", { action: "realServer.drain", limit: 1 }, { cookie: admin });
    expect(audit.data![0]).toMatchObject({ actor: OPERATOR.username, actorRole: "operator", target: `tcp/${c.vip} ${beta.address}`, result: "ok" });
    expect(JSON.parse(audit.data![0]!.before)).toEqual({ adminState: "active" });
    expect(JSON.parse(audit.data![0]!.after)).toMatchObject({ adminState: "draining" });
    await page.screenshot({ path: path.join(SCREENSHOTS, "virtual-service.png"), fullPage: true });
    expect(b.takeErrors()).toEqual([]);
  });
});

describe("a viewer", () => {
  it("sees the virtual service without any action, and a mutation forced from the page is FORBIDDEN", async () => {
    await signInAs(b, c.url, VIEWER.username, VIEWER.password);
    const { page } = b;
    await expect(page.getByTestId("whoami").textContent()).resolves.toMatch(/viewer/);
    await page.goto(`${c.url}${servicePath}`);
    for (const r of c.realServers) await page.getByTestId(`rs-row-${r.address}`).waitFor();
    expect(await page.locator('[data-testid^="rs-action-"]').count()).toBe(0);
    expect(await page.getByTestId("rs-add").count()).toBe(0);
    expect(await page.getByRole("button", { name: /^(Drain|Maint\.|Activate|Weight|Remove)$/ }).count()).toBe(0);

    const alpha = rsOf("alpha");
    const forced = await page.evaluate(
      async ({ agentId, key, address }) => {
        const r = await fetch("/api/trpc/realServer.setAdminState", {
          method: "POST",
          headers: { "content-type": "application/json", "x-director-csrf": "1" },
          body: JSON.stringify({ agentId, key, address, state: "maintenance" }),
        });
        return { status: r.status, body: await r.json() };
      },
      { agentId, key: c.serviceKey, address: alpha.address },
    );
    // Refused by the role check itself (tRPC FORBIDDEN), not by the CSRF rules: the request was well-formed.
    expect(forced.status).toBe(403);
    expect(forced.body.error.data.code).toBe("FORBIDDEN");
    expect(forced.body.error.message).toMatch(/operator role/);
    expect((await adminStates())[alpha.address]).toBe("active");
    const denied = await trpcQuery<{ actor: string; action: string; result: string }[]>(c.url, "audit.list", { actor: VIEWER.username, result: "denied" }, { cookie: admin });
    expect(denied.data!.map((r) => r.action)).toEqual(["realServer.setAdminState"]);
    expect(b.takeErrors()).toEqual(["403 POST /api/trpc/realServer.setAdminState"]);
  });
});

describe("signing out", () => {
  it("returns to the sign-in page and the old session cookie no longer works", async () => {
    await signInAs(b, c.url, "admin", ADMIN_PASSWORD);
    const old = await sessionCookieOf(b);
    expect(old).toBeTruthy();
    const cookie = `__Secure-next-auth.session-token=${old}`;
    expect((await trpcQuery(c.url, "overview.get", undefined, { cookie })).status).toBe(200);

    await b.page.getByRole("button", { name: "Sign out" }).click();
    await b.page.waitForURL(/\/signin/);
    const after = await trpcQuery(c.url, "overview.get", undefined, { cookie });
    expect(after.status).toBe(401);
    expect(after.code).toBe("UNAUTHORIZED");
    expect((await trpcMutate(c.url, "session.revokeOthers", null, { cookie })).code).toBe("UNAUTHORIZED");
    await b.page.goto(`${c.url}/users`);
    await b.page.waitForURL(/\/signin/);
    const rows = await trpcQuery<{ action: string; actor: string }[]>(c.url, "audit.list", { action: "auth.signOut", limit: 1 }, { cookie: admin });
    expect(rows.data![0]).toMatchObject({ actor: "admin" });
  });
});

describe("screenshots of the main pages", () => {
  /** name, path, and the test id that appears once the page shows its data (not a loading state). */
  const pages: [string, string, string][] = [
    ["overview", "/", "agent-local"],
    ["connections", "/connections", "conn-row"],
    ["audit", "/audit", "audit-row"],
    ["users", "/users", "user-row-admin"],
    ["agents", "/agents", "agent-row-local"],
    ["simulator", "/simulator", "sim-result"],
    ["alerts", "/alerts", "alerts-loaded"],
    ["account", "/account", "session-row"],
  ];

  it("shows each page with real content and no page or console (CSP) errors", async () => {
    await signInAs(b, c.url, "admin", ADMIN_PASSWORD);
    b.takeErrors();
    // Held connections give the connection explorer something to list.
    while (held.length < 4) held.push(await holdConnection(c.vipPort));
    for (const [name, p, testId] of pages) {
      await b.page.goto(`${c.url}${p}`);
      await b.page.getByTestId(testId).first().waitFor();
      expect(await b.page.getByText(/Application error|Something went wrong|Unhandled Runtime Error/).count(), name).toBe(0);
      // The connection table can be thousands of rows long: its first screenful is the picture.
      await b.page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: name !== "connections" });
      expect(b.takeErrors(), name).toEqual([]);
    }
    for (const [name] of pages) expect(fs.statSync(path.join(SCREENSHOTS, `${name}.png`)).size, name).toBeGreaterThan(10_000);
  });
});

describe("a lost agent", () => {
  it("shows stale on the overview within 5 s of the agent freezing (+2 s margin), and live again once it runs", async () => {
    await signInAs(b, c.url, "admin", ADMIN_PASSWORD);
    const row = b.page.getByTestId("agent-local");
    await row.filter({ hasText: /reachable/ }).waitFor();
    // Frozen, nothing refuses a connection: only the missing samples can tell.
    const frozen = Date.now();
    c.pauseAgent();
    try {
      await row.filter({ hasText: /stale/ }).waitFor({ timeout: 7_000 });
      expect(Date.now() - frozen).toBeLessThanOrEqual(7_000);
    } finally {
      c.resumeAgent();
    }
    await row.filter({ hasText: /reachable/ }).waitFor({ timeout: 15_000 });
  });

  it("shows stale on the overview and the virtual service page within 5 s of the agent process dying (+2 s margin)", async () => {
    const row = b.page.getByTestId("agent-local");
    await row.filter({ hasText: /reachable/ }).waitFor();
    const killed = Date.now();
    await c.killAgent();
    await row.filter({ hasText: /stale/ }).waitFor({ timeout: 7_000 });
    expect(Date.now() - killed).toBeLessThanOrEqual(7_000);
    await b.page.screenshot({ path: path.join(SCREENSHOTS, "overview-stale.png"), fullPage: true });

    await b.page.goto(`${c.url}${servicePath}`);
    await b.page.getByTestId("stale-banner").waitFor({ timeout: 7_000 });
    // The banner and the page's own state come from separate renders (the banner can be first): awaited, not read once.
    await expect.poll(() => b.page.getByTestId("service-page").getAttribute("data-stale"), { timeout: 7_000 }).toBe("true");
    // Rates of a lost agent are not shown as if current.
    await expect.poll(() => b.page.getByTestId("service-totals-cps").textContent(), { timeout: 7_000 }).toBe("–");
  });
});
