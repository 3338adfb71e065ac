/**
 * The control API's security and formats, generated from the router: every procedure refuses a missing or wrong
 * token (UNAUTHORIZED) and a token of too small a scope (FORBIDDEN); malformed input gets a clear error and
 * changes nothing; /metrics parses with a real Prometheus text parser and its counters never go backwards.
 */
import https from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { createToken } from "../src/control/auth.js";
import { createAgentClient, resolveAgentEndpoint } from "../src/control/client.js";
import { appRouter } from "../src/control/router.js";
import { startTestAgent, type TestAgent } from "./helpers/agent.js";
import { httpGet } from "./helpers/clients.js";
import { startNginx, type RealServerProcess } from "./helpers/nginx.js";
import { freePort } from "./helpers/ports.js";

let t: TestAgent;
let nginx: RealServerProcess;
let vip: number;
let base: string;
let ca: string;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  const port = await freePort();
  nginx = await startNginx([{ port, name: "rs1" }]);
  vip = await freePort();
  t = await startTestAgent({ virtualServices: [{ address: `127.0.0.1:${vip}`, scheduler: "rr", realServers: [{ address: `127.0.0.1:${port}` }] }] });
  const ep = resolveAgentEndpoint({ DIRECTOR_STATE_DIR: t.stateDir });
  base = ep.url;
  ca = ep.ca!;
  for (const scope of ["read", "operate", "admin"] as const) tokens[scope] = createToken(t.stateDir, `test-${scope}`, scope);
});
afterAll(async () => {
  await t?.stop();
  await nginx?.stop();
});

/** One raw HTTPS request to the agent (so malformed bodies and headers can be sent as they are). */
function raw(method: string, path: string, token: string | undefined, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base.replace(/\/trpc$/, "/"));
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const req = https.request(url, { method, headers, ca }, (res) => {
      let text = "";
      res.on("data", (d) => {
        text += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const procedures = Object.entries((appRouter as unknown as { _def: { procedures: Record<string, { _def: { type: string } }> } })._def.procedures).map(
  ([path, p]) => ({ path, type: p._def.type }),
);

describe("every procedure checks the token and its scope", () => {
  it("finds the procedures to test", () => {
    expect(procedures.map((p) => p.path)).toEqual(
      expect.arrayContaining(["info", "service.list", "config.change", "stats.zero", "health.history", "stream.samples", "stream.events", "history.query"]),
    );
  });

  for (const who of [
    { name: "no token", token: undefined },
    { name: "a wrong token", token: "not-a-token" },
  ]) {
    it(`refuses ${who.name} with 401 on every procedure`, async () => {
      for (const p of procedures) {
        const r =
          p.type === "mutation"
            ? await raw("POST", `trpc/${p.path}`, who.token, "{}")
            : await raw("GET", `trpc/${p.path}?input=${encodeURIComponent("{}")}`, who.token);
        if (p.type === "subscription") {
          // SSE answers 200 and then an error message that ends the stream, with no data before it.
          expect(r.text, p.path).toMatch(/event: serialized-error[\s\S]*UNAUTHORIZED/);
          expect(r.text).not.toMatch(/^id:/m);
        } else {
          expect(r.status, p.path).toBe(401);
          expect(r.text).toMatch(/UNAUTHORIZED/);
        }
      }
    });
  }

  it("refuses mutations to a read token (403) and admin changes to an operate token", async () => {
    // config.plan is a dry run: a read token may ask for it.
    for (const p of procedures.filter((x) => x.type === "mutation" && x.path !== "config.plan")) {
      const r = await raw("POST", `trpc/${p.path}`, tokens.read, JSON.stringify({ ops: [{ op: "service.clear" }] }));
      expect(r.status, p.path).toBe(403);
    }
    const key = { protocol: "tcp", address: `127.0.0.1:${vip}` };
    const add = await raw("POST", "trpc/config.change", tokens.operate, JSON.stringify({ ops: [{ op: "service.clear" }] }));
    expect(add.status).toBe(403);
    expect(add.text).toMatch(/scope operate; this needs admin/);
    const drain = await raw("POST", "trpc/config.change", tokens.operate, JSON.stringify({ ops: [{ op: "realServer.setAdminState", key, address: (await t.client.service.list.query({}))[0]!.realServers[0]!.address, state: "draining" }] }));
    expect(drain.status).toBe(200);
    const undo = await raw("POST", "trpc/config.change", tokens.admin, JSON.stringify({ ops: [{ op: "realServer.setAdminState", key, address: (await t.client.service.list.query({}))[0]!.realServers[0]!.address, state: "active" }] }));
    expect(undo.status).toBe(200);
    const read = await raw("GET", "trpc/service.list", tokens.read);
    expect(read.status).toBe(200);
  });
});

describe("desired state with versions and plans", () => {
  it("refuses a change based on a stale version (CONFLICT) and changes nothing", async () => {
    const key = { protocol: "tcp" as const, address: `127.0.0.1:${vip}` };
    const { version } = await t.client.config.version.query();
    const r = await t.client.config.change.mutate({ baseVersion: version, ops: [{ op: "service.edit", key, patch: { scheduler: "wlc" } }] });
    expect(r.version).toBe(version + 1);
    const before = await t.client.config.get.query();
    const stale = await t.client.config.change
      .mutate({ baseVersion: version, ops: [{ op: "service.edit", key, patch: { scheduler: "sh" } }] })
      .then(
        () => null,
        (e: { data?: { code?: string }; message: string }) => e,
      );
    expect(stale?.data?.code).toBe("CONFLICT");
    expect(stale?.message).toMatch(new RegExp(`changed since version ${version} \\(now ${version + 1}\\)`));
    expect(await t.client.config.get.query()).toEqual(before);
    await t.client.config.change.mutate({ baseVersion: version + 1, ops: [{ op: "service.edit", key, patch: { scheduler: "rr" } }] });
  });

  it("plans a batch without applying it: what would be added, changed and removed", async () => {
    const key = { protocol: "tcp" as const, address: `127.0.0.1:${vip}` };
    const before = await t.client.config.get.query();
    const rs = before.virtualServices[0]!.realServers[0]!.address;
    const plan = await t.client.config.plan.mutate({
      ops: [
        { op: "realServer.add", key, realServer: { address: "127.0.0.1:9", weight: 2 } },
        { op: "realServer.edit", key, address: rs, patch: { weight: 7 } },
        { op: "service.add", service: { address: "127.0.0.1:10", realServers: [] } },
        { op: "timeouts.set", timeouts: { udp: 60 } },
      ],
    });
    expect(plan.changes).toEqual(
      expect.arrayContaining([
        { action: "add", target: `tcp/127.0.0.1:${vip} → 127.0.0.1:9` },
        { action: "change", target: `tcp/127.0.0.1:${vip} → ${rs}`, fields: { weight: [1, 7] } },
        { action: "add", target: "tcp/127.0.0.1:10" },
        { action: "change", target: "timeouts", fields: { udp: [300, 60] } },
      ]),
    );
    expect(plan.changes).toHaveLength(4);
    expect(await t.client.config.get.query()).toEqual(before);
    const bad = await t.client.config.plan.mutate({ ops: [{ op: "realServer.delete", key, address: "127.0.0.1:1" }] }).then(
      () => "",
      (e: Error) => e.message,
    );
    expect(bad).toMatch(/no such real server 127\.0\.0\.1:1/);
  });
});

describe("malformed input is refused and changes nothing", () => {
  it("answers 400 with the field at fault for wrong types, __proto__ keys, huge strings and port 65536", async () => {
    const before = await t.client.config.get.query();
    const key = { protocol: "tcp", address: `127.0.0.1:${vip}` };
    const bodies = [
      "not json",
      JSON.stringify({ ops: "all" }),
      JSON.stringify({ ops: [{ op: "realServer.add", key, realServer: { address: "127.0.0.1:65536" } }] }),
      JSON.stringify({ ops: [{ op: "realServer.add", key, realServer: { address: "x".repeat(100_000) } }] }),
      `{"ops":[{"op":"realServer.add","key":${JSON.stringify(key)},"realServer":{"address":"127.0.0.1:81","__proto__":{"weight":9}}}]}`,
      JSON.stringify({ ops: [{ op: "realServer.add", key, realServer: { address: "127.0.0.1:81", weight: "9" } }] }),
      JSON.stringify({ ops: [{ op: "service.add", service: { address: "127.0.0.1:1", scheduler: "nope" } }], extra: true }),
    ];
    for (const body of bodies) {
      const r = await raw("POST", "trpc/config.change", tokens.admin, body);
      expect(r.status, body.slice(0, 80)).toBe(400);
    }
    expect(await t.client.config.get.query()).toEqual(before);
  });
});

describe("Prometheus /metrics", () => {
  it("needs a token, parses with a Prometheus text parser, and its counters are monotonic across vsadm -Z", async () => {
    expect((await raw("GET", "metrics", undefined)).status).toBe(401);
    for (let i = 0; i < 3; i++) await httpGet(vip);
    const scrape = async () => {
      const r = await raw("GET", "metrics", tokens.read);
      expect(r.status).toBe(200);
      const families = parsePrometheusTextFormat(r.text) as { name: string; type: string; metrics: { value: string; labels?: Record<string, string> }[] }[];
      return new Map(families.map((f) => [f.name, f]));
    };
    const first = await scrape();
    const conns = first.get("director_realserver_connections_total")!;
    expect(conns.type).toBe("COUNTER");
    expect(Number(conns.metrics[0]!.value)).toBe(3);
    expect(conns.metrics[0]!.labels).toEqual({ service: `tcp/127.0.0.1:${vip}`, real: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(first.get("director_realserver_active_connections")!.type).toBe("GAUGE");
    expect(Number(first.get("director_realserver_available")!.metrics[0]!.value)).toBe(1);
    await t.client.stats.zero.mutate({});
    const [svc] = await t.client.service.list.query({});
    expect(svc!.stats.conns).toBe(0); // vsadm shows zero…
    await httpGet(vip);
    const second = await scrape();
    expect(Number(second.get("director_realserver_connections_total")!.metrics[0]!.value)).toBe(4); // …Prometheus never goes back
    expect(Number(second.get("director_virtualservice_in_bytes_total")!.metrics[0]!.value)).toBeGreaterThan(
      Number(first.get("director_virtualservice_in_bytes_total")!.metrics[0]!.value),
    );
  });
});

describe("token CLI model", () => {
  it("a revoked or unknown token stops working at the next request", async () => {
    const name = "short-lived";
    const tok = createToken(t.stateDir, name, "read");
    const c = createAgentClient({ url: base, token: tok, ca });
    expect((await c.info.query()).version).toMatch(/\d+\.\d+\.\d+/);
    const { revokeToken } = await import("../src/control/auth.js");
    expect(revokeToken(t.stateDir, name)).toBe(true);
    await expect(c.info.query()).rejects.toThrow(/UNAUTHORIZED|bearer/);
    c.close();
  });
});

describe("mutual TLS", () => {
  it("with api.clientCa, a client needs a certificate from that CA as well as its token", async () => {
    const selfsigned = (await import("selfsigned")).default;
    const fs = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const pems = await selfsigned.generate([{ name: "commonName", value: "director-test-ca" }], {
      keyType: "ec",
      curve: "P-256",
      algorithm: "sha256",
      extensions: [{ name: "basicConstraints", cA: true }],
      clientCertificate: { cn: "operator" },
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-mtls-"));
    fs.writeFileSync(path.join(dir, "ca.pem"), pems.cert);
    const m = await startTestAgent(
      { api: { listen: "127.0.0.1:1", clientCa: path.join(dir, "ca.pem") }, virtualServices: [] },
      { cert: pems.clientcert!, key: pems.clientprivate! },
    );
    try {
      expect((await m.client.info.query()).version).toMatch(/\d+\.\d+\.\d+/);
      const ep = resolveAgentEndpoint({ DIRECTOR_STATE_DIR: m.stateDir });
      const without = createAgentClient(ep);
      await expect(without.info.query()).rejects.toThrow();
      without.close();
    } finally {
      await m.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
