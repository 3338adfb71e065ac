/**
 * End to end through the userspace engine: real nginx real servers, a real agent, real TCP clients.
 * Scheduling sequences are checked against the kernel's algorithms with connections held open, so the
 * counters the schedulers read are the ones the connection table really keeps.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RealServerInput } from "@director/model";
import { type HeldConnection, holdConnection, httpGet } from "./helpers/clients.js";
import { nextEvent, startTestAgent, type TestAgent, until } from "./helpers/agent.js";
import { startNginx, type RealServerProcess } from "./helpers/nginx.js";
import { freePort } from "./helpers/ports.js";

let nginx: RealServerProcess;
const names = ["A", "B", "C"];
let rsAddr: string[];
let vip: number;
let t: TestAgent | undefined;
const held: HeldConnection[] = [];

beforeAll(async () => {
  const ports = [await freePort(), await freePort(), await freePort()];
  nginx = await startNginx(ports.map((port, i) => ({ port, name: names[i]! })));
  rsAddr = ports.map((p) => `127.0.0.1:${p}`);
});
afterAll(async () => {
  await nginx?.stop();
});
afterEach(async () => {
  for (const h of held.splice(0)) h.close();
  await t?.stop();
  t = undefined;
});

async function agentWith(scheduler: string, weights: number[], extra: Record<string, unknown> = {}, rsExtra: Partial<RealServerInput>[] = []) {
  vip = await freePort();
  t = await startTestAgent({
    ...(extra.timeouts ? { timeouts: extra.timeouts as never } : {}),
    virtualServices: [
      {
        address: `127.0.0.1:${vip}`,
        scheduler: scheduler as never,
        ...(extra.persistence ? { persistence: extra.persistence as never } : {}),
        realServers: weights.map((w, i) => ({ address: rsAddr[i]!, weight: w, ...rsExtra[i] })),
      },
    ],
  });
  return t;
}

const key = () => ({ protocol: "tcp" as const, address: `127.0.0.1:${vip}` });

async function holdN(n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const h = await holdConnection(vip);
    held.push(h);
    out.push(h.name);
  }
  return out;
}

describe("scheduling sequences through the engine", () => {
  it("wrr 4,3,2: A A B A B C A B C", async () => {
    await agentWith("wrr", [4, 3, 2]);
    const seq: string[] = [];
    for (let i = 0; i < 9; i++) seq.push((await httpGet(vip)).trim());
    expect(seq.join(" ")).toBe("A A B A B C A B C");
  });

  it("changing the scheduler (ipvsadm -E -s) gives the new one the real servers at once", async () => {
    await agentWith("rr", [4, 3, 2]);
    expect((await httpGet(vip)).trim()).toBe("A");
    await t!.client.config.change.mutate({ ops: [{ op: "service.edit", key: key(), patch: { scheduler: "wrr" } }] });
    const seq: string[] = [];
    for (let i = 0; i < 9; i++) seq.push((await httpGet(vip)).trim());
    expect(seq.join(" ")).toBe("A A B A B C A B C");
  });

  it("wrr 4,0,2 skips the quiesced server: A A C repeating", async () => {
    await agentWith("wrr", [4, 0, 2]);
    const seq: string[] = [];
    for (let i = 0; i < 6; i++) seq.push((await httpGet(vip)).trim());
    expect(seq.join(" ")).toBe("A A C A A C");
  });

  it("wlc 3,2,1 with every connection held: A B C A B A A B C", async () => {
    await agentWith("wlc", [3, 2, 1]);
    expect((await holdN(9)).join(" ")).toBe("A B C A B A A B C");
    const [svc] = await t!.client.service.list.query({});
    expect(svc!.realServers.map((r) => r.activeConns)).toEqual([4, 3, 2]);
  });

  it("sed 3,2,1 held: (active+1)/weight, ties to the first", async () => {
    await agentWith("sed", [3, 2, 1]);
    expect((await holdN(9)).join(" ")).toBe("A B A A B C A B A");
  });

  it("nq 3,2,1 held: idle servers first, then sed", async () => {
    await agentWith("nq", [3, 2, 1]);
    expect((await holdN(8)).join(" ")).toBe("A B C A A B A B");
  });
});

describe("admin states", () => {
  it("drain: no new connections to the drained server, held ones still carry data", async () => {
    await agentWith("rr", [1, 1, 1]);
    const before = await holdN(3);
    expect(before).toEqual(["A", "B", "C"]);
    await t!.client.config.change.mutate({ ops: [{ op: "realServer.setAdminState", key: key(), address: rsAddr[0]!, state: "draining" }] });
    const after: string[] = [];
    for (let i = 0; i < 6; i++) after.push((await httpGet(vip)).trim());
    expect(after).not.toContain("A");
    expect(await held[0]!.again()).toBe("A");
    const [svc] = await t!.client.service.list.query({});
    const a = svc!.realServers[0]!;
    expect(a.adminState).toBe("draining");
    expect(a.effectiveWeight).toBe(0);
    expect(a.weight).toBe(1);
    expect(a.activeConns).toBe(1);
  });

  it("drain then maintenance when idle: moves by itself when the last connection ends", async () => {
    await agentWith("rr", [1, 1]);
    await holdN(2);
    await t!.client.config.change.mutate({
      ops: [{ op: "realServer.setAdminState", key: key(), address: rsAddr[0]!, state: "draining", thenMaintenance: true }],
    });
    const moved = nextEvent(t!.agent, "adminState.changed", (e) => e.to === "maintenance");
    held[0]!.close();
    const e = await moved;
    expect(e.realServer).toBe(rsAddr[0]);
    const [svc] = await t!.client.service.list.query({});
    expect(svc!.realServers[0]!.adminState).toBe("maintenance");
    expect(svc!.realServers[0]!.available).toBe(false);
  });

  it("maintenance with a deadline closes the remaining connections at the deadline, not before", async () => {
    await agentWith("rr", [1, 1]);
    await holdN(2);
    const closedAt = new Promise<number>((r) => held[0]!.socket.once("close", () => r(Date.now())));
    const started = Date.now();
    const closed = nextEvent(t!.agent, "connections.closed", (e) => e.realServer === rsAddr[0]);
    await t!.client.config.change.mutate({
      ops: [{ op: "realServer.setAdminState", key: key(), address: rsAddr[0]!, state: "maintenance", deadlineSeconds: 1 }],
    });
    expect(await held[0]!.again()).toBe("A"); // still open before the deadline
    const e = await closed;
    expect(e.count).toBe(1);
    expect((await closedAt) - started).toBeGreaterThanOrEqual(900);
    expect(await held[1]!.again()).toBe("B"); // the other server's connection is untouched
  });

  it("maintenance without deadline keeps existing connections; activate puts the server back", async () => {
    await agentWith("rr", [1, 1]);
    await holdN(2);
    await t!.client.config.change.mutate({ ops: [{ op: "realServer.setAdminState", key: key(), address: rsAddr[0]!, state: "maintenance" }] });
    for (let i = 0; i < 4; i++) expect((await httpGet(vip)).trim()).toBe("B");
    expect(await held[0]!.again()).toBe("A");
    await t!.client.config.change.mutate({ ops: [{ op: "realServer.setAdminState", key: key(), address: rsAddr[0]!, state: "active" }] });
    const seq = new Set<string>();
    for (let i = 0; i < 4; i++) seq.add((await httpGet(vip)).trim());
    expect(seq).toEqual(new Set(["A", "B"]));
  });
});

describe("deadlines and sysctls", () => {
  it("a drain with a deadline moves to maintenance at the deadline even with connections left", async () => {
    await agentWith("rr", [1, 1]);
    await holdN(2);
    const started = Date.now();
    const moved = nextEvent(t!.agent, "adminState.changed", (e) => e.to === "maintenance");
    await t!.client.config.change.mutate({
      ops: [{ op: "realServer.setAdminState", key: key(), address: rsAddr[0]!, state: "draining", deadlineSeconds: 1 }],
    });
    await moved;
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await held[0]!.again()).toBe("A"); // maintenance without its own deadline keeps the connection
  });

  it("removing a real server lets its connections finish; with expireNodestConn they are closed", async () => {
    vip = await freePort();
    t = await startTestAgent({
      sysctl: { expireNodestConn: true, expireQuiescentTemplate: false },
      virtualServices: [{ address: `127.0.0.1:${vip}`, scheduler: "rr", realServers: rsAddr.slice(0, 2).map((address) => ({ address })) }],
    });
    await holdN(2);
    const closed = new Promise<void>((r) => held[0]!.socket.once("close", () => r()));
    await t.client.config.change.mutate({ ops: [{ op: "realServer.delete", key: key(), address: rsAddr[0]! }] });
    await closed;
    expect(await held[1]!.again()).toBe("B");
  });

  it("without expireNodestConn a removed real server's connection keeps working", async () => {
    await agentWith("rr", [1, 1]);
    await holdN(2);
    await t!.client.config.change.mutate({ ops: [{ op: "realServer.delete", key: key(), address: rsAddr[0]! }] });
    expect(await held[0]!.again()).toBe("A");
    for (let i = 0; i < 3; i++) expect((await httpGet(vip)).trim()).toBe("B");
  });

  it("a real server removed and added again while its connection lives comes back from the trash: counters and ActiveConn go on (IPVS dest trash)", async () => {
    await agentWith("rr", [1, 1]);
    await holdN(2);
    expect((await httpGet(vip)).trim()).toBe("A");
    await t!.client.config.change.mutate({ ops: [{ op: "realServer.delete", key: key(), address: rsAddr[0]! }] });
    await t!.client.config.change.mutate({ ops: [{ op: "realServer.add", key: key(), realServer: { address: rsAddr[0]!, weight: 3 } }] });
    const a = async () => (await t!.client.service.list.query({}))[0]!.realServers.find((r) => r.address === rsAddr[0])!;
    const back = await a();
    expect(back.weight).toBe(3);
    expect(back.activeConns).toBe(1); // the held connection, still counted for it
    expect(back.stats.conns).toBe(2); // the held one and the GET: its totals went on
    expect(await held[0]!.again()).toBe("A");
    held.shift()!.close();
    await until(async () => (await a()).activeConns === 0, "the held connection's end counted for the revived server");
  });

  it("expireQuiescentTemplate: a drained server's persistent clients are rescheduled", async () => {
    vip = await freePort();
    t = await startTestAgent({
      sysctl: { expireNodestConn: false, expireQuiescentTemplate: true },
      virtualServices: [
        { address: `127.0.0.1:${vip}`, scheduler: "rr", persistence: { timeout: 300, prefixLength: 32 }, realServers: rsAddr.slice(0, 2).map((address) => ({ address })) },
      ],
    });
    const first = (await httpGet(vip)).trim();
    await t.client.config.change.mutate({
      ops: [{ op: "realServer.setAdminState", key: key(), address: rsAddr[names.indexOf(first)]!, state: "draining" }],
    });
    expect((await httpGet(vip)).trim()).not.toBe(first);
  });
});

describe("persistence", () => {
  it("one client address sticks to one real server; /24 groups clients, /32 does not", async () => {
    await agentWith("rr", [1, 1, 1], { persistence: { timeout: 300, prefixLength: 32 } });
    const from = (local: string) =>
      new Promise<string>((resolve, reject) => {
        import("node:net").then(({ default: net }) => {
          const s = net.connect({ host: "127.0.0.1", port: vip, localAddress: local });
          let d = "";
          s.setEncoding("latin1");
          s.on("connect", () => s.write("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
          s.on("data", (c) => {
            d += c;
          });
          s.on("end", () => resolve(d.slice(d.indexOf("\r\n\r\n") + 4).trim()));
          s.on("error", reject);
        });
      });
    const a1 = await from("127.0.0.1");
    const b1 = await from("127.0.0.2");
    expect(a1).not.toBe(b1);
    for (let i = 0; i < 4; i++) {
      expect(await from("127.0.0.1")).toBe(a1);
      expect(await from("127.0.0.2")).toBe(b1);
    }
    const entries = await t!.client.connection.list.query({ templates: true });
    const templates = entries.filter((e) => e.template);
    expect(templates.map((e) => e.client).sort()).toEqual(["127.0.0.1:0", "127.0.0.2:0"]);
    const [svc] = await t!.client.service.list.query({});
    expect(svc!.realServers.reduce((n, r) => n + r.persistConns, 0)).toBe(2);

    // Same clients with a /24 granularity: both addresses share one template.
    await t!.client.config.change.mutate({ ops: [{ op: "service.edit", key: key(), patch: { persistence: { timeout: 300, prefixLength: 24 } } }] });
    await t!.client.config.change.mutate({ ops: [{ op: "service.edit", key: key(), patch: { persistence: null } }] });
    await t!.client.config.change.mutate({ ops: [{ op: "service.edit", key: key(), patch: { persistence: { timeout: 300, prefixLength: 24 } } }] });
    const c1 = await from("127.0.0.3");
    expect(await from("127.0.0.4")).toBe(c1);
    expect(await from("127.0.0.1")).toBe(c1);
  });

  it("the connection explorer expires one client's template and closes one real server's connections", async () => {
    await agentWith("rr", [1, 1], { persistence: { timeout: 300, prefixLength: 32 } });
    const first = (await httpGet(vip)).trim();
    const h = await holdConnection(vip);
    held.push(h);
    expect(h.name).toBe(first);
    const closed = new Promise<void>((r) => h.socket.once("close", () => r()));
    const r = await t!.client.connection.closeRealServer.mutate({ key: key(), address: rsAddr[names.indexOf(first)]! });
    expect(r.closed).toBe(1);
    await closed;
    expect((await t!.client.connection.expireTemplate.mutate({ key: key(), client: "127.0.0.1" })).removed).toBe(1);
    expect((await httpGet(vip)).trim()).not.toBe(first); // rr moved on, and no template pinned the client
    const templates = (await t!.client.connection.list.query({})).filter((e) => e.template);
    expect(templates).toHaveLength(1);
  });

  it("a drained server keeps its persistent clients; maintenance breaks persistence", async () => {
    await agentWith("rr", [1, 1], { persistence: { timeout: 300, prefixLength: 32 } });
    const first = (await httpGet(vip)).trim();
    const firstIdx = names.indexOf(first);
    await t!.client.config.change.mutate({ ops: [{ op: "realServer.setAdminState", key: key(), address: rsAddr[firstIdx]!, state: "draining" }] });
    expect((await httpGet(vip)).trim()).toBe(first);
    await t!.client.config.change.mutate({ ops: [{ op: "realServer.setAdminState", key: key(), address: rsAddr[firstIdx]!, state: "maintenance" }] });
    expect((await httpGet(vip)).trim()).not.toBe(first);
  });
});

describe("overload thresholds", () => {
  it("-x stops new connections at the upper threshold; they return below the lower one", async () => {
    await agentWith("fo", [10, 1], { timeouts: { tcp: 900, tcpFin: 1, udp: 300 } }, [{ upperThreshold: 2, lowerThreshold: 1 }]);
    expect(await holdN(3)).toEqual(["A", "A", "B"]);
    let [svc] = await t!.client.service.list.query({});
    expect(svc!.realServers[0]!.overloaded).toBe(true);
    // Closing one leaves 1 live + 1 TIME_WAIT entry: still not below the lower threshold of 1.
    held[0]!.close();
    held[1]!.close();
    // Both TIME_WAIT entries expire after tcpfin (1 s): total 0 < 1 clears the flag.
    await until(async () => {
      [svc] = await t!.client.service.list.query({});
      return !svc!.realServers[0]!.overloaded;
    }, "overload to clear");
    expect(svc!.realServers[0]!.inactiveConns + svc!.realServers[0]!.activeConns).toBe(0);
    expect((await httpGet(vip)).trim()).toBe("A");
  });
});

describe("idle timeouts", () => {
  it("closes a connection idle for longer than the tcp timeout, not one that keeps moving bytes", async () => {
    await agentWith("rr", [1, 1], { timeouts: { tcp: 2, tcpFin: 120, udp: 300 } });
    const [idle, busy] = await holdN(2);
    expect([idle, busy]).toEqual(["A", "B"]);
    const started = Date.now();
    const idleClosed = new Promise<number>((r) => held[0]!.socket.once("close", () => r(Date.now())));
    // Keep the second connection busy (a request every 500 ms) until the idle one is gone.
    let busyDone = false;
    const keepBusy = (async () => {
      while (!busyDone) {
        expect(await held[1]!.again()).toBe("B");
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    const closedAt = await idleClosed;
    busyDone = true;
    await keepBusy;
    expect(closedAt - started).toBeGreaterThanOrEqual(1900);
    expect(held[1]!.socket.destroyed).toBe(false);
    const entries = await t!.client.connection.list.query({});
    const live = entries.filter((e) => e.state === "ESTABLISHED");
    expect(live).toHaveLength(1);
    expect(live[0]!.real).toBe(rsAddr[1]);
    expect(live[0]!.expiresIn).toBeLessThanOrEqual(2);
  });
});

describe("bad input changes nothing", () => {
  it("rejects bad changes with a clear error and leaves the running config as it was", async () => {
    await agentWith("wrr", [1, 1]);
    const before = await t!.client.config.get.query();
    const bad: unknown[] = [
      { op: "realServer.add", key: key(), realServer: { address: "127.0.0.1:65536" } },
      { op: "realServer.add", key: key(), realServer: { address: "127.0.0.1:0" } },
      { op: "realServer.add", key: key(), realServer: { address: "not-an-ip:80" } },
      { op: "realServer.add", key: key(), realServer: { address: rsAddr[0]! } },
      { op: "realServer.add", key: key(), realServer: { address: "127.0.0.9:80", weight: 65536 } },
      { op: "service.edit", key: key(), patch: { scheduler: "fastest" } },
      { op: "service.add", service: { address: "127.0.0.1:1", realServers: [{ address: "127.0.0.2:80", forward: "dr" }] } },
      { op: "realServer.add", key: key(), realServer: { address: "127.0.0.9:80", __proto__: { weight: 5 }, evil: 1 } },
    ];
    const messages: string[] = [];
    for (const op of bad) {
      // A valid change batched with a bad one must not apply either.
      const ops = [{ op: "realServer.setAdminState", key: key(), address: rsAddr[1]!, state: "draining" }, op];
      const err = await t!.client.config.change.mutate({ ops: ops as never }).then(
        () => null,
        (e: Error) => e.message,
      );
      expect(err, JSON.stringify(op)).not.toBeNull();
      messages.push(err!);
    }
    expect(messages[0]).toMatch(/65535/);
    expect(messages[3]).toMatch(/already exists/);
    expect(messages[6]).toMatch(/kernel engine/);
    expect(await t!.client.config.get.query()).toEqual(before);
    const [svc] = await t!.client.service.list.query({});
    expect(svc!.realServers.map((r) => r.adminState)).toEqual(["active", "active"]);
  });
});
