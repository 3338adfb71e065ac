import { Op, type OpInput } from "@director/model";
import { describe, expect, it } from "vitest";
import { type Command, parseArgs } from "./parse.js";

const VIP = "127.0.0.1:8080";
const RIP = "127.0.0.1:18081";
const tcp = { protocol: "tcp" as const, address: VIP };
const udp = { protocol: "udp" as const, address: VIP };

/** The command an argv must give; ops are written as model input and parsed as the agent would. */
const apply = (...ops: OpInput[]): Command => ({ kind: "apply", ops: ops.map((o) => Op.parse(o)) });
const list = (o: Partial<Extract<Command, { kind: "list" }>> = {}): Command => ({
  kind: "list",
  what: "services",
  layout: "default",
  exact: false,
  sort: true,
  json: false,
  admin: false,
  ...o,
});
const addService = (o: Record<string, unknown> = {}) =>
  apply({ op: "service.add", service: { ...tcp, scheduler: "wlc", schedulerFlags: [], onePacket: false, ...o } });
const editService = (o: Record<string, unknown> = {}) =>
  apply({ op: "service.edit", key: tcp, patch: { scheduler: "wlc", schedulerFlags: [], onePacket: false, persistence: null, ...o } });
const server = (o: Record<string, unknown> = {}) => ({ address: RIP, weight: 1, forward: "nat" as const, upperThreshold: 0, lowerThreshold: 0, ...o });
const setState = (state: "active" | "draining" | "maintenance", o: Record<string, unknown> = {}): OpInput =>
  ({ op: "realServer.setAdminState", key: tcp, address: RIP, state, ...o }) as OpInput;

const args = (line: string) => (line ? line.split(" ") : []);

describe("parseArgs: every option", () => {
  const cases: [string, string, Command][] = [
    ["no arguments lists the table, as ipvsadm does", "", list()],
    ["-A with a scheduler", `-A -t ${VIP} -s wrr`, addService({ scheduler: "wrr" })],
    ["long forms, --opt=value", `--add-service --tcp-service ${VIP} --scheduler=rr`, addService({ scheduler: "rr" })],
    ["-A defaults to wlc", `-A -t ${VIP}`, addService()],
    ["-u is a UDP service", `-A -u ${VIP}`, apply({ op: "service.add", service: { ...udp, scheduler: "wlc" } })],
    ["--udp-service", `-A --udp-service ${VIP}`, apply({ op: "service.add", service: { ...udp, scheduler: "wlc" } })],
    ["a short bundle carries its value: -At VIP", `-At ${VIP}`, addService()],
    ["value glued to the option: -srr", `-A -t ${VIP} -srr`, addService({ scheduler: "rr" })],
    ["-p alone: 300 s, one client address", `-A -t ${VIP} -p`, addService({ persistence: { timeout: 300, prefixLength: 32 } })],
    ["-p takes the next word as timeout", `-A -t ${VIP} -p 600 -s rr`, addService({ scheduler: "rr", persistence: { timeout: 600, prefixLength: 32 } })],
    ["-p followed by an option has no timeout", `-A -t ${VIP} -p -s rr`, addService({ scheduler: "rr", persistence: { timeout: 300, prefixLength: 32 } })],
    ["-p600", `-A -t ${VIP} -p600`, addService({ persistence: { timeout: 600, prefixLength: 32 } })],
    ["--persistent=900", `-A -t ${VIP} --persistent=900`, addService({ persistence: { timeout: 900, prefixLength: 32 } })],
    ["--persistent 900", `-A -t ${VIP} --persistent 900`, addService({ persistence: { timeout: 900, prefixLength: 32 } })],
    ["-M dotted netmask → prefix length", `-A -t ${VIP} -p 60 -M 255.255.255.0`, addService({ persistence: { timeout: 60, prefixLength: 24 } })],
    ["-M prefix length", `-A -t ${VIP} -p 60 -M 16`, addService({ persistence: { timeout: 60, prefixLength: 16 } })],
    ["--netmask 0.0.0.0 is /0", `-A -t ${VIP} -p --netmask 0.0.0.0`, addService({ persistence: { timeout: 300, prefixLength: 0 } })],
    ["-M before -t still knows the family", `-A -p -M 255.255.255.255 -t ${VIP}`, addService({ persistence: { timeout: 300, prefixLength: 32 } })],
    [
      "IPv6 service, -p defaults to /128, -M a prefix length",
      "-A -t [2001:db8::1]:80 -p -M 64",
      apply({ op: "service.add", service: { protocol: "tcp", address: "[2001:db8::1]:80", persistence: { timeout: 300, prefixLength: 64 } } }),
    ],
    [
      "IPv6 service without -M",
      "-A -t [2001:db8::1]:80 -p",
      apply({ op: "service.add", service: { protocol: "tcp", address: "[2001:db8::1]:80", persistence: { timeout: 300, prefixLength: 128 } } }),
    ],
    ["-b sh flags", `-A -t ${VIP} -s sh -b sh-fallback,sh-port`, addService({ scheduler: "sh", schedulerFlags: ["sh-fallback", "sh-port"] })],
    ["-b order is canonical", `-A -t ${VIP} -s sh -b sh-port,sh-fallback`, addService({ scheduler: "sh", schedulerFlags: ["sh-fallback", "sh-port"] })],
    ["--sched-flags flag-1,flag-2 alias mh's flags", `-A -t ${VIP} -s mh --sched-flags flag-1,flag-2`, addService({ scheduler: "mh", schedulerFlags: ["mh-fallback", "mh-port"] })],
    ["-b flag-2 is sh-port under sh", `-A -t ${VIP} -s sh -b flag-2`, addService({ scheduler: "sh", schedulerFlags: ["sh-port"] })],
    ["-o on a UDP service", `-A -u ${VIP} -o`, apply({ op: "service.add", service: { ...udp, onePacket: true } })],
    ["--ops", `-A -u ${VIP} --ops`, apply({ op: "service.add", service: { ...udp, onePacket: true } })],
    ["-E sets every service option (ipvsadm)", `-E -t ${VIP} -s rr`, editService({ scheduler: "rr" })],
    ["-E -p without -s returns the scheduler to wlc", `-E -t ${VIP} -p 120`, editService({ persistence: { timeout: 120, prefixLength: 32 } })],
    ["--edit-service with flags", `--edit-service -t ${VIP} -s sh -b sh-port`, editService({ scheduler: "sh", schedulerFlags: ["sh-port"] })],
    ["-D", `-D -t ${VIP}`, apply({ op: "service.delete", key: tcp })],
    ["--delete-service -u", `--delete-service -u ${VIP}`, apply({ op: "service.delete", key: udp })],
    ["-C", "-C", apply({ op: "service.clear" })],
    ["--clear", "--clear", apply({ op: "service.clear" })],
    ["-a defaults: weight 1, -m (NAT)", `-a -t ${VIP} -r ${RIP}`, apply({ op: "realServer.add", key: tcp, realServer: server() })],
    ["-a -m -w", `-a -t ${VIP} -r ${RIP} -m -w 3`, apply({ op: "realServer.add", key: tcp, realServer: server({ weight: 3 }) })],
    ["-a -x -y", `-a -t ${VIP} -r ${RIP} -w 2 -x 100 -y 50`, apply({ op: "realServer.add", key: tcp, realServer: server({ weight: 2, upperThreshold: 100, lowerThreshold: 50 }) })],
    [
      "long forms of -a",
      `--add-server --tcp-service ${VIP} --real-server ${RIP} --masquerading --weight 0 --u-threshold 10 --l-threshold 5`,
      apply({ op: "realServer.add", key: tcp, realServer: server({ weight: 0, upperThreshold: 10, lowerThreshold: 5 }) }),
    ],
    ["-r without a port takes the service's", `-a -t ${VIP} -r 10.0.0.2`, apply({ op: "realServer.add", key: tcp, realServer: server({ address: "10.0.0.2:8080" }) })],
    [
      "-r [IPv6] without a port",
      "-a -t [2001:db8::1]:80 -r [2001:db8::2]",
      apply({ op: "realServer.add", key: { protocol: "tcp", address: "[2001:db8::1]:80" }, realServer: server({ address: "[2001:db8::2]:80" }) }),
    ],
    ["-g: direct routing keeps the service port", `-a -t ${VIP} -r 10.0.0.2:9000 -g`, apply({ op: "realServer.add", key: tcp, realServer: server({ address: "10.0.0.2:8080", forward: "dr" }) })],
    ["--gatewaying", `-a -t ${VIP} -r 10.0.0.2 --gatewaying`, apply({ op: "realServer.add", key: tcp, realServer: server({ address: "10.0.0.2:8080", forward: "dr" }) })],
    ["-i: tunnelling", `-a -t ${VIP} -r 10.0.0.2 -i`, apply({ op: "realServer.add", key: tcp, realServer: server({ address: "10.0.0.2:8080", forward: "tun" }) })],
    ["--ipip", `-a -t ${VIP} -r 10.0.0.2 --ipip`, apply({ op: "realServer.add", key: tcp, realServer: server({ address: "10.0.0.2:8080", forward: "tun" }) })],
    ["--fullnat keeps the port given (a NAT)", `-a -t ${VIP} -r 10.0.0.2:9000 --fullnat`, apply({ op: "realServer.add", key: tcp, realServer: server({ address: "10.0.0.2:9000", forward: "fullnat" }) })],
    ["addresses are canonical", "-a -t [2001:db8:0::1]:80 -r [2001:DB8::0002]:81", apply({ op: "realServer.add", key: { protocol: "tcp", address: "[2001:db8::1]:80" }, realServer: server({ address: "[2001:db8::2]:81" }) })],
    [
      "-e sets every server option (ipvsadm)",
      `-e -t ${VIP} -r ${RIP} -w 5`,
      apply({ op: "realServer.edit", key: tcp, address: RIP, patch: { weight: 5, forward: "nat", upperThreshold: 0, lowerThreshold: 0 } }),
    ],
    [
      "--edit-server -x",
      `--edit-server -t ${VIP} -r ${RIP} -x 40`,
      apply({ op: "realServer.edit", key: tcp, address: RIP, patch: { weight: 1, forward: "nat", upperThreshold: 40, lowerThreshold: 0 } }),
    ],
    ["-e --drain changes the state only", `-e -t ${VIP} -r ${RIP} --drain`, apply(setState("draining", { thenMaintenance: false }))],
    [
      "--drain --then-maintenance --deadline",
      `-e -t ${VIP} -r ${RIP} --drain --then-maintenance --deadline 600`,
      apply(setState("draining", { thenMaintenance: true, deadlineSeconds: 600 })),
    ],
    ["--maintenance --deadline", `-e -t ${VIP} -r ${RIP} --maintenance --deadline=30`, apply(setState("maintenance", { deadlineSeconds: 30 }))],
    ["--maintenance", `-e -t ${VIP} -r ${RIP} --maintenance`, apply(setState("maintenance"))],
    ["--activate", `-e -t ${VIP} -r ${RIP} --activate`, apply(setState("active"))],
    [
      "-e -w with --drain: the edit, then the state",
      `-e -t ${VIP} -r ${RIP} -w 0 --drain`,
      apply(
        { op: "realServer.edit", key: tcp, address: RIP, patch: { weight: 0, forward: "nat", upperThreshold: 0, lowerThreshold: 0 } },
        setState("draining", { thenMaintenance: false }),
      ),
    ],
    ["-d", `-d -t ${VIP} -r ${RIP}`, apply({ op: "realServer.delete", key: tcp, address: RIP })],
    ["--delete-server with a bare address", `--delete-server -t ${VIP} -r 127.0.0.1`, apply({ op: "realServer.delete", key: tcp, address: "127.0.0.1:8080" })],
    ["--set", "--set 900 120 300", apply({ op: "timeouts.set", timeouts: { tcp: 900, tcpFin: 120, udp: 300 } })],
    ["--set: 0 leaves a timeout unchanged", "--set 0 60 0", apply({ op: "timeouts.set", timeouts: { tcpFin: 60 } })],
    ["-Z", "-Z", { kind: "zero" }],
    ["--zero -t", `--zero -t ${VIP}`, { kind: "zero", service: tcp }],
    ["-L", "-L", list()],
    ["-l", "-l", list()],
    ["-L -n", "-L -n", list()],
    ["-Ln", "-Ln", list()],
    ["--list --numeric", "--list --numeric", list()],
    ["-n may come first", "-n -L", list()],
    ["-L -t one service", `-L -t ${VIP}`, list({ service: tcp })],
    ["-Lnc", "-Lnc", list({ what: "connections" })],
    ["--list --connection", "--list --connection", list({ what: "connections" })],
    ["-Lc -t: one service's connections", `-Lc -t ${VIP}`, list({ what: "connections", service: tcp })],
    ["-Lc --persistent-conn", "-Lc --persistent-conn", list({ what: "connections", layout: "persistent-conn" })],
    ["--stats", "-L -n --stats", list({ layout: "stats" })],
    ["--rate", "-L --rate", list({ layout: "rate" })],
    ["--thresholds", "-L --thresholds", list({ layout: "thresholds" })],
    ["--persistent-conn", "-L --persistent-conn", list({ layout: "persistent-conn" })],
    ["--stats wins over --rate (print_title order)", "-L --rate --stats", list({ layout: "stats" })],
    ["--exact", "-L --stats --exact", list({ layout: "stats", exact: true })],
    ["-X is --exact", "-L --stats -X", list({ layout: "stats", exact: true })],
    ["--sort is the default", "-L --sort", list()],
    ["--nosort", "-L --nosort", list({ sort: false })],
    ["--json", "-L --json", list({ json: true })],
    ["--json -c", "-L -c --json", list({ what: "connections", json: true })],
    ["--admin", "-L -n --admin", list({ admin: true })],
    ["--timeout", "-L --timeout", list({ what: "timeout" })],
    ["--daemon", "-L --daemon", list({ what: "daemon" })],
    ["-S", "-S", { kind: "save", sort: true }],
    ["-S -n", "-S -n", { kind: "save", sort: true }],
    ["-Sn", "-Sn", { kind: "save", sort: true }],
    ["--save --nosort", "--save --nosort", { kind: "save", sort: false }],
    ["-R", "-R", { kind: "restore" }],
    ["--restore", "--restore", { kind: "restore" }],
    ["-h", "-h", { kind: "help" }],
    ["--help", "--help", { kind: "help" }],
    ["-v", "-v", { kind: "version" }],
    ["--version", "--version", { kind: "version" }],
  ];
  it.each(cases)("%s: vsadm %s", (_what, line, want) => {
    expect(parseArgs(args(line))).toEqual({ ok: true, command: want });
  });
});

describe("parseArgs: bad input is one clear line, and no command", () => {
  const cases: [string, string, string][] = [
    ["service without port", "-A -t 1.2.3.4", `"1.2.3.4" has no port`],
    ["port 0", "-A -t 1.2.3.4:0", "port 0 is out of range 1..65535"],
    ["port 65536", "-A -t 1.2.3.4:65536", "port 65536 is out of range 1..65535"],
    ["bad address", "-A -t 1.2.3.400:80", `-t 1.2.3.400:80: "1.2.3.400" is not an IP address`],
    ["names are not resolved", "-A -t localhost:80", "vsadm takes numeric addresses only"],
    ["IPv6 without brackets", "-A -t ::1:80", "IPv6 address must be written"],
    ["bad real server", `-a -t ${VIP} -r 10.0.0.256:80`, `-r 10.0.0.256:80: "10.0.0.256" is not an IP address`],
    ["real server port 0", `-a -t ${VIP} -r 10.0.0.2:0`, "port 0 is out of range"],
    ["unknown scheduler", `-A -t ${VIP} -s fancy`, `-s: unknown scheduler "fancy" (one of rr, wrr,`],
    ["weight too big", `-a -t ${VIP} -r ${RIP} -w 65536`, "-w: weight 65536 is out of range 0..65535"],
    ["negative weight", `-a -t ${VIP} -r ${RIP} -w -1`, `-w: weight "-1" is not a whole number`],
    ["weight not a number", `-a -t ${VIP} -r ${RIP} -w abc`, `-w: weight "abc" is not a whole number`],
    ["fractional weight", `-a -t ${VIP} -r ${RIP} -w 1.5`, `-w: weight "1.5" is not a whole number`],
    ["upper threshold too big", `-a -t ${VIP} -r ${RIP} -x 2147483648`, "-x: upper threshold 2147483648 is out of range 0..2147483647"],
    ["lower above upper", `-a -t ${VIP} -r ${RIP} -x 10 -y 20`, "the lower threshold is above the upper threshold (-x 10)"],
    ["mixed families", `-a -t ${VIP} -r [::1]:80`, "must be the same address family"],
    ["-a without -r", `-a -t ${VIP}`, "-a/--add-server needs -r (real server)"],
    ["-A without a service", "-A", "-A/--add-service needs -t|-u (service address)"],
    ["-D without a service", "-D -s rr", "-s/--scheduler is not valid with -D/--delete-service"],
    ["two commands", `-A -t ${VIP} -L`, "multiple commands specified: -A/--add-service and -L/--list"],
    ["server option on a service command", `-A -t ${VIP} -w 3`, "option -w/--weight is not valid with -A/--add-service"],
    ["two forwarding methods", `-a -t ${VIP} -r ${RIP} -m -g`, "options -m/--masquerading and -g/--gatewaying exclude each other"],
    ["fullnat and masquerading", `-a -t ${VIP} -r ${RIP} --fullnat -m`, "options --fullnat and -m/--masquerading exclude each other"],
    ["an option twice", `-a -t ${VIP} -r ${RIP} -w 1 -w 2`, "option -w/--weight given more than once"],
    ["-t and -u", `-A -t ${VIP} -u ${VIP}`, "exclude each other"],
    ["-M without -p", `-A -t ${VIP} -M 24`, "-M/--netmask needs -p/--persistent"],
    ["-p 0", `-A -t ${VIP} -p 0`, "-p: persistence timeout 0 is out of range 1..2678400"],
    ["-p beyond 31 days", `-A -t ${VIP} -p 2678401`, "out of range 1..2678400"],
    ["-p not a number", `-A -t ${VIP} -p soon`, `-p: persistence timeout "soon" is not a whole number`],
    ["non-contiguous netmask", `-A -t ${VIP} -p -M 255.0.255.0`, "-M 255.0.255.0: not a contiguous netmask"],
    ["prefix too long for IPv4", `-A -t ${VIP} -p -M 33`, "-M: prefix length 33 is out of range 0..32"],
    ["not a netmask", `-A -t ${VIP} -p -M wide`, "-M wide: not a netmask"],
    ["dotted mask on IPv6", "-A -t [::1]:80 -p -M 255.255.255.0", "an IPv6 service takes a prefix length"],
    ["sh flag on wlc", `-A -t ${VIP} -b sh-port`, "-b: incompatible scheduler flag sh-port: it needs -s sh, the scheduler is wlc"],
    ["mh flag on sh", `-A -t ${VIP} -s sh -b mh-port`, "incompatible scheduler flag mh-port"],
    ["unknown flag", `-A -t ${VIP} -s sh -b bogus`, `-b: invalid scheduler flag "bogus"`],
    ["flag-1 on rr", `-A -t ${VIP} -s rr -b flag-1`, "flag-1 has no meaning for scheduler rr"],
    ["flag-3", `-A -t ${VIP} -s sh -b flag-3`, "flag-3 has no meaning"],
    ["empty flag list", `-A -t ${VIP} -s sh -b ,`, "-b: no scheduler flag given"],
    ["-o on TCP", `-A -t ${VIP} -o`, "one-packet scheduling is for UDP services only"],
    ["--then-maintenance without --drain", `-e -t ${VIP} -r ${RIP} --then-maintenance`, "--then-maintenance goes with --drain"],
    ["--deadline alone", `-e -t ${VIP} -r ${RIP} --deadline 5`, "--deadline goes with --drain or --maintenance"],
    ["--deadline with --activate", `-e -t ${VIP} -r ${RIP} --activate --deadline 5`, "--deadline goes with --drain or --maintenance"],
    ["two admin states", `-e -t ${VIP} -r ${RIP} --drain --maintenance`, "options --drain and --maintenance exclude each other"],
    ["deadline too long", `-e -t ${VIP} -r ${RIP} --drain --deadline 2678401`, "--deadline: deadline 2678401 is out of range 0..2678400"],
    ["--drain on -a", `-a -t ${VIP} -r ${RIP} --drain`, "option --drain is not valid with -a/--add-server"],
    ["--set with two values", "--set 900 120", "--set needs 3 timeout values (tcp tcpfin udp), got 2"],
    ["--set with four values", "--set 900 120 300 1", "got 4"],
    ["--set with a word", "--set 900 x 300", `--set: tcpfin timeout "x" is not a whole number`],
    ["--set beyond 31 days", "--set 2678401 0 0", "--set: tcp timeout 2678401 is out of range 0..2678400"],
    ["-c with --stats", "-L -c --stats", "options conflict in -L: --stats with -c/--connection"],
    ["--timeout with -c", "-L --timeout -c", "exclude each other in -L"],
    ["--timeout with a service", `-L --timeout -t ${VIP}`, "--timeout takes no service"],
    ["--admin with --stats", "-L --admin --stats", "--admin applies to the default -L layout only"],
    ["--sort and --nosort", "-L --sort --nosort", "--sort and --nosort exclude each other"],
    ["a stray word", "-L extra", `unexpected argument "extra"`],
    ["fwmark", "-A -f 1", "ipvsadm option -f/--fwmark-service is not supported by vsadm"],
    ["SCTP", "-A --sctp-service 1.2.3.4:80", "--sctp-service is not supported by vsadm"],
    ["sync daemon", "--start-daemon master", "Director has no IPVS sync daemon"],
    ["unknown long option", "-L --bogus", "unknown option --bogus (see vsadm --help)"],
    ["unknown short option", "-Lq", "unknown option -q"],
    ["no command", "-n", "no command given"],
    ["missing value", "-A -t", "option -t needs a value"],
    ["missing long value", "-A --tcp-service", "option --tcp-service needs a value"],
    ["value on a flag", "--list=yes", "option --list takes no value"],
    ["-r with -Z", `-Z -r ${RIP}`, "-r/--real-server is not valid with -Z/--zero"],
    ["-c with -S", "-S -c", "not valid with -S/--save"],
    ["-t with -R", `-R -t ${VIP}`, "not valid with -R/--restore"],
    ["-w with -d", `-d -t ${VIP} -r ${RIP} -w 1`, "not valid with -d/--delete-server"],
  ];
  it.each(cases)("%s: vsadm %s", (_what, line, want) => {
    const r = parseArgs(args(line));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toContain(want);
    expect(r.error).not.toContain("\n");
  });
});
