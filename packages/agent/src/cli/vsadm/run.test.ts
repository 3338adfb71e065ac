import fs from "node:fs";
import type { ConnectionEntry, Op, ServiceKey, VirtualServiceStatus } from "@director/model";
import { TRPCClientError } from "@trpc/client";
import { describe, expect, it } from "vitest";
import { HELP_TEXT } from "./help.js";
import { runVsadm, type VsadmClient } from "./run.js";
import { CONNECTIONS, SERVICES } from "./test-fixtures.js";

const golden = (name: string) => fs.readFileSync(new URL(`./golden/${name}`, import.meta.url), "utf8");

/** The agent's refusal as the tRPC client delivers it (control/trpc.ts puts the list in data.errors). */
const refusal = (...errors: string[]) => TRPCClientError.from({ error: { code: -32600, message: errors.join("; "), data: { code: "BAD_REQUEST", errors } } });

interface Fake {
  client: VsadmClient;
  calls: [string, unknown][];
  closed: boolean;
}

function fakeAgent(o: { services?: VirtualServiceStatus[]; connections?: ConnectionEntry[]; applyError?: unknown } = {}): Fake {
  const services = o.services ?? SERVICES;
  const fake: Fake = {
    calls: [],
    closed: false,
    client: {
      service: {
        list: {
          query: async (input: { key?: ServiceKey }) => {
            fake.calls.push(["service.list", input]);
            return input.key ? services.filter((s) => s.protocol === input.key!.protocol && s.address === input.key!.address) : services;
          },
        },
      },
      connection: {
        list: {
          query: async (input: { service?: ServiceKey }) => {
            fake.calls.push(["connection.list", input]);
            return o.connections ?? CONNECTIONS;
          },
        },
      },
      config: {
        get: {
          query: async () => {
            fake.calls.push(["config.get", undefined]);
            return { timeouts: { tcp: 900, tcpFin: 120, udp: 300 } };
          },
        },
        change: {
          mutate: async (input: { ops: Op[] }) => {
            fake.calls.push(["config.change", input.ops]);
            if (o.applyError) throw o.applyError;
            return { summary: [] };
          },
        },
      },
      stats: {
        zero: {
          mutate: async (input: { key?: ServiceKey }) => {
            fake.calls.push(["stats.zero", input]);
            return { ok: true };
          },
        },
      },
      close: () => {
        fake.closed = true;
      },
    },
  };
  return fake;
}

async function vsadm(line: string, o: { agent?: Fake; stdin?: string; connectError?: Error } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  let connected = false;
  const code = await runVsadm(line ? line.split(" ") : [], {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    readStdin: async () => o.stdin ?? "",
    connect: () => {
      connected = true;
      if (o.connectError) throw o.connectError;
      if (!o.agent) throw new Error("test: no agent expected");
      return o.agent.client;
    },
  });
  return { code, stdout: out.join(""), stderr: err.join(""), connected };
}

const VIP = "127.0.0.1:8080";

describe("runVsadm: nothing reaches the agent unless the arguments are valid", () => {
  it("--help prints the usage and needs no agent", async () => {
    const r = await vsadm("--help");
    expect(r).toMatchObject({ code: 0, stdout: HELP_TEXT, stderr: "", connected: false });
    expect(r.stdout).toContain("-a without -m|-g|-i means -m (NAT)");
  });
  it("-v prints the version", async () => {
    expect(await vsadm("-v")).toMatchObject({ code: 0, stdout: "vsadm 0.1.0 (Director, ipvsadm-compatible)\n", connected: false });
  });
  it.each([
    ["-A -t 1.2.3.4:0", "vsadm: -t 1.2.3.4:0: port 0 is out of range 1..65535\n"],
    [`-a -t ${VIP} -r 127.0.0.1:1 -w 65536`, "vsadm: -w: weight 65536 is out of range 0..65535\n"],
    [`-A -t ${VIP} -s nope`, `vsadm: -s: unknown scheduler "nope" (one of rr, wrr, lc, wlc, sed, nq, lblc, lblcr, dh, sh, mh, fo, ovf, twos)\n`],
  ])("vsadm %s: exit 2, one line, no agent", async (line, want) => {
    expect(await vsadm(line, { agent: fakeAgent() })).toMatchObject({ code: 2, stdout: "", stderr: want, connected: false });
  });
  it("no agent configured: exit 1 with resolveAgentEndpoint's message", async () => {
    const r = await vsadm("-L -n", { connectError: new Error("no agent found: /x/api.json is missing") });
    expect(r).toMatchObject({ code: 1, stdout: "", stderr: "vsadm: no agent found: /x/api.json is missing\n" });
  });
});

describe("runVsadm: changes", () => {
  it("-A sends one batch and prints nothing, as ipvsadm", async () => {
    const agent = fakeAgent();
    const r = await vsadm(`-A -t ${VIP} -s wrr`, { agent });
    expect(r).toMatchObject({ code: 0, stdout: "", stderr: "" });
    expect(agent.calls).toHaveLength(1);
    expect(agent.calls[0]![0]).toBe("config.change");
    expect((agent.calls[0]![1] as Op[]).map((o) => o.op)).toEqual(["service.add"]);
    expect(agent.closed).toBe(true);
  });

  it("a refusal is one line on stderr and exit 1", async () => {
    const agent = fakeAgent({ applyError: refusal("virtual service tcp/127.0.0.1:8080 already exists") });
    const r = await vsadm(`-A -t ${VIP}`, { agent });
    expect(r).toMatchObject({ code: 1, stdout: "", stderr: "vsadm: virtual service tcp/127.0.0.1:8080 already exists\n" });
    expect(agent.closed).toBe(true);
  });

  it("a command that is two ops drops the agent's numbering, once per message", async () => {
    const msg = "no such real server 127.0.0.1:9 in tcp/127.0.0.1:8080";
    const agent = fakeAgent({ applyError: refusal(`change 1 (realServer.edit): ${msg}`, `change 2 (realServer.setAdminState): ${msg}`) });
    const r = await vsadm(`-e -t ${VIP} -r 127.0.0.1:9 -w 0 --drain`, { agent });
    expect(r).toMatchObject({ code: 1, stderr: `vsadm: ${msg}\n` });
  });

  it("an unreachable agent says so", async () => {
    const down = TRPCClientError.from(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9443"), { code: "ECONNREFUSED" }));
    const r = await vsadm("-C", { agent: fakeAgent({ applyError: down }) });
    expect(r).toMatchObject({ code: 1, stderr: "vsadm: cannot reach the agent: connect ECONNREFUSED 127.0.0.1:9443\n" });
  });

  it("-Z and -Z -t zero all or one service", async () => {
    const agent = fakeAgent();
    expect((await vsadm("-Z", { agent })).code).toBe(0);
    expect((await vsadm(`-Z -t ${VIP}`, { agent })).code).toBe(0);
    expect(agent.calls).toEqual([
      ["stats.zero", {}],
      ["stats.zero", { key: { protocol: "tcp", address: VIP } }],
    ]);
  });
});

describe("runVsadm: -R is one atomic batch", () => {
  const input = ["# from ipvsadm-save", "-C", `-A -t ${VIP} -s wrr`, "", `-a -t ${VIP} -r 127.0.0.1:18081 -m -w 3`, `-a -t ${VIP} -r 127.0.0.1:18082 -m -w 1`].join("\n");

  it("all lines go in one config.change", async () => {
    const agent = fakeAgent();
    const r = await vsadm("-R", { agent, stdin: input });
    expect(r).toMatchObject({ code: 0, stdout: "", stderr: "" });
    expect(agent.calls).toHaveLength(1);
    expect((agent.calls[0]![1] as Op[]).map((o) => o.op)).toEqual(["service.clear", "service.add", "realServer.add", "realServer.add"]);
  });

  it("a bad line: exit 2, named by its line, and the agent is never asked", async () => {
    const r = await vsadm("-R", { stdin: `${input}\n-a -t ${VIP} -r 127.0.0.1:18083 -w 99999\n` });
    expect(r).toMatchObject({ code: 2, stderr: "vsadm: -R: line 7: -w: weight 99999 is out of range 0..65535\n", connected: false });
  });

  it("the agent's refusal of op N is reported at its input line", async () => {
    const agent = fakeAgent({ applyError: refusal("change 3 (realServer.add): real server 127.0.0.1:18081 already exists in tcp/127.0.0.1:8080") });
    const r = await vsadm("--restore", { agent, stdin: input });
    expect(r).toMatchObject({ code: 1, stderr: "vsadm: line 5: real server 127.0.0.1:18081 already exists in tcp/127.0.0.1:8080\n" });
  });

  it("a one-op batch is refused without numbering: the line is still named", async () => {
    const agent = fakeAgent({ applyError: refusal("no such virtual service tcp/127.0.0.1:8080") });
    const r = await vsadm("-R", { agent, stdin: `\n\n-D -t ${VIP}\n` });
    expect(r).toMatchObject({ code: 1, stderr: "vsadm: line 3: no such virtual service tcp/127.0.0.1:8080\n" });
  });

  it("empty input does nothing", async () => {
    expect(await vsadm("-R", { stdin: "# nothing\n" })).toMatchObject({ code: 0, stdout: "", stderr: "", connected: false });
  });
});

describe("runVsadm: listings", () => {
  it("-L -n prints ipvsadm's layout", async () => {
    const agent = fakeAgent();
    expect(await vsadm("-L -n", { agent })).toMatchObject({ code: 0, stdout: golden("list-n.txt"), stderr: "" });
    expect(agent.calls).toEqual([["service.list", {}]]);
  });

  it("no arguments is -L -n", async () => {
    expect((await vsadm("", { agent: fakeAgent() })).stdout).toBe(golden("list-n.txt"));
  });

  it.each([
    ["-Ln --stats", "stats.txt"],
    ["-Ln --stats --exact", "stats-exact.txt"],
    ["-Ln --rate", "rate.txt"],
    ["-Ln --thresholds", "thresholds.txt"],
    ["-Ln --persistent-conn", "persistent-conn.txt"],
    ["-Ln --admin", "admin.txt"],
    ["-Lnc", "connections.txt"],
    ["-S -n", "save.txt"],
  ])("vsadm %s", async (line, file) => {
    expect(await vsadm(line, { agent: fakeAgent() })).toMatchObject({ code: 0, stdout: golden(file), stderr: "" });
  });

  it("-L -t lists one service without the version line", async () => {
    const agent = fakeAgent();
    const r = await vsadm(`-L -n -t ${VIP}`, { agent });
    expect(r.stdout.split("\n").slice(0, 3)).toEqual([
      "Prot LocalAddress:Port Scheduler Flags",
      "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
      "TCP  127.0.0.1:8080 wrr",
    ]);
    expect(agent.calls).toEqual([["service.list", { key: { protocol: "tcp", address: VIP } }]]);
  });

  it("-L -t of a service that does not exist: exit 1", async () => {
    const r = await vsadm("-L -t 10.9.9.9:1", { agent: fakeAgent() });
    expect(r).toMatchObject({ code: 1, stdout: "", stderr: "vsadm: no such virtual service tcp/10.9.9.9:1\n" });
  });

  it("-Lc -t asks the agent for that service's connections", async () => {
    const agent = fakeAgent();
    await vsadm(`-Lc -t ${VIP}`, { agent });
    expect(agent.calls).toEqual([["connection.list", { service: { protocol: "tcp", address: VIP } }]]);
  });

  it("--json prints the status, sorted like the table", async () => {
    const r = await vsadm("-L --json", { agent: fakeAgent() });
    const parsed = JSON.parse(r.stdout) as VirtualServiceStatus[];
    expect(parsed.map((s) => s.address)).toEqual(["10.0.0.1:80", "127.0.0.1:8080", "10.0.0.1:53", "[2001:db8::1]:443"]);
    expect(parsed[1]!.realServers[1]).toMatchObject({ address: "127.0.0.1:18082", adminState: "draining", drain: { thenMaintenance: true } });
  });

  it("-Lc --json prints the entries", async () => {
    const r = await vsadm("-Lc --json", { agent: fakeAgent() });
    expect(JSON.parse(r.stdout)).toEqual(CONNECTIONS);
  });

  it("-L --timeout", async () => {
    expect(await vsadm("-L --timeout", { agent: fakeAgent() })).toMatchObject({ code: 0, stdout: "Timeout (tcp tcpfin udp): 900 120 300\n" });
  });

  it("-L --daemon: Director runs no sync daemon, so nothing", async () => {
    expect(await vsadm("-L --daemon", { agent: fakeAgent() })).toMatchObject({ code: 0, stdout: "" });
  });
});
