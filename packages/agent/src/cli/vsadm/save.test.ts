import fs from "node:fs";
import { AgentConfig, Op, type OpInput, type VirtualServiceStatus } from "@director/model";
import { describe, expect, it } from "vitest";
import { applyOps } from "../../state/apply-ops.js";
import { formatSave, parseRestore } from "./save.js";
import { SERVICES } from "./test-fixtures.js";

const golden = (name: string) => fs.readFileSync(new URL(`./golden/${name}`, import.meta.url), "utf8");

/** What a config looks like through the status API, for the parts the save format carries. */
function statusOf(config: AgentConfig): VirtualServiceStatus[] {
  const zero = { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 };
  const still = { cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };
  return config.virtualServices.map(({ realServers, sorryServer: _sorry, ...vs }) => ({
    ...vs,
    stats: zero,
    rates: still,
    quorumUp: true,
    availableWeight: 0,
    realServers: realServers.map(({ address, forward, weight, upperThreshold, lowerThreshold, adminState }) => ({
      address,
      forward,
      weight,
      upperThreshold,
      lowerThreshold,
      adminState,
      effectiveWeight: weight,
      available: true,
      overloaded: false,
      activeConns: 0,
      inactiveConns: 0,
      persistConns: 0,
      stats: zero,
      rates: still,
    })),
  }));
}

describe("formatSave (-S)", () => {
  it("ipvsadm-save lines, sorted; configured weights; -x/-y when set", () => {
    expect(formatSave(SERVICES)).toBe(golden("save.txt"));
  });
  it("--nosort keeps the agent's order", () => {
    expect(formatSave(SERVICES, false).split("\n")[0]).toBe("-A -t [2001:db8::1]:443 -s wlc -p 600 -M 64");
  });
  it("an empty table saves as nothing", () => {
    expect(formatSave([])).toBe("");
  });
});

describe("save → restore round trip", () => {
  const parsed = parseRestore(golden("save.txt"));

  it("each -S line parses back into the op that rebuilds it", () => {
    const key = (protocol: "tcp" | "udp", address: string) => ({ protocol, address });
    const add = (k: ReturnType<typeof key>, address: string, forward: "nat" | "dr" | "tun", weight: number, x = 0, y = 0): OpInput => ({
      op: "realServer.add",
      key: k,
      realServer: { address, forward, weight, upperThreshold: x, lowerThreshold: y },
    });
    const sh = key("tcp", "10.0.0.1:80");
    const web = key("tcp", "127.0.0.1:8080");
    const dns = key("udp", "10.0.0.1:53");
    const v6 = key("tcp", "[2001:db8::1]:443");
    const want: OpInput[] = [
      { op: "service.add", service: { ...sh, scheduler: "sh", schedulerFlags: ["sh-fallback", "sh-port"] } },
      add(sh, "10.0.0.2:80", "nat", 1),
      add(sh, "192.168.1.1:80", "tun", 5),
      { op: "service.add", service: { ...web, scheduler: "wrr" } },
      add(web, "127.0.0.1:18081", "nat", 3, 100, 75),
      add(web, "127.0.0.1:18082", "nat", 1),
      { op: "service.add", service: { ...dns, scheduler: "rr", persistence: { timeout: 300, prefixLength: 24 }, onePacket: true } },
      add(dns, "10.0.0.11:53", "nat", 1),
      add(dns, "10.0.0.12:53", "nat", 2),
      { op: "service.add", service: { ...v6, scheduler: "wlc", persistence: { timeout: 600, prefixLength: 64 } } },
      add(v6, "[2001:db8::10]:443", "dr", 1),
    ];
    expect(parsed).toEqual({ ok: true, ops: want.map((o) => Op.parse(o)), lines: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] });
  });

  it("applied to an empty table (the agent's applyOps), the ops save as the same text", () => {
    if (!parsed.ok) throw new Error(parsed.error);
    const r = applyOps(AgentConfig.parse({}), parsed.ops, 0);
    if (!r.ok) throw new Error(r.errors.join("; "));
    expect(formatSave(statusOf(r.config))).toBe(golden("save.txt"));
  });
});

describe("parseRestore (-R input)", () => {
  it("skips blank lines and comments, ignores a leading ipvsadm word, keeps line numbers", () => {
    const r = parseRestore(["# saved by ipvsadm-save", "", "-C", "ipvsadm -A -t 10.0.0.1:80 -s rr  # web", "  \t", "-a -t 10.0.0.1:80 -r 10.0.0.2 -w 2"].join("\n"));
    expect(r.ok && r.lines).toEqual([3, 4, 6]);
    expect(r.ok && r.ops.map((o) => o.op)).toEqual(["service.clear", "service.add", "realServer.add"]);
  });

  it("takes every restorable command, Director's -e extensions included", () => {
    const r = parseRestore(
      [
        "-A -t 10.0.0.1:80",
        "-E -t 10.0.0.1:80 -s rr",
        "-a -t 10.0.0.1:80 -r 10.0.0.2",
        "-e -t 10.0.0.1:80 -r 10.0.0.2 -w 0 --drain",
        "-d -t 10.0.0.1:80 -r 10.0.0.2",
        "-D -t 10.0.0.1:80",
        "--set 900 0 0",
      ].join("\r\n"),
    );
    expect(r.ok && r.ops.map((o) => o.op)).toEqual([
      "service.add",
      "service.edit",
      "realServer.add",
      "realServer.edit",
      "realServer.setAdminState",
      "realServer.delete",
      "service.delete",
      "timeouts.set",
    ]);
    expect(r.ok && r.lines).toEqual([1, 2, 3, 4, 4, 5, 6, 7]);
  });

  it("nothing to restore is an empty batch", () => {
    expect(parseRestore("\n# nothing\n")).toEqual({ ok: true, ops: [], lines: [] });
  });

  const bad: [string, string, string][] = [
    ["a bad line rejects all, with its number", "-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -w 70000\n", "line 2: -w: weight 70000 is out of range 0..65535"],
    ["port 0", "-A -t 10.0.0.1:0", "line 1: -t 10.0.0.1:0: port 0 is out of range 1..65535"],
    ["a listing is not a change", "-A -t 10.0.0.1:80\n-L -n", "line 2: -L cannot be restored (only -A -E -D -C -a -e -d --set lines)"],
    ["-R inside -R", "-R", "line 1: -R cannot be restored"],
    ["-Z is not a change to the table", "-Z", "line 1: -Z cannot be restored"],
    ["an unknown option", "# ok\n\n-A -t 10.0.0.1:80 --frobnicate", "line 3: unknown option --frobnicate"],
  ];
  it.each(bad)("%s", (_what, text, want) => {
    const r = parseRestore(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.startsWith(want), r.error).toBe(true);
  });
});
