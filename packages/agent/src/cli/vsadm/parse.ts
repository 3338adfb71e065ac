/**
 * vsadm's command line: argv → one Command, or one error line. Pure (no I/O, no agent), so a bad command never
 * reaches the agent and every rule here is unit-tested.
 *
 * Semantics are ipvsadm's (ipvsadm.c parse_options / process_options / generic_opt_check, v1.31):
 *  - popt-style options: short bundles (-Ln, -At VIP), "--long value" and "--long=value"; -p takes an optional
 *    timeout (the next word if it does not start with "-"), default 300 s;
 *  - one command per invocation, each option at most once, and the command/option table decides what is legal;
 *  - -E and -e set every option they carry: an option left out returns to its default (scheduler wlc, no
 *    persistence, no flags, weight 1, thresholds 0), exactly as ipvs_update_service/ipvs_update_dest do;
 *  - with -g/-i the real server's port is the service's port; -r without a port takes the service's port.
 * Where Director differs it says so in --help: -a defaults to -m (NAT), the userspace engine's only method;
 * addresses are numeric; fwmark/SCTP/sync-daemon/tunnel options are refused by name.
 * Values are validated with the model's schemas (EndpointString, SchedulerName, Op) before anything is sent.
 */
import { isIP } from "node:net";
import {
  EndpointString,
  formatEndpoint,
  Op,
  parseEndpoint,
  type Protocol,
  SCHEDULER_NAMES,
  type SchedulerFlag,
  SchedulerName,
  type ServiceKey,
} from "@director/model";

/** ipvsadm's MAX_TIMEOUT: 31 days. */
export const MAX_TIMEOUT = 86400 * 31;
/** ipvsadm's IPVS_SVC_PERSISTENT_TIMEOUT. */
export const DEFAULT_PERSISTENT_TIMEOUT = 300;

export type Layout = "default" | "stats" | "rate" | "thresholds" | "persistent-conn";

export interface ListCommand {
  kind: "list";
  what: "services" | "connections" | "timeout" | "daemon";
  service?: ServiceKey;
  layout: Layout;
  exact: boolean;
  sort: boolean;
  json: boolean;
  admin: boolean;
}

export type Command =
  | { kind: "help" }
  | { kind: "version" }
  | ListCommand
  | { kind: "apply"; ops: Op[] }
  | { kind: "zero"; service?: ServiceKey }
  | { kind: "save"; sort: boolean }
  | { kind: "restore" };

export type ParseResult = { ok: true; command: Command } | { ok: false; error: string };

type CommandName =
  | "add-service"
  | "edit-service"
  | "delete-service"
  | "clear"
  | "list"
  | "zero"
  | "add-server"
  | "edit-server"
  | "delete-server"
  | "set"
  | "help"
  | "version"
  | "restore"
  | "save";

/** Options that share a slot exclude each other (-t/-u, -m/-g/-i, --drain/--maintenance/--activate). */
type Slot =
  | "service"
  | "scheduler"
  | "persistent"
  | "netmask"
  | "sched-flags"
  | "ops"
  | "real-server"
  | "forward"
  | "weight"
  | "u-threshold"
  | "l-threshold"
  | "numeric"
  | "connection"
  | "timeout"
  | "daemon"
  | "stats"
  | "rate"
  | "thresholds"
  | "persistent-conn"
  | "sort"
  | "nosort"
  | "exact"
  | "json"
  | "admin"
  | "admin-state"
  | "then-maintenance"
  | "deadline";

type Arg = "none" | "required" | "optional";

interface Spec {
  long: string;
  short?: string;
  arg: Arg;
  command?: CommandName;
  slot?: Slot;
}

const SPECS: Spec[] = [
  { long: "add-service", short: "A", arg: "none", command: "add-service" },
  { long: "edit-service", short: "E", arg: "none", command: "edit-service" },
  { long: "delete-service", short: "D", arg: "none", command: "delete-service" },
  { long: "clear", short: "C", arg: "none", command: "clear" },
  { long: "list", short: "L", arg: "none", command: "list" },
  { long: "list", short: "l", arg: "none", command: "list" },
  { long: "zero", short: "Z", arg: "none", command: "zero" },
  { long: "add-server", short: "a", arg: "none", command: "add-server" },
  { long: "edit-server", short: "e", arg: "none", command: "edit-server" },
  { long: "delete-server", short: "d", arg: "none", command: "delete-server" },
  { long: "set", arg: "none", command: "set" },
  { long: "help", short: "h", arg: "none", command: "help" },
  { long: "version", short: "v", arg: "none", command: "version" },
  { long: "restore", short: "R", arg: "none", command: "restore" },
  { long: "save", short: "S", arg: "none", command: "save" },

  { long: "tcp-service", short: "t", arg: "required", slot: "service" },
  { long: "udp-service", short: "u", arg: "required", slot: "service" },
  { long: "scheduler", short: "s", arg: "required", slot: "scheduler" },
  { long: "persistent", short: "p", arg: "optional", slot: "persistent" },
  { long: "netmask", short: "M", arg: "required", slot: "netmask" },
  { long: "sched-flags", short: "b", arg: "required", slot: "sched-flags" },
  { long: "ops", short: "o", arg: "none", slot: "ops" },
  { long: "real-server", short: "r", arg: "required", slot: "real-server" },
  { long: "masquerading", short: "m", arg: "none", slot: "forward" },
  { long: "gatewaying", short: "g", arg: "none", slot: "forward" },
  { long: "ipip", short: "i", arg: "none", slot: "forward" },
  { long: "fullnat", arg: "none", slot: "forward" },
  { long: "weight", short: "w", arg: "required", slot: "weight" },
  { long: "u-threshold", short: "x", arg: "required", slot: "u-threshold" },
  { long: "l-threshold", short: "y", arg: "required", slot: "l-threshold" },
  { long: "numeric", short: "n", arg: "none", slot: "numeric" },
  { long: "connection", short: "c", arg: "none", slot: "connection" },
  { long: "timeout", arg: "none", slot: "timeout" },
  { long: "daemon", arg: "none", slot: "daemon" },
  { long: "stats", arg: "none", slot: "stats" },
  { long: "rate", arg: "none", slot: "rate" },
  { long: "thresholds", arg: "none", slot: "thresholds" },
  { long: "persistent-conn", arg: "none", slot: "persistent-conn" },
  { long: "sort", arg: "none", slot: "sort" },
  { long: "nosort", arg: "none", slot: "nosort" },
  { long: "exact", short: "X", arg: "none", slot: "exact" },
  // Director's extensions.
  { long: "json", arg: "none", slot: "json" },
  { long: "admin", arg: "none", slot: "admin" },
  { long: "drain", arg: "none", slot: "admin-state" },
  { long: "maintenance", arg: "none", slot: "admin-state" },
  { long: "activate", arg: "none", slot: "admin-state" },
  { long: "then-maintenance", arg: "none", slot: "then-maintenance" },
  { long: "deadline", arg: "required", slot: "deadline" },
];

/** ipvsadm options Director does not implement: refused by name rather than as "unknown". */
const UNSUPPORTED: { long: string; short?: string; why: string }[] = [
  { long: "fwmark-service", short: "f", why: "firewall-mark services are not supported" },
  { long: "ipv6", short: "6", why: "it only qualifies -f (firewall-mark services), which is not supported" },
  { long: "sctp-service", why: "only TCP (-t) and UDP (-u) services are supported" },
  { long: "pe", why: "persistence engines are not supported" },
  { long: "start-daemon", why: "Director has no IPVS sync daemon (its HA pair syncs itself)" },
  { long: "stop-daemon", why: "Director has no IPVS sync daemon (its HA pair syncs itself)" },
  { long: "mcast-interface", why: "Director has no IPVS sync daemon" },
  { long: "mcast-group", why: "Director has no IPVS sync daemon" },
  { long: "mcast-port", why: "Director has no IPVS sync daemon" },
  { long: "mcast-ttl", why: "Director has no IPVS sync daemon" },
  { long: "syncid", why: "Director has no IPVS sync daemon" },
  { long: "sync-maxlen", why: "Director has no IPVS sync daemon" },
  { long: "tun-info", why: "tunnel options are not supported" },
  { long: "tun-type", why: "tunnel options are not supported" },
  { long: "tun-port", why: "tunnel options are not supported" },
  { long: "tun-nocsum", why: "tunnel options are not supported" },
  { long: "tun-csum", why: "tunnel options are not supported" },
  { long: "tun-remcsum", why: "tunnel options are not supported" },
];

const SERVICE_OPTS: Slot[] = ["scheduler", "persistent", "netmask", "sched-flags", "ops"];
const SERVER_OPTS: Slot[] = ["forward", "weight", "u-threshold", "l-threshold"];

/** What each command accepts (ipvsadm's commands_v_options, plus Director's extensions). */
const ALLOWED: Record<CommandName, { required: Slot[]; optional: Slot[] }> = {
  "add-service": { required: ["service"], optional: SERVICE_OPTS },
  "edit-service": { required: ["service"], optional: SERVICE_OPTS },
  "delete-service": { required: ["service"], optional: [] },
  clear: { required: [], optional: [] },
  list: {
    required: [],
    optional: [
      "numeric",
      "connection",
      "service",
      "timeout",
      "daemon",
      "stats",
      "rate",
      "thresholds",
      "persistent-conn",
      "sort",
      "nosort",
      "exact",
      "json",
      "admin",
    ],
  },
  "add-server": { required: ["service", "real-server"], optional: SERVER_OPTS },
  "edit-server": { required: ["service", "real-server"], optional: [...SERVER_OPTS, "admin-state", "then-maintenance", "deadline"] },
  "delete-server": { required: ["service", "real-server"], optional: [] },
  set: { required: [], optional: [] },
  help: { required: [], optional: [] },
  version: { required: [], optional: [] },
  restore: { required: [], optional: [] },
  save: { required: [], optional: ["numeric", "sort", "nosort"] },
  zero: { required: [], optional: ["service"] },
};

const SLOT_NAMES: Partial<Record<Slot, string>> = {
  service: "-t|-u (service address)",
  forward: "-m|-g|-i|--fullnat (forwarding method)",
  "admin-state": "--drain|--maintenance|--activate",
  "real-server": "-r (real server)",
};

function display(spec: Spec): string {
  return spec.short ? `-${spec.short}/--${spec.long}` : `--${spec.long}`;
}

function slotName(slot: Slot): string {
  const named = SLOT_NAMES[slot];
  if (named) return named;
  const spec = SPECS.find((s) => s.slot === slot)!;
  return display(spec);
}

interface Given {
  spec: Spec;
  value?: string;
}

type Tokens = { ok: true; given: Given[]; positional: string[] } | { ok: false; error: string };

/** popt-style tokenising: which options, with which values, and the words left over. */
function tokenize(argv: readonly string[]): Tokens {
  const given: Given[] = [];
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      const inline = eq < 0 ? undefined : word.slice(eq + 1);
      const spec = SPECS.find((s) => s.long === name);
      if (!spec) return { ok: false, error: unknownOption(`--${name}`, UNSUPPORTED.find((u) => u.long === name)) };
      if (spec.arg === "none") {
        if (inline !== undefined) return { ok: false, error: `option --${name} takes no value` };
        given.push({ spec });
      } else if (inline !== undefined) {
        given.push({ spec, value: inline });
      } else {
        const next = argv[i + 1];
        if (spec.arg === "required") {
          if (next === undefined) return { ok: false, error: `option --${name} needs a value` };
          given.push({ spec, value: next });
          i++;
        } else if (next !== undefined && !next.startsWith("-")) {
          given.push({ spec, value: next });
          i++;
        } else {
          given.push({ spec });
        }
      }
      continue;
    }
    if (word.startsWith("-") && word.length > 1) {
      for (let j = 1; j < word.length; j++) {
        const ch = word[j]!;
        const spec = SPECS.find((s) => s.short === ch);
        if (!spec) return { ok: false, error: unknownOption(`-${ch}`, UNSUPPORTED.find((u) => u.short === ch)) };
        if (spec.arg === "none") {
          given.push({ spec });
          continue;
        }
        const rest = word.slice(j + 1);
        const next = argv[i + 1];
        if (rest) {
          given.push({ spec, value: rest });
        } else if (spec.arg === "required") {
          if (next === undefined) return { ok: false, error: `option -${ch} needs a value` };
          given.push({ spec, value: next });
          i++;
        } else if (next !== undefined && !next.startsWith("-")) {
          given.push({ spec, value: next });
          i++;
        } else {
          given.push({ spec });
        }
        break;
      }
      continue;
    }
    positional.push(word);
  }
  return { ok: true, given, positional };
}

function unknownOption(name: string, unsupported: { long: string; short?: string; why: string } | undefined): string {
  if (unsupported) {
    const spelled = unsupported.short ? `-${unsupported.short}/--${unsupported.long}` : `--${unsupported.long}`;
    return `ipvsadm option ${spelled} is not supported by vsadm: ${unsupported.why}`;
  }
  return `unknown option ${name} (see vsadm --help)`;
}

class ArgError extends Error {}

function fail(message: string): never {
  throw new ArgError(message);
}

/** Parses vsadm's arguments (without "node" and the script). No arguments lists the table, as ipvsadm does. */
export function parseArgs(argv: readonly string[]): ParseResult {
  try {
    return { ok: true, command: parseOrThrow(argv) };
  } catch (e) {
    if (e instanceof ArgError) return { ok: false, error: e.message };
    throw e;
  }
}

function parseOrThrow(argv: readonly string[]): Command {
  if (argv.length === 0) return listCommand({});
  const t = tokenize(argv);
  if (!t.ok) fail(t.error);

  const commands = t.given.filter((g) => g.spec.command);
  if (commands.length === 0)
    fail("no command given: use one of -A -E -D -C -a -e -d -L -Z -S -R --set (see vsadm --help)");
  if (commands.length > 1) fail(`multiple commands specified: ${display(commands[0]!.spec)} and ${display(commands[1]!.spec)}`);
  const command = commands[0]!.spec.command!;
  const commandSpec = commands[0]!.spec;

  const allowed = ALLOWED[command];
  const opts = new Map<Slot, Given>();
  for (const g of t.given) {
    const slot = g.spec.slot;
    if (!slot) continue;
    if (!allowed.required.includes(slot) && !allowed.optional.includes(slot))
      fail(`option ${display(g.spec)} is not valid with ${display(commandSpec)}`);
    const before = opts.get(slot);
    if (before) {
      fail(
        before.spec === g.spec
          ? `option ${display(g.spec)} given more than once`
          : `options ${display(before.spec)} and ${display(g.spec)} exclude each other`,
      );
    }
    opts.set(slot, g);
  }
  for (const slot of allowed.required) if (!opts.has(slot)) fail(`${display(commandSpec)} needs ${slotName(slot)}`);
  if (command !== "set" && t.positional.length) fail(`unexpected argument "${t.positional[0]}"`);

  switch (command) {
    case "help":
      return { kind: "help" };
    case "version":
      return { kind: "version" };
    case "restore":
      return { kind: "restore" };
    case "save":
      return { kind: "save", sort: !opts.has("nosort") };
    case "list":
      return listCommand(Object.fromEntries(opts) as Partial<Record<Slot, Given>>);
    case "zero": {
      const svc = opts.get("service");
      return svc ? { kind: "zero", service: serviceArg(svc) } : { kind: "zero" };
    }
    case "clear":
      return apply([{ op: "service.clear" }]);
    case "set":
      return apply([setTimeouts(t.positional)]);
    case "add-service":
    case "edit-service": {
      const key = serviceArg(opts.get("service")!);
      const fields = serviceFields(key, opts);
      if (command === "add-service") return apply([{ op: "service.add", service: { ...key, ...fields } }]);
      return apply([{ op: "service.edit", key, patch: { ...fields, persistence: fields.persistence ?? null } }]);
    }
    case "delete-service":
      return apply([{ op: "service.delete", key: serviceArg(opts.get("service")!) }]);
    case "add-server": {
      const key = serviceArg(opts.get("service")!);
      const rs = serverFields(key, opts);
      return apply([{ op: "realServer.add", key, realServer: rs }]);
    }
    case "edit-server":
      return apply(editServer(opts));
    case "delete-server": {
      const key = serviceArg(opts.get("service")!);
      return apply([{ op: "realServer.delete", key, address: realServerArg(key, opts.get("real-server")!, "as-given") }]);
    }
  }
}

/** Every op is checked against the model's Op schema: what passes here is what the agent will parse. */
function apply(ops: unknown[]): Command {
  const parsed: Op[] = [];
  for (const op of ops) {
    const r = Op.safeParse(op);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      // The path names a model field (e.g. service.onePacket); the message already says what is wrong.
      fail(issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message);
    }
    parsed.push(r.data);
  }
  return { kind: "apply", ops: parsed };
}

function listCommand(o: Partial<Record<Slot, Given>>): ListCommand {
  const what = o.connection ? "connections" : o.timeout ? "timeout" : o.daemon ? "daemon" : "services";
  const exclusive = (["connection", "timeout", "daemon"] as const).filter((s) => o[s]);
  if (exclusive.length > 1) fail(`options ${slotName(exclusive[0]!)} and ${slotName(exclusive[1]!)} exclude each other in -L`);
  if ((o.timeout || o.daemon) && o.service) fail(`option ${slotName(o.timeout ? "timeout" : "daemon")} takes no service in -L`);
  const layouts = (["stats", "rate", "thresholds", "persistent-conn"] as const).filter((s) => o[s]);
  // ipvsadm: -c/--timeout/--daemon conflict with the counter layouts; -c with --persistent-conn is allowed.
  if (what !== "services") {
    const conflicting = layouts.filter((l) => !(what === "connections" && l === "persistent-conn"));
    if (conflicting.length) fail(`options conflict in -L: ${slotName(conflicting[0]!)} with ${slotName(what === "connections" ? "connection" : what)}`);
  }
  if (o.sort && o.nosort) fail("options --sort and --nosort exclude each other");
  // Precedence among layouts as ipvsadm's print_title: stats, rate, thresholds, persistent-conn.
  const layout: Layout = layouts[0] ?? "default";
  if (o.admin && (what !== "services" || layout !== "default" || o.json))
    fail("--admin applies to the default -L layout only (not with -c, --timeout, --daemon, --json or a counter layout)");
  const cmd: ListCommand = {
    kind: "list",
    what,
    layout,
    exact: Boolean(o.exact),
    sort: !o.nosort,
    json: Boolean(o.json),
    admin: Boolean(o.admin),
  };
  if (o.service) cmd.service = serviceArg(o.service);
  return cmd;
}

function serviceArg(g: Given): ServiceKey {
  const protocol: Protocol = g.spec.long === "udp-service" ? "udp" : "tcp";
  return { protocol, address: endpointArg(`-${g.spec.short}`, g.value!) };
}

function endpointArg(flag: string, value: string): string {
  const r = EndpointString.safeParse(value);
  if (r.success) return r.data;
  const message = r.error.issues[0]!.message;
  const hint = message.includes("is not an IP address") ? " (vsadm takes numeric addresses only)" : "";
  return fail(`${flag} ${value}: ${message}${hint}`);
}

function familyOf(address: string): 4 | 6 {
  const e = parseEndpoint(address);
  return "error" in e ? 4 : e.family;
}

/**
 * -r: "IP:port", "[IPv6]:port", or a bare IP that takes the service's port (ipvsadm copies vport to dport).
 * Gatewaying and tunnelling cannot change the port, so ipvsadm uses the service's port for them whatever was given.
 */
function realServerArg(key: ServiceKey, g: Given, port: "as-given" | "service-port"): string {
  const vip = parseEndpoint(key.address);
  if ("error" in vip) return fail(vip.error);
  const value = g.value!;
  const bare = isIP(value) ? value : /^\[[^\]]+\]$/.test(value) && isIP(value.slice(1, -1)) ? value.slice(1, -1) : undefined;
  let address = endpointArg("-r", bare !== undefined ? formatEndpoint({ host: bare, port: vip.port }) : value);
  const rs = parseEndpoint(address);
  if ("error" in rs) return fail(rs.error);
  if (rs.family !== vip.family) fail(`-r ${value}: the real server and the service ${key.address} must be the same address family`);
  if (port === "service-port" && rs.port !== vip.port) address = formatEndpoint({ host: rs.host, port: vip.port });
  return address;
}

function intArg(flag: string, what: string, value: string | undefined, min: number, max: number): number {
  if (value === undefined || !/^\d+$/.test(value)) return fail(`${flag}: ${what} "${value ?? ""}" is not a whole number`);
  const n = Number(value);
  if (n < min || n > max) fail(`${flag}: ${what} ${value} is out of range ${min}..${max}`);
  return n;
}

interface ServiceFields {
  scheduler: SchedulerName;
  schedulerFlags: SchedulerFlag[];
  persistence?: { timeout: number; prefixLength: number };
  onePacket: boolean;
}

/** -s -b -p -M -o, with ipvsadm's defaults for what is left out (for -A and, as ipvsadm does, for -E). */
function serviceFields(key: ServiceKey, opts: Map<Slot, Given>): ServiceFields {
  const schedText = opts.get("scheduler")?.value ?? "wlc";
  const sched = SchedulerName.safeParse(schedText);
  if (!sched.success) fail(`-s: unknown scheduler "${schedText}" (one of ${SCHEDULER_NAMES.join(", ")})`);
  const scheduler = sched.data!;
  const flagsText = opts.get("sched-flags")?.value;
  const schedulerFlags = flagsText === undefined ? [] : parseSchedFlags(flagsText, scheduler);
  const onePacket = opts.has("ops");
  if (onePacket && key.protocol !== "udp") fail("-o/--ops: one-packet scheduling is for UDP services only");
  const p = opts.get("persistent");
  const m = opts.get("netmask");
  const fields: ServiceFields = { scheduler, schedulerFlags, onePacket };
  if (p) {
    const timeout = p.value === undefined ? DEFAULT_PERSISTENT_TIMEOUT : intArg("-p", "persistence timeout", p.value, 1, MAX_TIMEOUT);
    const family = familyOf(key.address);
    const prefixLength = m ? parseNetmask(m.value!, family) : family === 4 ? 32 : 128;
    fields.persistence = { timeout, prefixLength };
  } else if (m) {
    fail("-M/--netmask needs -p/--persistent: the netmask is the granularity of persistence");
  }
  return fields;
}

/** -b: comma list. flag-1/flag-2 are the raw bits, which sh and mh name fallback and port (print_sched_flags). */
export function parseSchedFlags(text: string, scheduler: SchedulerName): SchedulerFlag[] {
  const words = text.split(",").filter((w) => w !== "");
  if (!words.length) fail("-b: no scheduler flag given");
  const out = new Set<SchedulerFlag>();
  for (const word of words) {
    let flag: SchedulerFlag;
    if (word === "flag-1" || word === "flag-2") {
      if (scheduler !== "sh" && scheduler !== "mh") fail(`-b: scheduler flag ${word} has no meaning for scheduler ${scheduler} (only sh and mh take flags)`);
      flag = `${scheduler}-${word === "flag-1" ? "fallback" : "port"}`;
    } else if (word === "flag-3") {
      return fail("-b: scheduler flag flag-3 has no meaning for any scheduler");
    } else if (word === "sh-fallback" || word === "sh-port" || word === "mh-fallback" || word === "mh-port") {
      const needs = word.slice(0, 2);
      if (needs !== scheduler) fail(`-b: incompatible scheduler flag ${word}: it needs -s ${needs}, the scheduler is ${scheduler}`);
      flag = word;
    } else {
      return fail(`-b: invalid scheduler flag "${word}" (sh-fallback, sh-port, mh-fallback, mh-port, flag-1, flag-2)`);
    }
    out.add(flag);
  }
  const order: SchedulerFlag[] = ["sh-fallback", "sh-port", "mh-fallback", "mh-port"];
  return order.filter((f) => out.has(f));
}

/** -M: a dotted netmask (IPv4) or a prefix length. Stored as a prefix length; the mask must be contiguous. */
export function parseNetmask(text: string, family: 4 | 6): number {
  if (/^\d+$/.test(text)) return intArg("-M", "prefix length", text, family === 4 ? 0 : 1, family === 4 ? 32 : 128);
  if (family === 6) fail(`-M ${text}: an IPv6 service takes a prefix length (1..128)`);
  if (isIP(text) !== 4) fail(`-M ${text}: not a netmask (expected e.g. 255.255.255.0 or 24)`);
  const bits = text
    .split(".")
    .map((o) => Number(o).toString(2).padStart(8, "0"))
    .join("");
  if (!/^1*0*$/.test(bits)) fail(`-M ${text}: not a contiguous netmask`);
  return bits.indexOf("0") < 0 ? 32 : bits.indexOf("0");
}

/** -a / -e fields, with ipvsadm's defaults for what is left out (weight 1, thresholds 0) and -m for the method. */
function serverFields(key: ServiceKey, opts: Map<Slot, Given>) {
  const fwd = opts.get("forward")?.spec.long;
  const forward = fwd === "gatewaying" ? "dr" : fwd === "ipip" ? "tun" : fwd === "fullnat" ? "fullnat" : "nat";
  const address = realServerArg(key, opts.get("real-server")!, forward === "nat" || forward === "fullnat" ? "as-given" : "service-port");
  const w = opts.get("weight");
  const x = opts.get("u-threshold");
  const y = opts.get("l-threshold");
  const weight = w ? intArg("-w", "weight", w.value, 0, 65535) : 1;
  const upperThreshold = x ? intArg("-x", "upper threshold", x.value, 0, 2 ** 31 - 1) : 0;
  const lowerThreshold = y ? intArg("-y", "lower threshold", y.value, 0, 2 ** 31 - 1) : 0;
  if (upperThreshold > 0 && lowerThreshold > upperThreshold)
    fail(`-y ${lowerThreshold}: the lower threshold is above the upper threshold (-x ${upperThreshold})`);
  return { address, weight, forward, upperThreshold, lowerThreshold } as const;
}

/**
 * -e: the ipvsadm edit (every server option, defaults for those left out) and/or Director's admin-state change.
 * With only --drain/--maintenance/--activate the server's options are left alone.
 */
function editServer(opts: Map<Slot, Given>): unknown[] {
  const key = serviceArg(opts.get("service")!);
  const state = opts.get("admin-state")?.spec.long;
  const then = opts.has("then-maintenance");
  const deadline = opts.get("deadline");
  if (then && state !== "drain") fail("--then-maintenance goes with --drain");
  if (deadline && state !== "drain" && state !== "maintenance") fail("--deadline goes with --drain or --maintenance");
  const editing = SERVER_OPTS.some((s) => opts.has(s)) || !state;
  const fields = serverFields(key, opts);
  const ops: unknown[] = [];
  if (editing) {
    const { address, ...patch } = fields;
    ops.push({ op: "realServer.edit", key, address, patch });
  }
  if (state) {
    const op: Record<string, unknown> = {
      op: "realServer.setAdminState",
      key,
      address: fields.address,
      state: state === "drain" ? "draining" : state === "maintenance" ? "maintenance" : "active",
    };
    if (state === "drain") op.thenMaintenance = then;
    if (deadline) op.deadlineSeconds = intArg("--deadline", "deadline", deadline.value, 0, MAX_TIMEOUT);
    ops.push(op);
  }
  return ops;
}

/** --set tcp tcpfin udp: seconds; 0 leaves that timeout unchanged (ip_vs_set_timeout only sets non-zero values). */
function setTimeouts(words: string[]): unknown {
  if (words.length !== 3) fail(`--set needs 3 timeout values (tcp tcpfin udp), got ${words.length}`);
  const [tcp, tcpFin, udp] = (["tcp", "tcpfin", "udp"] as const).map((name, i) => intArg("--set", `${name} timeout`, words[i], 0, MAX_TIMEOUT));
  const timeouts: Record<string, number> = {};
  if (tcp) timeouts.tcp = tcp;
  if (tcpFin) timeouts.tcpFin = tcpFin;
  if (udp) timeouts.udp = udp;
  return { op: "timeouts.set", timeouts };
}
