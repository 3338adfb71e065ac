/**
 * Importing a keepalived.conf: its LVS part (virtual_server, virtual_server_group, real_server and the
 * checkers) becomes an AgentConfig; everything else (global_defs, vrrp_*, static_*, track_*, include, …) is
 * reported by line, never silently dropped. One file is read; nothing is run.
 *
 * Two layers: a tokenizer/parser for keepalived's block syntax (parser.c: a statement is the words of one line,
 * `{` opens a block, on the same line or the next, `}` closes it; `#` and `!` at the start of a word comment out
 * the rest of the line; "double quotes" hold spaces, braces and comment characters), then the mapping below.
 * Semantics and defaults are keepalived 2.x's (check/check_parser.c, check_data.c, check_api.c, the checkers):
 *
 *  - lb_algo / lvs_sched → scheduler; lb_kind / lvs_method NAT|DR|TUN → every real server's forward (a real
 *    server may set its own); protocol TCP|UDP (none: keepalived warns and uses UDP; so do we, with a problem);
 *    persistence_timeout [N] (no value: 360 s) → persistence.timeout; persistence_granularity (a netmask or a
 *    prefix length) → prefixLength; ops → onePacket; sh-port, sh-fallback, mh-port, mh-fallback, flag-1
 *    (fallback), flag-2 (port) → schedulerFlags, named after the scheduler (the kernel bits are shared);
 *    quorum, hysteresis → quorum (keepalived lowers a quorum above the total weight and a hysteresis ≥ quorum:
 *    so do we, with a problem); sorry_server IP [PORT] → sorryServer.
 *  - A checker inside a real_server becomes that real server's healthCheck: TCP_CHECK → tcp, HTTP_GET → http,
 *    SSL_GET → https (no certificate verification, as keepalived; enable_sni sends the virtualhost),
 *    UDP_CHECK → udp (payload and require_reply are hex there, text here), DNS_CHECK → dns (default SOA for
 *    "."), SMTP_CHECK → smtp, MISC_CHECK → exec. Only the first checker of a real server is imported (keepalived
 *    requires all of them to pass) and only its first url; the others are reported.
 *  - Timing, inherited checker → real_server → virtual_server → keepalived's default, written out explicitly so
 *    the imported check behaves as keepalived did: delay_loop (60 s) → interval; connect_timeout (5 s) →
 *    timeout (MISC_CHECK: misc_timeout, else the interval, at most 300 s); rise 1 (keepalived brings a server
 *    up on its first success); delay_before_retry (1 s; DNS_CHECK: the interval) → retryDelay.
 *  - retry / nb_get_retry → fall = retry + 1. keepalived's `retry` counts the checks made *after* a failure
 *    before it marks the server down (check_tcp.c tcp_epilog: down once retry_it >= retry, retry_it counting
 *    from 0 at the first failure), so "retry 3" is four consecutive failed checks, the first one spaced by
 *    delay_loop, the next three by delay_before_retry. Defaults: 1 (MISC_CHECK 0, DNS_CHECK 3).
 *  - alpha → startState down; inhibit_on_failure (virtual or real server) → onFailure inhibit; virtualhost
 *    (virtual server, checker or url) → host.
 *  - virtual_server_group members `IP PORT` and `IP-LAST PORT` (192.168.1.1-10; the last IPv6 group is hex)
 *    expand into one service per address; fwmark services and members need the kernel engine: reported.
 *  - Values out of range (port 0, weight > 65535, …) are reported and their item skipped: a real server with a
 *    bad address or weight, a virtual server with a bad address, or the one setting otherwise.
 */
import { isIP } from "node:net";
import {
  AgentConfig,
  type AgentConfigInput,
  canonicalEndpoint,
  type ForwardMethod,
  formatEndpoint,
  formatIssues,
  HealthCheck,
  type HealthCheckInput,
  type Protocol,
  type RealServerInput,
  RealServerSpec,
  SCHEDULER_NAMES,
  type SchedulerFlag,
  type SchedulerName,
  serviceKey,
  type VirtualServiceInput,
  VirtualServiceSpec,
} from "@director/model";

export interface ImportProblem {
  line: number;
  message: string;
}

export interface KeepalivedImport {
  config: AgentConfigInput;
  problems: ImportProblem[];
}

// ---------------------------------------------------------------------------------------------------------
// Block syntax

/** One word of a statement; `start`/`end` are offsets in the source (quotes included). */
export interface Word {
  text: string;
  line: number;
  quoted: boolean;
  start: number;
  end: number;
}

export interface Statement {
  keyword: string;
  line: number;
  args: Word[];
  /** The source text of the arguments as written (quotes, escapes), for misc_path. */
  raw: string;
  /** Present when the statement opens a `{ … }` block. */
  block?: Statement[];
}

type Token = { kind: "word"; word: Word } | { kind: "{"; line: number } | { kind: "}"; line: number };

function tokenize(text: string, problems: ImportProblem[]): Token[] {
  const tokens: Token[] = [];
  const n = text.length;
  let line = 1;
  let i = 0;
  while (i < n) {
    const c = text[i]!;
    if (c === "\n") {
      line++;
      i++;
    } else if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v") {
      i++;
    } else if (c === "#" || c === "!") {
      while (i < n && text[i] !== "\n") i++;
    } else if (c === "{" || c === "}") {
      tokens.push({ kind: c, line });
      i++;
    } else if (c === '"') {
      const start = i++;
      let value = "";
      let closed = false;
      while (i < n && text[i] !== "\n") {
        const d = text[i]!;
        if (d === "\\" && (text[i + 1] === '"' || text[i + 1] === "\\")) {
          value += text[i + 1];
          i += 2;
        } else if (d === '"') {
          closed = true;
          i++;
          break;
        } else {
          value += d;
          i++;
        }
      }
      if (!closed) problems.push({ line, message: "a quoted string is not closed: it is taken to the end of the line" });
      tokens.push({ kind: "word", word: { text: value.replace(/\r$/, ""), line, quoted: true, start, end: i } });
    } else {
      const start = i;
      while (i < n && !/[\s{}]/.test(text[i]!)) i++;
      tokens.push({ kind: "word", word: { text: text.slice(start, i), line, quoted: false, start, end: i } });
    }
  }
  return tokens;
}

/**
 * Parses keepalived's block syntax into statements. Never throws: a missing `}` is reported on the line of the
 * statement whose block it leaves open (what was read is kept), a stray `}` or a `{` with no keyword before it
 * on its own line.
 */
export function parseKeepalivedBlocks(text: string): { statements: Statement[]; problems: ImportProblem[] } {
  const problems: ImportProblem[] = [];
  const tokens = tokenize(text, problems);
  let pos = 0;

  const parseList = (opener: Statement | { line: number; keyword: string } | null): Statement[] => {
    const out: Statement[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos]!;
      if (t.kind === "}") {
        pos++;
        if (opener) return out;
        problems.push({ line: t.line, message: "a } closes no block: ignored" });
        continue;
      }
      if (t.kind === "{") {
        pos++;
        problems.push({ line: t.line, message: "a { block with no keyword before it is skipped" });
        parseList({ line: t.line, keyword: "{" });
        continue;
      }
      pos++;
      const head = t.word;
      const args: Word[] = [];
      while (pos < tokens.length) {
        const a = tokens[pos]!;
        if (a.kind !== "word" || a.word.line !== head.line) break;
        args.push(a.word);
        pos++;
      }
      const last = args[args.length - 1];
      const st: Statement = { keyword: head.text, line: head.line, args, raw: args[0] && last ? text.slice(args[0].start, last.end) : "" };
      if (pos < tokens.length && tokens[pos]!.kind === "{") {
        pos++;
        st.block = parseList(st);
      }
      out.push(st);
    }
    if (opener)
      problems.push({ line: opener.line, message: `the block of ${opener.keyword} opened on line ${opener.line} has no closing }: read to the end of the file` });
    return out;
  };

  const statements = parseList(null);
  return { statements, problems: problems.sort((a, b) => a.line - b.line) };
}

// ---------------------------------------------------------------------------------------------------------
// misc_path: an argument array, never a shell

/**
 * Splits a command line into words the way a simple shell would, without running one: blanks separate words,
 * 'single quotes' are literal, "double quotes" keep blanks and honour \" \\ \$ \`, a backslash outside quotes
 * escapes the next character. `operators` lists what only a shell would interpret (| ; & < > ` $…), so the
 * caller can say that here they are plain characters of an argument.
 */
export function splitCommand(line: string): { words: string[]; operators: string[]; error?: string } {
  const words: string[] = [];
  const operators = new Set<string>();
  let word = "";
  let inWord = false;
  let i = 0;
  const dollar = (at: number) => {
    const next = line[at + 1];
    if (next !== undefined && /[A-Za-z_({]/.test(next)) operators.add(next === "(" ? "$(" : "$");
  };
  while (i < line.length) {
    const c = line[i]!;
    if (c === " " || c === "\t") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const close = line.indexOf("'", i + 1);
      if (close < 0) return { words, operators: [...operators], error: "a single quote is not closed" };
      word += line.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < line.length) {
        const d = line[i]!;
        if (d === "\\" && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) {
          word += line[i + 1];
          i += 2;
          continue;
        }
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === "`") operators.add("`");
        if (d === "$") dollar(i);
        word += d;
        i++;
      }
      if (!closed) return { words, operators: [...operators], error: "a double quote is not closed" };
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[i + 1];
      i += 2;
    } else {
      const pair = line.slice(i, i + 2);
      if (pair === "||" || pair === "&&" || pair === ">>") {
        operators.add(pair);
        word += pair;
        i += 2;
        continue;
      }
      if ("|;&<>`".includes(c)) operators.add(c);
      else if (c === "$") dollar(i);
      word += c;
      i++;
    }
  }
  if (inWord) words.push(word);
  return { words, operators: [...operators] };
}

// ---------------------------------------------------------------------------------------------------------
// The mapping

type CheckType = "tcp" | "http" | "https" | "udp" | "dns" | "smtp" | "exec";

const CHECKERS: Record<string, CheckType> = {
  TCP_CHECK: "tcp",
  HTTP_GET: "http",
  SSL_GET: "https",
  UDP_CHECK: "udp",
  DNS_CHECK: "dns",
  SMTP_CHECK: "smtp",
  MISC_CHECK: "exec",
};

const UNSUPPORTED_CHECKERS: Record<string, string> = {
  PING_CHECK: "Director has no ICMP checker",
  FILE_CHECK: "Director has no file checker",
  BFD_CHECK: "Director has no BFD",
};

const DNS_TYPES = ["A", "AAAA", "CNAME", "MX", "NS", "SOA", "TXT"] as const;
type DnsType = (typeof DNS_TYPES)[number];

/** keepalived's defaults (check_data.c alloc_vs, check_api.c queue_checker, the checkers). */
const KEEPALIVED = {
  delayLoop: 60,
  connectTimeout: 5,
  delayBeforeRetry: 1,
  retry: 1,
  persistenceTimeout: 360,
} as const;

/** Settings a checker inherits from its real server, which inherits them from its virtual server. */
interface Inherited {
  delayLoop?: number;
  connectTimeout?: number;
  retry?: number;
  delayBeforeRetry?: number;
  alpha?: boolean;
  inhibit?: boolean;
  virtualhost?: string;
}

interface CheckerDraft {
  keyword: string;
  line: number;
  type: CheckType;
  own: Inherited;
  port?: number;
  /** Type-specific fields, already in the model's words. */
  fields: Record<string, unknown>;
  urlHost?: string;
  enableSni?: boolean;
  miscTimeout?: number;
}

interface Address {
  host: string;
  family: 4 | 6;
}

interface RealServerDraft extends Address {
  line: number;
  port?: number;
  weight?: number;
  upper?: number;
  lower?: number;
  forward?: ForwardMethod;
  inherited: Inherited;
  checker?: CheckerDraft;
  skip: boolean;
}

interface Target extends Address {
  port: number;
  line: number;
}

interface VirtualServerDraft {
  line: number;
  label: string;
  fromGroup: boolean;
  targets: Target[];
  protocol?: Protocol | "none";
  scheduler?: SchedulerName;
  forward?: ForwardMethod;
  persistence?: number;
  granularity?: { prefixLength: number; line: number };
  onePacket?: number;
  flags: { fallback?: { line: number; word: string }; port?: { line: number; word: string } };
  quorum?: { value: number; line: number };
  hysteresis?: { value: number; line: number };
  sorry?: Address & { port?: number; line: number };
  weight?: number;
  inherited: Inherited;
  realServers: RealServerDraft[];
}

interface Group {
  line: number;
  used: boolean;
  targets: Target[];
}

const MAX_SERVICES = 10000;

/**
 * Imports a keepalived.conf. Never throws; `config` always passes `AgentConfig.safeParse`, and every part of
 * the file that is not imported as written is in `problems` with its line.
 */
export function importKeepalived(text: string): KeepalivedImport {
  const parsed = parseKeepalivedBlocks(text);
  const problems: ImportProblem[] = [...parsed.problems];
  const problem = (line: number, message: string) => problems.push({ line, message });

  const groups = new Map<string, Group>();
  for (const st of parsed.statements) if (st.keyword === "virtual_server_group") readGroup(st, groups, problem);

  const drafts: VirtualServerDraft[] = [];
  for (const st of parsed.statements) {
    const kw = st.keyword;
    if (kw === "virtual_server_group") continue;
    if (kw === "virtual_server") {
      const d = readVirtualServer(st, groups, problem);
      if (d) drafts.push(d);
    } else reportTopLevel(st, problem);
  }
  for (const [name, g] of groups)
    if (!g.used) problem(g.line, `virtual_server_group ${name} is not used by any virtual_server: nothing imported from it`);

  const services: VirtualServiceInput[] = [];
  const lines: number[] = [];
  const seen = new Map<string, number>();
  for (const d of drafts) {
    for (const t of d.targets) {
      const vs = materialize(d, t, problem);
      if (!vs) continue;
      const key = serviceKey({ protocol: vs.protocol ?? "tcp", address: vs.address });
      const first = seen.get(key);
      if (first !== undefined) {
        problem(t.line, `virtual service ${key} is already defined on line ${first}: this one is skipped`);
        continue;
      }
      if (services.length >= MAX_SERVICES) {
        problem(t.line, `more than ${MAX_SERVICES} virtual services: ${key} and the ones after it are skipped`);
        break;
      }
      seen.set(key, t.line);
      services.push(vs);
      lines.push(t.line);
    }
  }

  const config: AgentConfigInput = { virtualServices: services };
  // Everything was validated piece by piece; this is the net under it, so the promise above always holds.
  for (let check = AgentConfig.safeParse(config); !check.success; check = AgentConfig.safeParse(config)) {
    const index = check.error.issues.map((i) => i.path[1]).find((p): p is number => typeof p === "number");
    const bad = index === undefined ? undefined : services[index];
    if (index === undefined || !bad) {
      problem(1, `the imported configuration is invalid (${formatIssues(check.error).join("; ")}): nothing imported`);
      services.length = 0;
      break;
    }
    problem(lines[index] ?? 1, `virtual service ${bad.address} is invalid (${formatIssues(check.error).join("; ")}): skipped`);
    services.splice(index, 1);
    lines.splice(index, 1);
  }

  return { config, problems: dedupe(problems) };
}

function dedupe(problems: ImportProblem[]): ImportProblem[] {
  const seen = new Set<string>();
  const out = problems.filter((p) => {
    const key = `${p.line}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return out.sort((a, b) => a.line - b.line);
}

type Report = (line: number, message: string) => void;

// ---- top level

function blockName(st: Statement): string {
  return [st.keyword, ...st.args.map((a) => a.text)].join(" ");
}

function reportTopLevel(st: Statement, problem: Report): void {
  const kw = st.keyword;
  const what = blockName(st);
  if (kw.startsWith("@"))
    problem(st.line, `conditional line (${kw}) is not imported: keepalived applies it only when started with -i ${kw.slice(1).replace(/^\^/, "")}`);
  else if (kw === "include") problem(st.line, `include ${st.raw} is not followed: one file is imported; import each file on its own`);
  else if (kw === "global_defs")
    problem(st.line, "global_defs is not imported: Director has no global keepalived settings (e-mail alerts, router_id, script users, …)");
  else if (kw.startsWith("vrrp_"))
    problem(st.line, `${what} is not imported: VRRP failover between directors (HA) is not part of Director's configuration`);
  else if (kw.startsWith("track_"))
    problem(st.line, `${what} is not imported: tracking only feeds VRRP priorities (HA), which are not imported`);
  else if (kw.startsWith("static_"))
    problem(st.line, `${what} is not imported: Director does not manage the host's addresses, routes or rules`);
  else if (kw === "SSL")
    problem(st.line, "SSL (client certificate for SSL_GET) is not imported: Director's https checks present no client certificate");
  else if (kw.startsWith("$")) problem(st.line, `${kw}: keepalived parameters ($NAME) are not supported: nothing imported from this line`);
  else problem(st.line, `${what}${st.block ? " { … }" : ""} is not imported: unknown or unsupported keepalived keyword`);
}

// ---- values

/** An IP address; a zone (fe80::1%eth0) is refused: an endpoint has none. */
function parseAddress(text: string): Address | undefined {
  if (text.includes("%")) return undefined;
  const family = isIP(text);
  return family === 4 || family === 6 ? { host: text, family } : undefined;
}

function endpoint(host: string, port: number): string {
  return canonicalEndpoint(formatEndpoint({ host, port }));
}

/** An integer in [min, max], or undefined with a problem naming the keyword. */
function intArg(st: Statement, problem: Report, min: number, max: number, index = 0): number | undefined {
  const w = st.args[index];
  if (!w) {
    problem(st.line, `${st.keyword} needs a value: ignored`);
    return undefined;
  }
  if (!/^-?\d+$/.test(w.text)) {
    problem(st.line, `${st.keyword} ${w.text} is not a whole number: ignored`);
    return undefined;
  }
  const v = Number(w.text);
  if (v < min || v > max) {
    problem(st.line, `${st.keyword} ${w.text} is out of range ${min}..${max}: ignored`);
    return undefined;
  }
  extraArgs(st, problem, index + 1);
  return v;
}

/** Seconds, decimals allowed (keepalived 2 reads most times as decimals), in [min, max]. */
function secondsArg(st: Statement, problem: Report, min: number, max: number): number | undefined {
  const w = st.args[0];
  if (!w) {
    problem(st.line, `${st.keyword} needs a value: ignored`);
    return undefined;
  }
  if (!/^\d+(\.\d+)?$/.test(w.text)) {
    problem(st.line, `${st.keyword} ${w.text} is not a number of seconds: ignored`);
    return undefined;
  }
  const v = Number(w.text);
  if (v < min || v > max) {
    problem(st.line, `${st.keyword} ${w.text} is out of range ${min}..${max} seconds: ignored`);
    return undefined;
  }
  extraArgs(st, problem, 1);
  return v;
}

/** keepalived's optional boolean argument (`inhibit_on_failure [true|false]`). */
function flagArg(st: Statement, problem: Report): boolean | undefined {
  const w = st.args[0];
  if (!w) return true;
  const v = w.text.toLowerCase();
  if (["true", "yes", "on"].includes(v)) return true;
  if (["false", "no", "off"].includes(v)) return false;
  problem(st.line, `${st.keyword} ${w.text}: expected true or false: ignored`);
  return undefined;
}

function textArg(st: Statement, problem: Report): string | undefined {
  const w = st.args[0];
  if (!w) {
    problem(st.line, `${st.keyword} needs a value: ignored`);
    return undefined;
  }
  extraArgs(st, problem, 1);
  return w.text;
}

function extraArgs(st: Statement, problem: Report, from: number): void {
  if (st.args.length > from)
    problem(
      st.line,
      `${st.keyword}: ${st.args
        .slice(from)
        .map((a) => a.text)
        .join(" ")} is not understood: ignored`,
    );
}

function noBlock(st: Statement, problem: Report): void {
  if (st.block) problem(st.line, `${st.keyword} takes no { } block: its contents are ignored`);
}

function portArg(w: Word | undefined, line: number, what: string, problem: Report): number | undefined {
  if (!w) return undefined;
  if (!/^\d{1,5}$/.test(w.text) || Number(w.text) < 1 || Number(w.text) > 65535) {
    problem(line, `${what}: port ${w.text} is out of range 1..65535`);
    return Number.NaN;
  }
  return Number(w.text);
}

/** A netmask (255.255.255.0) or a prefix length (24, 64) as a prefix length. */
function prefixLength(text: string): number | undefined {
  if (/^\d{1,3}$/.test(text)) {
    const n = Number(text);
    return n <= 128 ? n : undefined;
  }
  if (isIP(text) !== 4) return undefined;
  const bits = text
    .split(".")
    .map((o) => Number(o).toString(2).padStart(8, "0"))
    .join("");
  return /^1*0*$/.test(bits) ? bits.indexOf("0") < 0 ? 32 : bits.indexOf("0") : undefined;
}

function forwardWord(st: Statement, problem: Report): ForwardMethod | undefined {
  const w = st.args[0]?.text;
  // FNAT: the lb_kind of Alibaba's keepalived for its FULLNAT IPVS patch.
  const m: Record<string, ForwardMethod> = { NAT: "nat", DR: "dr", TUN: "tun", FNAT: "fullnat" };
  const f = w ? m[w.toUpperCase()] : undefined;
  if (!f) {
    problem(st.line, `${st.keyword} ${w ?? ""}: expected NAT, DR, TUN or FNAT: ignored`);
    return undefined;
  }
  if (st.args.length > 1)
    problem(
      st.line,
      `${st.keyword} ${w}: tunnel options ${st.args
        .slice(1)
        .map((a) => a.text)
        .join(" ")} are not imported`,
    );
  if (f !== "nat")
    problem(st.line, `${st.keyword} ${w} imports as forward: ${f}, which needs the kernel engine: the userspace engine refuses such a service`);
  return f;
}

/** Settings shared by virtual servers, real servers and checkers; true when `st` was one of them. */
function readInherited(st: Statement, into: Inherited, problem: Report): boolean {
  switch (st.keyword) {
    case "delay_loop": {
      const v = secondsArg(st, problem, 0.1, 3600);
      if (v !== undefined) into.delayLoop = v;
      return true;
    }
    case "connect_timeout": {
      const v = secondsArg(st, problem, 0.05, 300);
      if (v !== undefined) into.connectTimeout = v;
      return true;
    }
    case "retry":
    case "nb_get_retry": {
      const v = intArg(st, problem, 0, 99);
      if (v !== undefined) into.retry = v;
      return true;
    }
    case "delay_before_retry": {
      const v = secondsArg(st, problem, 0.1, 3600);
      if (v !== undefined) into.delayBeforeRetry = v;
      return true;
    }
    case "alpha": {
      const v = flagArg(st, problem);
      if (v !== undefined) into.alpha = v;
      return true;
    }
    case "warmup":
      problem(st.line, "warmup is not imported: Director already spreads first checks over the interval");
      return true;
    case "smtp_alert":
      problem(st.line, "smtp_alert is not imported: Director sends no e-mail alerts (its events carry the changes)");
      return true;
    case "log_all_failures":
      problem(st.line, "log_all_failures is not imported: Director logs health state changes");
      return true;
    default:
      return false;
  }
}

// ---- virtual_server_group

function readGroup(st: Statement, groups: Map<string, Group>, problem: Report): void {
  const name = st.args[0]?.text;
  if (!name) {
    problem(st.line, "virtual_server_group needs a name: skipped");
    return;
  }
  if (groups.has(name)) {
    problem(st.line, `virtual_server_group ${name} is defined again: this definition is skipped`);
    return;
  }
  const g: Group = { line: st.line, used: false, targets: [] };
  groups.set(name, g);
  if (!st.block) {
    problem(st.line, `virtual_server_group ${name} has no { } block of members`);
    return;
  }
  for (const m of st.block) {
    if (m.keyword === "fwmark") {
      problem(m.line, `fwmark ${m.args[0]?.text ?? ""} in virtual_server_group ${name} is not imported: fwmark services need the kernel engine`);
      continue;
    }
    noBlock(m, problem);
    const where = `virtual_server_group ${name} member ${m.keyword}`;
    const port = portArg(m.args[0], m.line, where, problem);
    if (port === undefined) {
      problem(m.line, `${where} has no port: a port-less service (persistence on every port) is not supported: skipped`);
      continue;
    }
    if (Number.isNaN(port)) continue;
    extraArgs(m, problem, 1);
    const hosts = expandRange(m.keyword);
    if (typeof hosts === "string") {
      problem(m.line, `${where}: ${hosts}: skipped`);
      continue;
    }
    for (const h of hosts) g.targets.push({ ...h, port, line: m.line });
  }
}

/** "192.168.1.1-10" → 10 addresses; "ae00::2-9" → 8 (the last IPv6 group is hex); a plain address → itself. */
function expandRange(text: string): Address[] | string {
  const single = parseAddress(text);
  if (single) return [single];
  const dash = text.lastIndexOf("-");
  const first = dash > 0 ? parseAddress(text.slice(0, dash)) : undefined;
  if (!first) return `"${text}" is not an IP address or range`;
  const endText = text.slice(dash + 1);
  if (first.family === 4) {
    if (!/^\d{1,3}$/.test(endText)) return `range end "${endText}" is not a number 0..255`;
    const octets = first.host.split(".").map(Number);
    const from = octets[3]!;
    const to = Number(endText);
    if (to < from || to > 255) return `range ${from}-${to} is empty or past 255`;
    return Array.from({ length: to - from + 1 }, (_, k) => ({ host: [...octets.slice(0, 3), from + k].join("."), family: 4 as const }));
  }
  if (!/^[0-9a-f]{1,4}$/i.test(endText)) return `range end "${endText}" is not a hex group 0..ffff`;
  const full = new URL(`http://[${first.host}]/`).hostname.slice(1, -1);
  const colon = full.lastIndexOf(":");
  const prefix = full.slice(0, colon + 1);
  const from = Number.parseInt(full.slice(colon + 1) || "0", 16);
  const to = Number.parseInt(endText, 16);
  if (to < from) return `range ${from.toString(16)}-${endText} is empty`;
  return Array.from({ length: to - from + 1 }, (_, k) => ({ host: `${prefix}${(from + k).toString(16)}`, family: 6 as const }));
}

// ---- virtual_server

function readVirtualServer(st: Statement, groups: Map<string, Group>, problem: Report): VirtualServerDraft | undefined {
  const [a0, a1] = st.args;
  const label = blockName(st);
  if (a0?.text === "fwmark") {
    problem(st.line, `virtual_server fwmark ${a1?.text ?? ""} is not imported: fwmark services need the kernel engine`);
    return undefined;
  }
  if (!st.block) {
    problem(st.line, `${label} has no { } block: skipped`);
    return undefined;
  }
  const d: VirtualServerDraft = { line: st.line, label, fromGroup: false, targets: [], flags: {}, inherited: {}, realServers: [] };
  if (a0?.text === "group") {
    const g = a1 ? groups.get(a1.text) : undefined;
    if (!g) {
      problem(st.line, `virtual_server group ${a1?.text ?? ""}: no virtual_server_group of that name: skipped`);
      return undefined;
    }
    g.used = true;
    d.fromGroup = true;
    d.targets = g.targets;
    if (g.targets.length === 0) problem(st.line, `virtual_server group ${a1!.text}: the group has no address member to import`);
    extraArgs(st, problem, 2);
  } else {
    const addr = a0 ? parseAddress(a0.text) : undefined;
    if (!addr) {
      problem(st.line, `${label}: "${a0?.text ?? ""}" is not an IP address: skipped`);
      return undefined;
    }
    const port = portArg(a1, st.line, label, problem);
    if (port === undefined) {
      problem(st.line, `${label} has no port: a port-less service (persistence on every port) is not supported: skipped`);
      return undefined;
    }
    if (Number.isNaN(port)) return undefined;
    extraArgs(st, problem, 2);
    d.targets = [{ ...addr, port, line: st.line }];
  }

  let schedLine = st.line;
  for (const s of st.block) {
    if (readInherited(s, d.inherited, problem)) {
      noBlock(s, problem);
      continue;
    }
    switch (s.keyword) {
      case "real_server": {
        const rs = readRealServer(s, problem);
        if (rs) d.realServers.push(rs);
        break;
      }
      case "lb_algo":
      case "lvs_sched": {
        const v = s.args[0]?.text;
        if (v && (SCHEDULER_NAMES as readonly string[]).includes(v)) {
          d.scheduler = v as SchedulerName;
          schedLine = s.line;
          extraArgs(s, problem, 1);
        } else problem(s.line, `${s.keyword} ${v ?? ""}: not an IPVS scheduler Director has (${SCHEDULER_NAMES.join(" ")}): the default wlc is used`);
        break;
      }
      case "lb_kind":
      case "lvs_method": {
        const f = forwardWord(s, problem);
        if (f) d.forward = f;
        break;
      }
      case "protocol": {
        const v = s.args[0]?.text.toUpperCase();
        if (v === "TCP" || v === "UDP") {
          d.protocol = v === "TCP" ? "tcp" : "udp";
          extraArgs(s, problem, 1);
        } else if (v === "SCTP") {
          problem(s.line, `protocol SCTP: Director forwards TCP and UDP only: ${label} is skipped`);
          d.protocol = "none";
        } else problem(s.line, `protocol ${s.args[0]?.text ?? ""}: expected TCP or UDP: ignored`);
        break;
      }
      case "persistence_timeout":
        if (s.args.length === 0) d.persistence = KEEPALIVED.persistenceTimeout;
        else {
          const v = intArg(s, problem, 0, 31 * 24 * 3600);
          if (v !== undefined) d.persistence = v;
        }
        break;
      case "persistence_granularity": {
        const v = s.args[0]?.text;
        const len = v === undefined ? undefined : prefixLength(v);
        if (len === undefined) problem(s.line, `persistence_granularity ${v ?? ""}: expected a netmask (255.255.255.0) or a prefix length: ignored`);
        else d.granularity = { prefixLength: len, line: s.line };
        break;
      }
      case "persistence_engine":
        problem(s.line, `persistence_engine ${s.raw} is not imported: Director has no persistence engines (SIP Call-ID)`);
        break;
      case "ops":
        d.onePacket = s.line;
        break;
      case "sh-fallback":
      case "mh-fallback":
      case "flag-1":
        d.flags.fallback = { line: s.line, word: s.keyword };
        break;
      case "sh-port":
      case "mh-port":
      case "flag-2":
        d.flags.port = { line: s.line, word: s.keyword };
        break;
      case "flag-3":
        problem(s.line, "flag-3 means nothing to any IPVS scheduler: ignored");
        break;
      case "quorum": {
        const v = intArg(s, problem, 1, 2 ** 31 - 1);
        if (v !== undefined) d.quorum = { value: v, line: s.line };
        break;
      }
      case "hysteresis": {
        const v = intArg(s, problem, 0, 2 ** 31 - 1);
        if (v !== undefined) d.hysteresis = { value: v, line: s.line };
        break;
      }
      case "sorry_server": {
        const addr = s.args[0] ? parseAddress(s.args[0].text) : undefined;
        const port = portArg(s.args[1], s.line, "sorry_server", problem);
        if (!addr) problem(s.line, `sorry_server ${s.raw}: "${s.args[0]?.text ?? ""}" is not an IP address: ignored`);
        else if (!Number.isNaN(port)) d.sorry = { ...addr, port, line: s.line };
        extraArgs(s, problem, 2);
        break;
      }
      case "weight": {
        const v = intArg(s, problem, 0, 65535);
        if (v !== undefined) d.weight = v;
        break;
      }
      case "inhibit_on_failure": {
        const v = flagArg(s, problem);
        if (v !== undefined) d.inherited.inhibit = v;
        break;
      }
      case "virtualhost": {
        const v = textArg(s, problem);
        if (v !== undefined) d.inherited.virtualhost = v;
        break;
      }
      case "ip_family": {
        const v = s.args[0]?.text;
        const fam = v === "inet" ? 4 : v === "inet6" ? 6 : undefined;
        if (!fam) problem(s.line, `ip_family ${v ?? ""}: expected inet or inet6: ignored`);
        else if (d.targets.some((t) => t.family !== fam))
          problem(s.line, `ip_family ${v} does not match the virtual server's address family: the address wins`);
        break;
      }
      case "ha_suspend":
        problem(s.line, "ha_suspend is not imported: it follows VRRP address ownership (HA), which is not imported");
        break;
      case "omega":
      case "quorum_up":
      case "quorum_down":
        problem(s.line, `${s.keyword} is not imported: Director runs no scripts on quorum changes (its events report them)`);
        break;
      case "sorry_server_inhibit":
      case "sorry_server_lvs_method":
        problem(s.line, `${s.keyword} is not imported: Director's sorry server is an address only`);
        break;
      default:
        if (s.keyword in CHECKERS || s.keyword in UNSUPPORTED_CHECKERS)
          problem(s.line, `${s.keyword} directly in a virtual_server is not imported: keepalived checkers belong inside a real_server`);
        else unknown(s, "virtual_server", problem);
    }
  }

  if (d.protocol === "none") return undefined;
  if (d.protocol === undefined) problem(st.line, `${label} has no protocol: keepalived warns and uses UDP, so it is imported as UDP (add protocol TCP if TCP was meant)`);
  if (d.onePacket !== undefined && d.protocol !== "udp") {
    problem(d.onePacket, "ops (one-packet scheduling) is for UDP services only: ignored, as keepalived does");
    d.onePacket = undefined;
  }
  if (d.granularity && !d.persistence) {
    problem(d.granularity.line, "persistence_granularity without persistence_timeout has no effect: ignored");
    d.granularity = undefined;
  }
  for (const f of [d.flags.fallback, d.flags.port]) {
    if (f && d.scheduler !== "sh" && d.scheduler !== "mh") {
      problem(f.line, `${f.word} applies to the sh and mh schedulers only, not ${d.scheduler ?? "wlc"} (line ${schedLine}): ignored`);
      d.flags = {};
    }
  }
  if (d.realServers.length === 0) {
    problem(st.line, `${label} has no real_server: keepalived ignores such a virtual server, so it is not imported`);
    return undefined;
  }
  return d;
}

function unknown(st: Statement, where: string, problem: Report): void {
  problem(st.line, `${st.keyword}${st.block ? " { … }" : ""} in ${where} is not imported: unknown or unsupported keepalived keyword`);
}

// ---- real_server

function readRealServer(st: Statement, problem: Report): RealServerDraft | undefined {
  const label = blockName(st);
  const addr = st.args[0] ? parseAddress(st.args[0].text) : undefined;
  if (!addr) {
    problem(st.line, `${label}: "${st.args[0]?.text ?? ""}" is not an IP address: this real server is skipped`);
    return undefined;
  }
  const port = portArg(st.args[1], st.line, label, problem);
  if (Number.isNaN(port)) {
    problem(st.line, `${label}: this real server is skipped`);
    return undefined;
  }
  extraArgs(st, problem, 2);
  const rs: RealServerDraft = { ...addr, line: st.line, port, inherited: {}, skip: false };
  for (const s of st.block ?? []) {
    if (readInherited(s, rs.inherited, problem)) {
      noBlock(s, problem);
      continue;
    }
    switch (s.keyword) {
      case "weight": {
        const v = intArg(s, problem, 0, 65535);
        if (v === undefined) {
          problem(s.line, `${label} is skipped: its weight is not usable`);
          rs.skip = true;
        } else rs.weight = v;
        break;
      }
      case "uthreshold": {
        const v = intArg(s, problem, 0, 2 ** 31 - 1);
        if (v !== undefined) rs.upper = v;
        break;
      }
      case "lthreshold": {
        const v = intArg(s, problem, 0, 2 ** 31 - 1);
        if (v !== undefined) rs.lower = v;
        break;
      }
      case "inhibit_on_failure": {
        const v = flagArg(s, problem);
        if (v !== undefined) rs.inherited.inhibit = v;
        break;
      }
      case "virtualhost": {
        const v = textArg(s, problem);
        if (v !== undefined) rs.inherited.virtualhost = v;
        break;
      }
      case "lb_kind":
      case "lvs_method": {
        const f = forwardWord(s, problem);
        if (f) rs.forward = f;
        break;
      }
      case "notify_up":
      case "notify_down":
        problem(s.line, `${s.keyword} is not imported: Director runs no scripts on health changes (its events report them)`);
        break;
      default: {
        const type = CHECKERS[s.keyword];
        const unsupported = UNSUPPORTED_CHECKERS[s.keyword];
        if (unsupported) {
          problem(s.line, `${s.keyword} is not imported: ${unsupported}${rs.checker ? "" : "; the real server is imported without it"}`);
        } else if (type) {
          const c = readChecker(s, type, addr, problem);
          if (!c) break;
          if (rs.checker)
            problem(
              s.line,
              `${s.keyword} is not imported: Director runs one health check per real server (keepalived requires every checker to pass); the ${rs.checker.keyword} on line ${rs.checker.line} is kept`,
            );
          else rs.checker = c;
        } else unknown(s, "real_server", problem);
      }
    }
  }
  if (rs.upper !== undefined && rs.lower !== undefined && rs.upper > 0 && rs.lower > rs.upper) {
    problem(st.line, `${label}: lthreshold ${rs.lower} is above uthreshold ${rs.upper}: lthreshold ignored`);
    rs.lower = undefined;
  }
  return rs.skip ? undefined : rs;
}

// ---- checkers

function readChecker(st: Statement, type: CheckType, rs: Address, problem: Report): CheckerDraft | undefined {
  const c: CheckerDraft = { keyword: st.keyword, line: st.line, type, own: {}, fields: {} };
  if (!st.block) problem(st.line, `${st.keyword} has no { } block: keepalived's defaults are used`);
  let url: Statement | undefined;
  let requireReply = false;
  for (const s of st.block ?? []) {
    if (readInherited(s, c.own, problem)) {
      noBlock(s, problem);
      continue;
    }
    if (type !== "exec" && readConnection(s, c, rs, problem)) continue;
    switch (`${type === "https" ? "http" : type}:${s.keyword}`) {
      case "http:url":
        if (!s.block) problem(s.line, "url has no { } block: ignored");
        else if (!s.block.some((u) => u.keyword === "path")) problem(s.line, "url has no path: keepalived ignores such a url, and so does the import");
        else if (url) problem(s.line, `this url is not imported: Director checks one URL per real server (the url on line ${url.line})`);
        else url = s;
        break;
      case "http:virtualhost": {
        const v = textArg(s, problem);
        if (v !== undefined) c.fields.host = v;
        break;
      }
      case "http:enable_sni": {
        const v = flagArg(s, problem);
        if (v !== undefined) c.enableSni = v;
        break;
      }
      case "http:http_protocol":
      case "http:fast_recovery":
        problem(s.line, `${s.keyword} is not imported: Director's HTTP check has no such option`);
        break;
      case "smtp:helo_name": {
        const v = textArg(s, problem);
        if (v !== undefined) c.fields.helo = v;
        break;
      }
      case "smtp:host":
        readSmtpHost(s, c, rs, problem);
        break;
      case "udp:payload":
      case "udp:require_reply": {
        if (s.keyword === "require_reply") requireReply = true;
        if (s.args.length === 0) {
          if (s.keyword === "payload") problem(s.line, "payload needs a hex string: ignored");
          break;
        }
        const bytes = hexText(s.args.map((a) => a.text).join(""));
        if (typeof bytes !== "string" || bytes.length > 1400) {
          problem(s.line, `${s.keyword} ${s.raw}: ${typeof bytes === "string" ? "longer than 1400 bytes" : bytes.error}: ignored`);
          break;
        }
        if (s.keyword === "payload") c.fields.payload = bytes;
        else c.fields.expect = `^${bytes.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&")}`;
        break;
      }
      case "udp:min_reply_length":
      case "udp:max_reply_length":
        problem(s.line, `${s.keyword} is not imported: Director's UDP check matches the reply with a pattern instead`);
        break;
      case "dns:type": {
        const v = s.args[0]?.text.toUpperCase();
        if (v && (DNS_TYPES as readonly string[]).includes(v)) c.fields.recordType = v as DnsType;
        else problem(s.line, `type ${s.args[0]?.text ?? ""}: expected one of ${DNS_TYPES.join(" ")}: ignored`);
        break;
      }
      case "dns:name": {
        const v = textArg(s, problem);
        if (v !== undefined && v.length >= 1 && v.length <= 255) c.fields.name = v;
        else if (v !== undefined) problem(s.line, "name is longer than 255 characters: ignored");
        break;
      }
      case "exec:misc_path":
        readMiscPath(s, c, problem);
        break;
      case "exec:misc_timeout": {
        const v = intArg(s, problem, 0, 300);
        if (v) c.miscTimeout = v;
        break;
      }
      case "exec:misc_dynamic": {
        const v = flagArg(s, problem);
        if (v !== undefined) c.fields.dynamic = v;
        break;
      }
      case "exec:user": {
        const v = s.args[0]?.text;
        if (!v || v.length > 64) problem(s.line, `user ${v ?? ""}: expected a user name of at most 64 characters: ignored`);
        else c.fields.user = v;
        if (s.args[1]) problem(s.line, `user ${v} ${s.args[1].text}: the group is not imported: the user's own group is used`);
        extraArgs(s, problem, 2);
        break;
      }
      default:
        unknown(s, st.keyword, problem);
    }
  }

  if (type === "http" || type === "https") {
    if (!url) {
      problem(st.line, `${st.keyword} has no usable url: keepalived ignores such a checker, so the real server is imported without a health check`);
      return undefined;
    }
    readUrl(url, c, problem);
  }
  if (type === "udp" && !requireReply)
    problem(
      st.line,
      "UDP_CHECK without require_reply passes in keepalived unless an ICMP error comes back; Director's UDP check needs a reply",
    );
  if (type === "dns") {
    c.fields.name ??= ".";
    c.fields.recordType ??= "SOA";
  }
  if (type === "exec" && !c.fields.command) {
    problem(st.line, "MISC_CHECK has no usable misc_path: keepalived skips such a checker, so the real server is imported without a health check");
    return undefined;
  }
  return c;
}

/** connect_ip, connect_port, bindto, … (keepalived's conn_opts); true when `s` was one of them. */
function readConnection(s: Statement, c: CheckerDraft, rs: Address, problem: Report): boolean {
  switch (s.keyword) {
    case "connect_port": {
      const v = intArg(s, problem, 1, 65535);
      if (v !== undefined) c.port = v;
      return true;
    }
    case "connect_ip": {
      const a = s.args[0] ? parseAddress(s.args[0].text) : undefined;
      if (!a || canonicalHost(a) !== canonicalHost(rs))
        problem(s.line, `connect_ip ${s.raw} is not imported: Director checks the real server's own address (${rs.host})`);
      return true;
    }
    case "bindto":
    case "bind_port":
    case "bind_if":
      problem(s.line, `${s.keyword} ${s.raw} is not imported: Director's checks use the host's default source address`);
      return true;
    case "fwmark":
      problem(s.line, `fwmark ${s.raw} on a checker is not imported: Director does not mark check traffic`);
      return true;
    default:
      return false;
  }
}

function canonicalHost(a: Address): string {
  return a.family === 6 ? new URL(`http://[${a.host}]/`).hostname : a.host;
}

/** SMTP_CHECK host { connect_ip … }: the one for the real server itself gives its connect_port; others are reported. */
function readSmtpHost(s: Statement, c: CheckerDraft, rs: Address, problem: Report): void {
  const ip = s.block?.find((h) => h.keyword === "connect_ip");
  const a = ip?.args[0] ? parseAddress(ip.args[0].text) : undefined;
  if (ip && (!a || canonicalHost(a) !== canonicalHost(rs))) {
    problem(s.line, `SMTP_CHECK host ${ip.raw} is not imported: Director checks the real server's own address (${rs.host})`);
    return;
  }
  for (const h of s.block ?? []) {
    if (h.keyword === "connect_ip") continue;
    if (!readConnection(h, c, rs, problem)) unknown(h, "SMTP_CHECK host", problem);
  }
}

function readUrl(url: Statement, c: CheckerDraft, problem: Report): void {
  for (const u of url.block ?? []) {
    switch (u.keyword) {
      case "path": {
        const v = textArg(u, problem);
        if (v === undefined) break;
        if (!v.startsWith("/") || v.length > 2048) problem(u.line, `path ${v}: expected an absolute path (/…) of at most 2048 characters: / is used`);
        else c.fields.path = v;
        break;
      }
      case "digest": {
        const v = textArg(u, problem);
        if (v !== undefined && /^[0-9a-f]{32}$/i.test(v)) c.fields.digest = v.toLowerCase();
        else if (v !== undefined) problem(u.line, `digest ${v}: expected 32 hex characters (MD5): ignored`);
        break;
      }
      case "status_code": {
        const codes: string[] = [];
        for (const w of u.args) {
          const m = /^(\d{3})(?:-(\d{3}))?$/.exec(w.text);
          const lo = m ? Number(m[1]) : 0;
          const hi = m?.[2] ? Number(m[2]) : lo;
          if (!m || lo < 100 || hi > 599 || lo > hi) problem(u.line, `status_code ${w.text}: expected a code or range within 100-599: ignored`);
          else codes.push(w.text);
        }
        if (codes.length > 32) problem(u.line, "status_code: more than 32 codes and ranges: the first 32 are kept");
        if (codes.length) c.fields.expectStatus = codes.slice(0, 32);
        break;
      }
      case "virtualhost": {
        const v = textArg(u, problem);
        if (v !== undefined) c.urlHost = v;
        break;
      }
      case "regex": {
        const v = textArg(u, problem);
        if (v === undefined) break;
        try {
          new RegExp(v);
          if (v.length > 1024) throw new Error("too long");
          c.fields.bodyRegex = v;
        } catch {
          problem(u.line, `regex ${v}: not a regular expression Director can use (JavaScript syntax, at most 1024 characters): ignored`);
        }
        break;
      }
      default:
        if (u.keyword.startsWith("regex_")) problem(u.line, `${u.keyword} is not imported: Director's bodyRegex has no such option`);
        else unknown(u, "url", problem);
    }
  }
  c.fields.expectStatus ??= ["200-299"];
}

function hexText(hex: string): string | { error: string } {
  if (!/^([0-9a-f]{2})+$/i.test(hex)) return { error: "expected pairs of hex digits" };
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(hex, "hex"));
  } catch {
    return { error: "these bytes are not UTF-8 text, which is what Director's UDP check sends and matches" };
  }
}

function readMiscPath(s: Statement, c: CheckerDraft, problem: Report): void {
  // `misc_path "/bin/check arg1 arg2"` (one quoted word) is the program and its arguments, as keepalived reads it.
  const only = s.args.length === 1 ? s.args[0] : undefined;
  const line = only?.quoted ? only.text : s.raw;
  const split = splitCommand(line);
  if (split.error) {
    problem(s.line, `misc_path ${s.raw}: ${split.error}: ignored`);
    return;
  }
  if (split.words.length === 0 || split.words.length > 64 || split.words.some((w) => w.length > 4096)) {
    problem(s.line, "misc_path: expected a program and at most 63 arguments: ignored");
    return;
  }
  if (split.operators.length)
    problem(
      s.line,
      `misc_path contains ${split.operators.join(" ")}, which only a shell interprets: no shell runs it, they reach the program as plain arguments (write a script, or sh -c "…" if a shell is meant)`,
    );
  if (split.words.slice(1).some((w) => /%[hp]/.test(w)))
    problem(s.line, "misc_path: %h and %p in the arguments become the real server's host and port in Director");
  c.fields.command = split.words;
}

// ---- materializing: one virtual service per target address

function materialize(d: VirtualServerDraft, t: Target, problem: Report): VirtualServiceInput | undefined {
  const address = endpoint(t.host, t.port);
  const realServers: RealServerInput[] = [];
  const seen = new Set<string>();
  for (const rs of d.realServers) {
    if (rs.family !== t.family) {
      problem(rs.line, `real_server ${rs.host} is IPv${rs.family} but the virtual server ${address} is IPv${t.family}: skipped there`);
      continue;
    }
    const forward = rs.forward ?? d.forward ?? "nat";
    let port = rs.port ?? t.port;
    if (forward !== "nat" && rs.port !== undefined && rs.port !== t.port) {
      problem(rs.line, `real_server ${rs.host} ${rs.port}: with ${forward} the real server's port must be the virtual server's (${t.port}): keepalived resets it, and so does the import`);
      port = t.port;
    }
    const rsAddress = endpoint(rs.host, port);
    if (seen.has(rsAddress)) {
      problem(rs.line, `real_server ${rsAddress} appears twice in ${d.label}: the second is skipped, as keepalived does`);
      continue;
    }
    const spec: RealServerInput = { address: rsAddress, weight: rs.weight ?? d.weight ?? 1, forward };
    if (rs.upper) spec.upperThreshold = rs.upper;
    if (rs.lower) spec.lowerThreshold = rs.lower;
    if (rs.checker) {
      const hc = buildCheck(rs.checker, rs.inherited, d.inherited);
      const ok = HealthCheck.safeParse(hc);
      if (ok.success) spec.healthCheck = hc;
      else problem(rs.checker.line, `${rs.checker.keyword} is not imported (${formatIssues(ok.error).join("; ")}): the real server has no health check`);
    }
    const valid = RealServerSpec.safeParse(spec);
    if (!valid.success) {
      problem(rs.line, `real_server ${rsAddress} is skipped (${formatIssues(valid.error).join("; ")})`);
      continue;
    }
    seen.add(rsAddress);
    realServers.push(spec);
  }
  if (realServers.length === 0) {
    problem(t.line, `virtual server ${address}: no real server could be imported: skipped`);
    return undefined;
  }

  const vs: VirtualServiceInput = { protocol: d.protocol === "tcp" ? "tcp" : "udp", address };
  if (d.scheduler) vs.scheduler = d.scheduler;
  const flags: SchedulerFlag[] = [];
  if (d.scheduler === "sh" || d.scheduler === "mh") {
    if (d.flags.fallback) flags.push(`${d.scheduler}-fallback`);
    if (d.flags.port) flags.push(`${d.scheduler}-port`);
  }
  if (flags.length) vs.schedulerFlags = flags;
  if (d.persistence) {
    vs.persistence = { timeout: d.persistence };
    const g = d.granularity;
    if (g && t.family === 4 && g.prefixLength > 32) problem(g.line, `persistence_granularity /${g.prefixLength} is longer than an IPv4 address: ignored for ${address}`);
    else if (g) vs.persistence.prefixLength = g.prefixLength;
  }
  if (d.onePacket !== undefined) vs.onePacket = true;

  if (d.quorum || d.hysteresis) {
    const total = realServers.reduce((sum, r) => sum + (r.weight ?? 1), 0);
    const line = (d.quorum ?? d.hysteresis)!.line;
    let minWeight = d.quorum?.value ?? 1;
    let hysteresis = d.hysteresis?.value ?? 0;
    if (minWeight > total && total > 0) {
      problem(line, `quorum ${minWeight} is above the total weight ${total} of the real servers: keepalived lowers it to ${total}, and so does the import`);
      minWeight = total;
    }
    if (hysteresis >= minWeight) {
      problem(d.hysteresis?.line ?? line, `hysteresis ${hysteresis} is not below quorum ${minWeight}: keepalived lowers it to ${minWeight - 1}, and so does the import`);
      hysteresis = minWeight - 1;
    }
    vs.quorum = { minWeight, hysteresis };
  }

  if (d.sorry) {
    const s = d.sorry;
    const forward = d.forward ?? "nat";
    let port = s.port ?? t.port;
    if (forward !== "nat" && port !== t.port) {
      problem(s.line, `sorry_server port ${port}: with ${forward} it must be the virtual server's (${t.port}): keepalived resets it, and so does the import`);
      port = t.port;
    }
    const sorry = endpoint(s.host, port);
    if (s.family !== t.family) problem(s.line, `sorry_server ${s.host} is not of the address family of ${address}: ignored there`);
    else if (realServers.some((r) => r.address === sorry)) problem(s.line, `sorry_server ${sorry} is also a real server of ${address}: ignored`);
    else vs.sorryServer = sorry;
  }
  vs.realServers = realServers;

  const valid = VirtualServiceSpec.safeParse(vs);
  if (!valid.success) {
    problem(t.line, `virtual server ${address} is skipped (${formatIssues(valid.error).join("; ")})`);
    return undefined;
  }
  return vs;
}

function buildCheck(c: CheckerDraft, rs: Inherited, vs: Inherited): HealthCheckInput {
  const pick = <K extends keyof Inherited>(k: K): Inherited[K] => c.own[k] ?? rs[k] ?? vs[k];
  const interval = pick("delayLoop") ?? KEEPALIVED.delayLoop;
  const retry = pick("retry") ?? (c.type === "exec" ? 0 : c.type === "dns" ? 3 : KEEPALIVED.retry);
  const delayBeforeRetry = pick("delayBeforeRetry") ?? (c.type === "dns" ? undefined : KEEPALIVED.delayBeforeRetry);
  const timeout = c.type === "exec" ? (c.miscTimeout ?? Math.min(interval, 300)) : (pick("connectTimeout") ?? KEEPALIVED.connectTimeout);
  const check: Record<string, unknown> = { type: c.type, interval, timeout, rise: 1, fall: retry + 1 };
  if (retry > 0 && delayBeforeRetry !== undefined) check.retryDelay = delayBeforeRetry;
  if (pick("alpha")) check.startState = "down";
  if (rs.inhibit ?? vs.inhibit) check.onFailure = "inhibit";
  if (c.port !== undefined) check.port = c.port;
  Object.assign(check, c.fields);
  if (c.type === "http" || c.type === "https") {
    const host = c.urlHost ?? (c.fields.host as string | undefined) ?? rs.virtualhost ?? vs.virtualhost;
    if (host !== undefined) check.host = host;
    if (c.type === "https" && c.enableSni && host !== undefined) check.sni = host;
  }
  return check as HealthCheckInput;
}
