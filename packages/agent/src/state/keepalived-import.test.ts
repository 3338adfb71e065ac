import fs from "node:fs";
import { AgentConfig, type HealthCheckInput, type VirtualServiceInput } from "@director/model";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ImportProblem, importKeepalived, type KeepalivedImport, parseKeepalivedBlocks, splitCommand } from "./keepalived-import.js";

const FIXTURES = new URL("../../test/fixtures/keepalived/", import.meta.url);
const read = (name: string) => fs.readFileSync(new URL(name, FIXTURES), "utf8");
const load = (name: string) => importKeepalived(read(name));
const services = (r: KeepalivedImport): VirtualServiceInput[] => r.config.virtualServices ?? [];
const only = (r: KeepalivedImport): VirtualServiceInput => {
  expect(services(r)).toHaveLength(1);
  return services(r)[0]!;
};
const check = (vs: VirtualServiceInput, i = 0): HealthCheckInput | undefined => vs.realServers?.[i]?.healthCheck;
const problemAt = (r: { problems: ImportProblem[] }, line: number, pattern: RegExp) =>
  expect(r.problems, `a problem on line ${line} matching ${pattern}`).toContainEqual({ line, message: expect.stringMatching(pattern) });
const valid = (r: KeepalivedImport) => {
  const parsed = AgentConfig.safeParse(r.config);
  expect(parsed.success, parsed.success ? "" : JSON.stringify(parsed.error.issues)).toBe(true);
};
/** Imports a snippet; the snippet's config must always be valid. */
const imp = (text: string) => {
  const r = importKeepalived(text);
  valid(r);
  return r;
};

// ---------------------------------------------------------------------------------------------------------

/** Every sample, the services it must give, and why. */
const FIXTURE_TABLE: [file: string, services: number, what: string][] = [
  ["keepalived.conf.HTTP_GET.port", 1, "SSL_GET with connect_port"],
  ["keepalived.conf.IPv6", 1, "IPv6 VIP and real server, SMTP_CHECK; an unused group"],
  ["keepalived.conf.PING_CHECK", 1, "UDP service; PING_CHECK reported, real server kept unchecked"],
  ["keepalived.conf.SMTP_CHECK", 1, "three real servers with SMTP_CHECK and host blocks"],
  ["keepalived.conf.SSL_GET", 2, "SSL_GET on 443 and HTTP_GET on 80, two urls each"],
  ["keepalived.conf.UDP_CHECK", 1, "UDP service with UDP_CHECK"],
  ["keepalived.conf.conditional_conf", 0, "@high/@low conditional lines and VRRP only"],
  ["keepalived.conf.fwmark", 0, "a fwmark service only: needs the kernel engine"],
  ["keepalived.conf.inhibit", 1, "inhibit_on_failure on a real server"],
  ["keepalived.conf.misc_check", 1, "MISC_CHECK with a bare path"],
  ["keepalived.conf.misc_check_arg", 1, "MISC_CHECK with a quoted path and arguments"],
  ["keepalived.conf.quorum", 1, "quorum, hysteresis, alpha over ten real servers"],
  ["keepalived.conf.sample", 1, "the canonical sample: HTTP_GET, sorry_server, persistence"],
  ["keepalived.conf.status_code", 1, "status_code lists and ranges"],
  ["keepalived.conf.track_interface", 0, "static_routes and VRRP only"],
  ["keepalived.conf.virtual_server_group", 11, "a group of addresses, a range and two fwmarks"],
  ["keepalived.conf.virtualhost", 1, "virtualhost on the virtual server"],
  ["keepalived.conf.vrrp", 0, "four vrrp_instance blocks"],
  ["keepalived.conf.vrrp.localcheck", 0, "vrrp_script and vrrp_instance blocks"],
  ["keepalived.conf.vrrp.lvs_syncd", 1, "VRRP sync group plus one virtual server"],
  ["keepalived.conf.vrrp.routes", 0, "static_routes and virtual_routes"],
  ["keepalived.conf.vrrp.rules", 0, "static_rules and virtual_rules"],
  ["keepalived.conf.vrrp.scripts", 0, "vrrp_sync_group with notify scripts"],
  ["keepalived.conf.vrrp.static_ipaddress", 0, "static_ipaddress"],
  ["keepalived.conf.vrrp.sync", 0, "two vrrp_sync_group blocks and nine instances"],
];

describe("keepalived samples (test/fixtures/keepalived)", () => {
  it("the table covers every sample in the directory", () => {
    const files = fs.readdirSync(FIXTURES).filter((f) => f !== "README.md");
    expect(files.sort()).toEqual(FIXTURE_TABLE.map(([f]) => f).sort());
  });

  it.each(FIXTURE_TABLE)("%s → %i virtual services (%s)", (file, count) => {
    const text = read(file);
    let r: KeepalivedImport | undefined;
    expect(() => {
      r = importKeepalived(text);
    }).not.toThrow();
    valid(r!);
    expect(services(r!)).toHaveLength(count);

    const { statements } = parseKeepalivedBlocks(text);
    const addressed = statements.filter((s) => s.keyword === "virtual_server" && s.args[0]?.text !== "fwmark");
    if (addressed.length) expect(services(r!).length).toBeGreaterThan(0);

    // Nothing is silently dropped: every top-level block other than the LVS ones is named on its own line.
    for (const s of statements.filter((s) => !["virtual_server", "virtual_server_group"].includes(s.keyword)))
      expect(r!.problems.some((p) => p.line === s.line)).toBe(true);
    const lines = text.split("\n").length;
    for (const p of r!.problems) {
      expect(p.line).toBeGreaterThanOrEqual(1);
      expect(p.line).toBeLessThanOrEqual(lines);
    }
  });

  it("vrrp-only files: no services, and each vrrp_* block is named with its line", () => {
    for (const [file, count] of FIXTURE_TABLE) {
      const text = read(file);
      const { statements } = parseKeepalivedBlocks(text);
      if (statements.some((s) => s.keyword === "virtual_server")) continue;
      expect(count).toBe(0);
      const r = importKeepalived(text);
      expect(services(r)).toEqual([]);
      const vrrp = statements.filter((s) => s.keyword.startsWith("vrrp_"));
      expect(vrrp.length).toBeGreaterThan(0);
      for (const s of vrrp) problemAt(r, s.line, new RegExp(`^${s.keyword} ${s.args[0]?.text ?? ""} is not imported: VRRP`));
    }
  });

  it("sample: scheduler, persistence, sorry server, weights and the HTTP_GET fields", () => {
    const r = load("keepalived.conf.sample");
    expect(only(r)).toEqual({
      protocol: "tcp",
      address: "10.10.10.2:1358",
      scheduler: "rr",
      persistence: { timeout: 50 },
      sorryServer: "192.168.200.200:1358",
      realServers: [
        {
          address: "192.168.200.2:1358",
          weight: 1,
          forward: "nat",
          healthCheck: {
            type: "http",
            interval: 6, // delay_loop
            timeout: 3, // connect_timeout
            rise: 1,
            fall: 4, // retry 3: the failed check and three retries
            retryDelay: 3, // delay_before_retry
            path: "/testurl3/test.jsp",
            digest: "640205b7b0fc66c1ea91c463fac6334d",
            expectStatus: ["200-299"], // keepalived's default when no status_code is given
          },
        },
      ],
    });
    problemAt(r, 3, /^global_defs is not imported/);
    problemAt(r, 13, /^vrrp_instance VI_1 is not imported: VRRP/);
    expect(r.problems).toHaveLength(2);
  });

  it("quorum: quorum and hysteresis, alpha starts every server down, TCP_CHECK on connect_port", () => {
    const r = load("keepalived.conf.quorum");
    const vs = only(r);
    expect(vs).toMatchObject({ scheduler: "wrr", persistence: { timeout: 900 }, quorum: { minWeight: 7, hysteresis: 2 } });
    expect(vs.realServers).toHaveLength(10);
    expect(vs.realServers?.map((rs) => rs.address)).toEqual(Array.from({ length: 10 }, (_, i) => `10.0.0.${i + 1}:8080`));
    for (const rs of vs.realServers ?? [])
      expect(rs.healthCheck).toEqual({ type: "tcp", interval: 6, timeout: 3, rise: 1, fall: 2, retryDelay: 1, startState: "down", port: 80 });
    for (const [line, kw] of [
      [30, "omega"],
      [33, "quorum_up"],
      [34, "quorum_down"],
    ] as const)
      problemAt(r, line, new RegExp(`^${kw} is not imported`));
  });

  it("sample sorry server and quorum sit together in a valid service", () => {
    const vs = only(load("keepalived.conf.sample"));
    expect(vs.sorryServer).toBe("192.168.200.200:1358");
  });

  it("inhibit: inhibit_on_failure on the real server → onFailure inhibit", () => {
    expect(check(only(load("keepalived.conf.inhibit")))).toMatchObject({ type: "http", onFailure: "inhibit", path: "/testurl3/test.jsp" });
  });

  it("misc_check: a bare misc_path is a one-word command; MISC_CHECK retries 0 times by default", () => {
    const hc = check(only(load("keepalived.conf.misc_check")));
    expect(hc).toEqual({ type: "exec", interval: 6, timeout: 6, rise: 1, fall: 1, command: ["/usr/local/bin/script.sh"] });
  });

  it("misc_check_arg: a quoted misc_path is split into an argument array", () => {
    expect(check(only(load("keepalived.conf.misc_check_arg")))).toMatchObject({ type: "exec", command: ["/usr/local/bin/script.sh", "arg1", "arg2"] });
  });

  it("virtual_server_group: one service per address member, the range expanded, fwmarks reported by line", () => {
    const r = load("keepalived.conf.virtual_server_group");
    const range = Array.from({ length: 8 }, (_, i) => `192.168.200.${i + 3}:80`);
    expect(services(r).map((s) => s.address)).toEqual(["10.0.0.1:8080", "10.0.0.2:80", "192.168.200.1:1358", ...range]);
    for (const vs of services(r)) {
      expect(vs).toMatchObject({ protocol: "tcp", scheduler: "rr", persistence: { timeout: 50 } });
      expect(vs.realServers?.map((rs) => rs.address)).toEqual(["192.168.200.1:1358", "192.168.200.2:1358"]);
      expect(check(vs, 1)).toMatchObject({ type: "http", path: "/testurl3/test.jsp", fall: 4 });
    }
    problemAt(r, 18, /^fwmark 1 in virtual_server_group VSG_1 is not imported: fwmark services need the kernel engine/);
    problemAt(r, 19, /^fwmark 2 in virtual_server_group VSG_1/);
  });

  it("fwmark: the fwmark service is reported by line and nothing is imported", () => {
    const r = load("keepalived.conf.fwmark");
    expect(services(r)).toEqual([]);
    problemAt(r, 7, /^virtual_server fwmark 1 is not imported: fwmark services need the kernel engine/);
  });

  it("IPv6: bracketed addresses, SMTP_CHECK helo_name; the commented-out group use leaves the group unused", () => {
    const r = load("keepalived.conf.IPv6");
    const vs = only(r);
    expect(vs.address).toBe("[ae00::1]:80");
    expect(vs.realServers?.[0]?.address).toBe("[ae00::10]:25");
    expect(check(vs)).toMatchObject({ type: "smtp", helo: "foo.bar.com", timeout: 3, fall: 4 });
    problemAt(r, 7, /virtual_server_group IPv6_group is not used/);
  });

  it("SSL_GET: https on 443, http on 80, first url kept, the others reported", () => {
    const r = load("keepalived.conf.SSL_GET");
    const [tls, plain] = services(r);
    expect(tls?.address).toBe("192.168.200.100:443");
    expect(check(tls!)).toMatchObject({ type: "https", path: "/", digest: "ff20ad2481f97b1754ef3e12ecd3a9cc", timeout: 3, fall: 4, retryDelay: 3 });
    expect(check(tls!)).not.toHaveProperty("verify");
    expect(plain?.address).toBe("192.168.200.100:80");
    expect(check(plain!)).toMatchObject({ type: "http", path: "/" });
    problemAt(r, 44, /url is not imported: Director checks one URL per real server \(the url on line 40\)/);
    problemAt(r, 69, /url is not imported/);
  });

  it("HTTP_GET.port: connect_port → port", () => {
    expect(check(only(load("keepalived.conf.HTTP_GET.port")))).toMatchObject({ type: "https", port: 444, path: "/", timeout: 3 });
  });

  it("status_code: codes and ranges → expectStatus", () => {
    const r = load("keepalived.conf.status_code");
    const hc = check(only(r));
    expect(hc).toMatchObject({ type: "https", path: "/", expectStatus: ["200-299", "400-499", "503", "505"] });
    expect(hc).not.toHaveProperty("digest");
    problemAt(r, 28, /url is not imported/);
  });

  it("virtualhost: the virtual server's virtualhost → host of its real servers' checks", () => {
    expect(check(only(load("keepalived.conf.virtualhost")))).toMatchObject({ type: "https", host: "www.firewall.loc" });
  });

  it("SMTP_CHECK: per real server timing, host blocks for the real server kept, others reported", () => {
    const r = load("keepalived.conf.SMTP_CHECK");
    const vs = only(r);
    expect(vs.realServers?.map((rs) => rs.address)).toEqual(["172.16.1.10:25", "172.16.1.11:25", "172.16.1.12:25"]);
    expect(check(vs, 0)).toEqual({ type: "smtp", interval: 60, timeout: 30, rise: 1, fall: 3, retryDelay: 5, helo: "foo.bar.com" });
    expect(check(vs, 1)).toMatchObject({ type: "smtp", timeout: 10, helo: "foo.bar.com" });
    expect(check(vs, 2)).toMatchObject({ type: "smtp", port: 25 });
    problemAt(r, 68, /^SMTP_CHECK host 192\.168\.155\.10 is not imported/);
    problemAt(r, 72, /^SMTP_CHECK host 64\.233\.167\.99/);
    problemAt(r, 98, /^bindto 172\.16\.1\.2 is not imported/);
    problemAt(r, 101, /192\.168\.155\.11/);
    problemAt(r, 107, /64\.233\.167\.100/);
  });

  it("UDP_CHECK: a UDP service and a udp check; no require_reply is reported (Director needs a reply)", () => {
    const r = load("keepalived.conf.UDP_CHECK");
    const vs = only(r);
    expect(vs.protocol).toBe("udp");
    expect(check(vs)).toEqual({ type: "udp", interval: 6, timeout: 3, rise: 1, fall: 4, retryDelay: 3 });
    problemAt(r, 23, /UDP_CHECK without require_reply/);
  });

  it("PING_CHECK: reported, the real server imported without a check", () => {
    const r = load("keepalived.conf.PING_CHECK");
    const vs = only(r);
    expect(vs.realServers?.[0]).toEqual({ address: "192.168.200.6:1358", weight: 1, forward: "nat" });
    problemAt(r, 23, /^PING_CHECK is not imported: Director has no ICMP checker/);
  });

  it("conditional_conf: @-lines reported by line", () => {
    const r = load("keepalived.conf.conditional_conf");
    problemAt(r, 3, /conditional line \(@high\)/);
    problemAt(r, 4, /conditional line \(@low\)/);
  });

  it("vrrp.lvs_syncd: the virtual server is imported beside the reported VRRP blocks", () => {
    const r = load("keepalived.conf.vrrp.lvs_syncd");
    expect(only(r)).toMatchObject({ address: "192.168.200.19:80", realServers: [{ address: "192.168.201.100:80", healthCheck: { type: "tcp", interval: 20 } }] });
    problemAt(r, 3, /^vrrp_sync_group VG1 is not imported/);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe("block syntax", () => {
  it("comments: # and ! at the start of a word end the line; inside a word they are characters", () => {
    const { statements, problems } = parseKeepalivedBlocks(
      ["# a comment", "! another", "path /a#b!c   # trailing", "weight 2 ! trailing too", "  #indented"].join("\n"),
    );
    expect(problems).toEqual([]);
    expect(statements.map((s) => [s.keyword, s.args.map((a) => a.text), s.line])).toEqual([
      ["path", ["/a#b!c"], 3],
      ["weight", ["2"], 4],
    ]);
  });

  it('quoted strings keep blanks, braces and comment characters; \\" escapes a quote', () => {
    const { statements, problems } = parseKeepalivedBlocks('misc_path "/bin/x { } # ! \\"q\\"" tail\n');
    expect(problems).toEqual([]);
    expect(statements[0]?.args.map((a) => [a.text, a.quoted])).toEqual([
      ['/bin/x { } # ! "q"', true],
      ["tail", false],
    ]);
    expect(statements[0]?.raw).toBe('"/bin/x { } # ! \\"q\\"" tail');
  });

  it("nested braces, several on one line, and { on the line after the keyword", () => {
    const { statements, problems } = parseKeepalivedBlocks("a 1 { b { c 3 } d 4 }\ne\n{\n  f 6\n}\n");
    expect(problems).toEqual([]);
    const shape = (ss: typeof statements): unknown => ss.map((s) => [s.keyword, s.line, ...(s.block ? [shape(s.block)] : [])]);
    expect(shape(statements)).toEqual([
      ["a", 1, [["b", 1, [["c", 1]]], ["d", 1]]],
      ["e", 2, [["f", 4]]],
    ]);
  });

  it("a missing closing brace is reported on the line of the block it leaves open; what was read is kept", () => {
    const text = ["virtual_server 10.0.0.1 80 {", "  protocol TCP", "  real_server 10.0.0.2 80 {", "    weight 1", "}"].join("\n");
    const { statements, problems } = parseKeepalivedBlocks(text);
    expect(problems).toEqual([{ line: 1, message: expect.stringMatching(/block of virtual_server opened on line 1 has no closing \}/) }]);
    expect(statements[0]?.block?.map((s) => s.keyword)).toEqual(["protocol", "real_server"]);
    const r = imp(text);
    problemAt(r, 1, /no closing \}/);
    expect(services(r)).toHaveLength(1);
  });

  it("a stray }, a { with no keyword and an unclosed quote are reported by line", () => {
    const { problems } = parseKeepalivedBlocks('a 1\n}\n{\n  b 2\n}\nc "open\n');
    expect(problems).toEqual([
      { line: 2, message: expect.stringMatching(/closes no block/) },
      { line: 3, message: expect.stringMatching(/no keyword before it/) },
      { line: 6, message: expect.stringMatching(/quoted string is not closed/) },
    ]);
  });

  it("CRLF line endings", () => {
    const r = imp("virtual_server 10.0.0.1 80 {\r\n  protocol TCP\r\n  real_server 10.0.0.2 80 {\r\n    weight 3\r\n  }\r\n}\r\n");
    expect(r.problems).toEqual([]);
    expect(only(r).realServers?.[0]?.weight).toBe(3);
  });
});

describe("splitCommand (misc_path: an argument array, never a shell)", () => {
  it.each([
    ["/bin/check", ["/bin/check"], []],
    ["  /bin/check   a  b ", ["/bin/check", "a", "b"], []],
    [`/bin/check 'a b' "c d" e\\ f`, ["/bin/check", "a b", "c d", "e f"], []],
    [`/bin/check "say \\"hi\\"" 'it''s'`, ["/bin/check", 'say "hi"', "its"], []],
    ["/bin/check | grep ok", ["/bin/check", "|", "grep", "ok"], ["|"]],
    ["a; b && c > out || d >> log &", ["a;", "b", "&&", "c", ">", "out", "||", "d", ">>", "log", "&"], [";", "&&", ">", "||", ">>", "&"]],
    [`/bin/check "$(reboot)" \`id\``, ["/bin/check", "$(reboot)", "`id`"], ["$(", "`"]],
    ["/bin/check '$(literal) | ;'", ["/bin/check", "$(literal) | ;"], []],
    ["/bin/check $HOME", ["/bin/check", "$HOME"], ["$"]],
  ])("%s", (line, words, operators) => {
    const r = splitCommand(line);
    expect(r.words).toEqual(words);
    expect(r.operators.sort()).toEqual([...operators].sort());
    expect(r.error).toBeUndefined();
  });

  it("an unclosed quote is an error", () => {
    expect(splitCommand("/bin/x 'open").error).toMatch(/single quote/);
    expect(splitCommand('/bin/x "open').error).toMatch(/double quote/);
  });
});

// ---------------------------------------------------------------------------------------------------------

const vs = (body: string, head = "10.0.0.1 80") => `virtual_server ${head} {\n  protocol TCP\n${body}\n}\n`;
const rs = (body: string, head = "10.0.1.1 80") => `  real_server ${head} {\n${body}\n  }`;

describe("mapping", () => {
  it("keepalived's defaults are written out: delay_loop 60, connect_timeout 5, retry 1, delay_before_retry 1, rise 1", () => {
    const r = imp(vs(rs("    TCP_CHECK {\n    }")));
    expect(r.problems).toEqual([]);
    expect(check(only(r))).toEqual({ type: "tcp", interval: 60, timeout: 5, rise: 1, fall: 2, retryDelay: 1 });
  });

  it.each([
    ["retry 0", 1, undefined],
    ["retry 3", 4, 1],
    ["nb_get_retry 2", 3, 1],
    ["retry 99", 100, 1],
  ])("%s → fall %i", (line, fall, retryDelay) => {
    const hc = check(only(imp(vs(rs(`    TCP_CHECK {\n      ${line}\n    }`)))));
    expect(hc?.fall).toBe(fall);
    expect(hc?.retryDelay).toBe(retryDelay);
  });

  it("checker ← real_server ← virtual_server inheritance of timing, alpha and inhibit_on_failure", () => {
    const text = vs(
      [
        "  delay_loop 10\n  retry 2\n  connect_timeout 4\n  delay_before_retry 2\n  alpha\n  inhibit_on_failure",
        rs("    delay_loop 7\n    TCP_CHECK {\n      connect_timeout 2\n    }"),
        rs("    inhibit_on_failure false\n    TCP_CHECK {\n      retry 0\n    }", "10.0.1.2 80"),
      ].join("\n"),
    );
    const r = imp(text);
    expect(r.problems).toEqual([]);
    const v = only(r);
    expect(check(v, 0)).toEqual({ type: "tcp", interval: 7, timeout: 2, rise: 1, fall: 3, retryDelay: 2, startState: "down", onFailure: "inhibit" });
    expect(check(v, 1)).toEqual({ type: "tcp", interval: 10, timeout: 4, rise: 1, fall: 1, startState: "down" });
  });

  it("values out of range are reported and their item skipped", () => {
    const r = imp(
      [
        vs(rs("    weight 1"), "10.0.0.1 0"),
        vs([rs("    weight 70000"), rs("    weight 2", "10.0.1.2 0"), rs("    weight 3", "10.0.1.3 80")].join("\n"), "10.0.0.2 80"),
      ].join(""),
    );
    expect(services(r).map((s) => s.address)).toEqual(["10.0.0.2:80"]);
    expect(only(r).realServers).toEqual([{ address: "10.0.1.3:80", weight: 3, forward: "nat" }]);
    problemAt(r, 1, /port 0 is out of range 1\.\.65535/);
    problemAt(r, 10, /weight 70000 is out of range 0\.\.65535/);
    problemAt(r, 10, /real_server 10\.0\.1\.1 80 is skipped/);
    problemAt(r, 12, /port 0 is out of range/);
  });

  it("protocol: SCTP is reported and its service skipped; no protocol means UDP, as keepalived, with a problem", () => {
    const sctp = imp("virtual_server 10.0.0.1 80 {\n  protocol SCTP\n  real_server 10.0.1.1 80 {\n  }\n}\n");
    expect(services(sctp)).toEqual([]);
    problemAt(sctp, 2, /SCTP: Director forwards TCP and UDP only/);
    const none = imp("virtual_server 10.0.0.1 53 {\n  real_server 10.0.1.1 53 {\n  }\n}\n");
    expect(only(none).protocol).toBe("udp");
    problemAt(none, 1, /has no protocol: keepalived warns and uses UDP/);
  });

  it("include, global keywords, unknown keywords at every level: reported by line", () => {
    const r = imp(
      [
        "include /etc/keepalived/other.conf",
        "net_namespace blue",
        "virtual_server 10.0.0.1 80 {",
        "  protocol TCP",
        "  frobnicate yes",
        "  real_server 10.0.1.1 80 {",
        "    colour blue",
        "    TCP_CHECK {",
        "      connect_timeout 3",
        "      wibble 1",
        "    }",
        "  }",
        "}",
      ].join("\n"),
    );
    expect(services(r)).toHaveLength(1);
    problemAt(r, 1, /^include \/etc\/keepalived\/other\.conf is not followed/);
    problemAt(r, 2, /^net_namespace blue is not imported/);
    problemAt(r, 5, /^frobnicate in virtual_server is not imported/);
    problemAt(r, 7, /^colour in real_server/);
    problemAt(r, 10, /^wibble in TCP_CHECK/);
  });

  it("scheduler flags are named after the scheduler; flags with another scheduler and flag-3 are reported", () => {
    expect(only(imp(vs("  lb_algo sh\n  sh-port\n  flag-1\n" + rs(""))))).toMatchObject({ scheduler: "sh", schedulerFlags: ["sh-fallback", "sh-port"] });
    expect(only(imp(vs("  lvs_sched mh\n  sh-port\n" + rs(""))))).toMatchObject({ scheduler: "mh", schedulerFlags: ["mh-port"] });
    const r = imp(vs("  lb_algo rr\n  mh-fallback\n  flag-3\n" + rs("")));
    expect(only(r).schedulerFlags).toBeUndefined();
    problemAt(r, 4, /mh-fallback applies to the sh and mh schedulers only, not rr/);
    problemAt(r, 5, /flag-3/);
    problemAt(imp(vs("  lb_algo fastest\n" + rs(""))), 3, /lb_algo fastest: not an IPVS scheduler/);
  });

  it("persistence: timeout with no value is 360 s, granularity as a netmask or a prefix length", () => {
    expect(only(imp(vs("  persistence_timeout\n  persistence_granularity 255.255.255.0\n" + rs("")))).persistence).toEqual({ timeout: 360, prefixLength: 24 });
    expect(only(imp(vs("  persistence_timeout 30\n  persistence_granularity 64\n" + rs("    weight 1", "2001:db8::2 80"), "2001:db8::1 80"))).persistence).toEqual({
      timeout: 30,
      prefixLength: 64,
    });
    const bad = imp(vs("  persistence_timeout 30\n  persistence_granularity 255.0.255.0\n" + rs("")));
    expect(only(bad).persistence).toEqual({ timeout: 30 });
    problemAt(bad, 4, /expected a netmask/);
    problemAt(imp(vs("  persistence_granularity 24\n" + rs(""))), 3, /without persistence_timeout has no effect/);
  });

  it("ops is one-packet scheduling for UDP; on TCP it is reported and dropped, as keepalived does", () => {
    expect(only(imp("virtual_server 10.0.0.1 53 {\n  protocol UDP\n  ops\n  real_server 10.0.1.1 53 {\n  }\n}\n")).onePacket).toBe(true);
    const tcp = imp(vs("  ops\n" + rs("")));
    expect(only(tcp).onePacket).toBeUndefined();
    problemAt(tcp, 3, /ops \(one-packet scheduling\) is for UDP services only/);
  });

  it("lb_kind DR/TUN: forward dr/tun (the kernel engine's), a real server's own lvs_method, ports reset as keepalived", () => {
    const r = imp(vs(["  lb_kind DR", rs("    weight 1", "10.0.1.1 8080"), rs("    lvs_method NAT", "10.0.1.2 8080")].join("\n")));
    expect(only(r).realServers).toEqual([
      { address: "10.0.1.1:80", weight: 1, forward: "dr" },
      { address: "10.0.1.2:8080", weight: 1, forward: "nat" },
    ]);
    problemAt(r, 3, /forward: dr, which needs the kernel engine/);
    problemAt(r, 4, /with dr the real server's port must be the virtual server's \(80\)/);
  });

  it("real_server and sorry_server without a port take the virtual server's", () => {
    const v = only(imp(vs("  sorry_server 10.0.9.9\n" + rs("", "10.0.1.1"))));
    expect(v.sorryServer).toBe("10.0.9.9:80");
    expect(v.realServers?.[0]?.address).toBe("10.0.1.1:80");
  });

  it("a sorry server that is also a real server, a real server of the other family, a zoned address: reported", () => {
    const r = imp(vs(["  sorry_server 10.0.1.1 80", rs(""), rs("", "2001:db8::2 80"), rs("", "fe80::1%eth0 80")].join("\n")));
    const v = only(r);
    expect(v.sorryServer).toBeUndefined();
    expect(v.realServers).toHaveLength(1);
    problemAt(r, 3, /sorry_server 10\.0\.1\.1:80 is also a real server/);
    problemAt(r, 7, /real_server 2001:db8::2 is IPv6 but the virtual server 10\.0\.0\.1:80 is IPv4/);
    problemAt(r, 10, /"fe80::1%eth0" is not an IP address/);
  });

  it("quorum above the total weight and hysteresis ≥ quorum are lowered, as keepalived does", () => {
    const r = imp(vs(["  quorum 10\n  hysteresis 10", rs("    weight 3"), rs("    weight 2", "10.0.1.2 80")].join("\n")));
    expect(only(r).quorum).toEqual({ minWeight: 5, hysteresis: 4 });
    problemAt(r, 3, /quorum 10 is above the total weight 5/);
    problemAt(r, 4, /hysteresis 10 is not below quorum 5/);
    expect(only(imp(vs("  hysteresis 0\n" + rs("")))).quorum).toEqual({ minWeight: 1, hysteresis: 0 });
  });

  it("virtual_server_group: IPv6 ranges (hex), a missing group, duplicates across services", () => {
    const r = imp(
      [
        "virtual_server_group V6 {\n  2001:db8::8-b 443\n}",
        "virtual_server group V6 {\n  protocol TCP\n  real_server 2001:db8::100 443 {\n  }\n}",
        "virtual_server group NOPE {\n  protocol TCP\n  real_server 10.0.1.1 80 {\n  }\n}",
        "virtual_server 2001:db8::9 443 {\n  protocol TCP\n  real_server 2001:db8::100 443 {\n  }\n}",
      ].join("\n"),
    );
    expect(services(r).map((s) => s.address)).toEqual(["[2001:db8::8]:443", "[2001:db8::9]:443", "[2001:db8::a]:443", "[2001:db8::b]:443"]);
    problemAt(r, 9, /no virtual_server_group of that name/);
    problemAt(r, 14, /virtual service tcp\/\[2001:db8::9\]:443 is already defined on line 2/);
  });

  it("a virtual_server with no real_server is skipped, as keepalived does", () => {
    const r = imp(vs(""));
    expect(services(r)).toEqual([]);
    problemAt(r, 1, /has no real_server: keepalived ignores/);
  });

  it("one checker per real server: the first supported one is kept, the others reported", () => {
    const r = imp(vs(rs("    PING_CHECK {\n    }\n    TCP_CHECK {\n    }\n    HTTP_GET {\n      url {\n        path /\n      }\n    }")));
    expect(check(only(r))?.type).toBe("tcp");
    problemAt(r, 4, /^PING_CHECK is not imported/);
    problemAt(r, 8, /^HTTP_GET is not imported: Director runs one health check per real server.*TCP_CHECK on line 6 is kept/);
  });

  it("MISC_CHECK: shell operators are reported (they stay plain arguments), misc_timeout, misc_dynamic, user", () => {
    const r = imp(vs(rs('    MISC_CHECK {\n      misc_path "/usr/bin/check --host 10.0.1.1 | grep -q ok"\n      misc_timeout 9\n      misc_dynamic\n      user nobody nogroup\n    }')));
    expect(check(only(r))).toEqual({
      type: "exec",
      interval: 60,
      timeout: 9,
      rise: 1,
      fall: 1,
      command: ["/usr/bin/check", "--host", "10.0.1.1", "|", "grep", "-q", "ok"],
      dynamic: true,
      user: "nobody",
    });
    problemAt(r, 5, /misc_path contains \|, which only a shell interprets/);
    problemAt(r, 8, /the group is not imported/);
    const none = imp(vs(rs("    MISC_CHECK {\n    }")));
    expect(check(only(none))).toBeUndefined();
    problemAt(none, 4, /MISC_CHECK has no usable misc_path/);
  });

  it("UDP_CHECK payload and require_reply are hex: they become text and an anchored pattern", () => {
    const r = imp(vs(rs("    UDP_CHECK {\n      payload 70 69 6e 67\n      require_reply 706f2e6e67\n    }")));
    expect(check(only(r))).toMatchObject({ type: "udp", payload: "ping", expect: "^po\\.ng" });
    expect(r.problems).toEqual([]);
    problemAt(imp(vs(rs("    UDP_CHECK {\n      payload ff00\n    }"))), 5, /not UTF-8 text/);
  });

  it("DNS_CHECK: keepalived's defaults (SOA for \".\", retry 3, retry delay = interval); type and name", () => {
    expect(check(only(imp(vs(rs("    DNS_CHECK {\n    }")))))).toEqual({ type: "dns", interval: 60, timeout: 5, rise: 1, fall: 4, name: ".", recordType: "SOA" });
    expect(check(only(imp(vs(rs("    DNS_CHECK {\n      type aaaa\n      name example.com\n    }")))))).toMatchObject({ recordType: "AAAA", name: "example.com" });
  });

  it("HTTP_GET/SSL_GET: url virtualhost wins, enable_sni sends it, regex → bodyRegex, a url without path is ignored", () => {
    const r = imp(
      vs(
        "  virtualhost vs.example\n" +
          rs(
            "    SSL_GET {\n      enable_sni\n      url {\n        digest 00000000000000000000000000000000\n      }\n      url {\n        path /health\n        virtualhost url.example\n        regex \"^ok\"\n        regex_no_match\n      }\n    }",
          ),
      ),
    );
    expect(check(only(r))).toMatchObject({ type: "https", path: "/health", host: "url.example", sni: "url.example", bodyRegex: "^ok", expectStatus: ["200-299"] });
    problemAt(r, 7, /url has no path: keepalived ignores such a url/);
    problemAt(r, 14, /regex_no_match is not imported/);
    const noUrl = imp(vs(rs("    HTTP_GET {\n    }")));
    expect(check(only(noUrl))).toBeUndefined();
    problemAt(noUrl, 4, /HTTP_GET has no usable url/);
  });
});

describe("robustness", () => {
  const texts = FIXTURE_TABLE.map(([f]) => read(f));

  it("any cut or splice of the samples imports without throwing into a valid configuration", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: texts.length - 1 }), fc.nat(), fc.nat(), fc.string({ maxLength: 20 }), (i, a, b, insert) => {
        const t = texts[i]!;
        const [from, to] = [a % (t.length + 1), b % (t.length + 1)].sort((x, y) => x - y) as [number, number];
        const r = importKeepalived(t.slice(0, from) + insert + t.slice(to));
        expect(AgentConfig.safeParse(r.config).success).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("arbitrary text never throws", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("{", "}", '"', "#", "!", " ", "\n", "virtual_server", "real_server", "1.2.3.4", "80", "x") , maxLength: 60 }), (t) => {
        const r = importKeepalived(t);
        expect(AgentConfig.safeParse(r.config).success).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
