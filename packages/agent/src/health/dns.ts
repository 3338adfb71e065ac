/**
 * dns — keepalived DNS_CHECK: send one query (recursion desired, class IN, one question for `name` and
 * `recordType`) over UDP to the checked port and read the reply. As in keepalived, replies whose id differs from
 * the query's, or that are not responses (QR clear), are ignored and the check keeps waiting; a reply with an
 * RCODE other than NOERROR fails ("DNS NXDOMAIN for example.com"); NOERROR passes, with or without answers.
 *
 * Beyond keepalived: with `expect`, an answer of the asked type must equal it: the address for A/AAAA (compared
 * as addresses, so "2001:db8::1" equals "2001:DB8:0::1"), the target name for CNAME/NS (case-insensitive, final
 * dot ignored), the exchange (or "preference exchange") for MX, the primary server name for SOA, the joined
 * strings for TXT. A truncated reply (TC) is judged on what it holds; there is no retry over TCP.
 *
 * The packet is built and parsed here (RFC 1035 §4), names with compression pointers, bounds checked.
 */
import { randomInt } from "node:crypto";
import type { HealthCheck } from "@director/model";
import { runCheck } from "./tcp.js";
import type { CheckerFactory } from "./types.js";
import { exchangeUdp } from "./udp.js";

type DnsSpec = Extract<HealthCheck, { type: "dns" }>;
type RecordType = DnsSpec["recordType"];

const TYPE_CODES: Record<RecordType, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28 };
const RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"];

/** A query packet, or the words for why `name` cannot be one. */
export function buildQuery(id: number, name: string, type: RecordType): Buffer | string {
  const trimmed = name.endsWith(".") ? name.slice(0, -1) : name;
  const labels = trimmed === "" ? [] : trimmed.split(".").map((label) => Buffer.from(label, "utf8"));
  if (labels.some((label) => label.length === 0 || label.length > 63)) return `"${name}" is not a DNS name (empty or over-long label)`;
  const qnameLength = labels.reduce((n, label) => n + 1 + label.length, 1);
  if (qnameLength > 255) return `"${name}" is longer than 255 bytes`;
  const packet = Buffer.alloc(12 + qnameLength + 4);
  packet.writeUInt16BE(id, 0);
  packet.writeUInt16BE(0x0100, 2); // RD
  packet.writeUInt16BE(1, 4); // QDCOUNT
  let at = 12;
  for (const label of labels) {
    packet[at++] = label.length;
    at += label.copy(packet, at);
  }
  packet[at++] = 0;
  packet.writeUInt16BE(TYPE_CODES[type], at);
  packet.writeUInt16BE(1, at + 2); // IN
  return packet;
}

export interface DnsReply {
  id: number;
  response: boolean;
  truncated: boolean;
  rcode: number;
  /** Answer records as text (addresses, names, "10 mx.example.com", joined TXT strings), with their type code. */
  answers: { type: number; data: string }[];
}

class Malformed extends Error {}

function need(buf: Buffer, at: number, length: number): void {
  if (at + length > buf.length) throw new Malformed("reply shorter than its records");
}

/** Reads a possibly compressed name at `at`; returns it and where the record continues. */
function readName(buf: Buffer, at: number): { name: string; next: number } {
  const labels: string[] = [];
  let next = -1;
  for (let jumps = 0; ; ) {
    need(buf, at, 1);
    const length = buf[at]!;
    if (length === 0) {
      if (next < 0) next = at + 1;
      break;
    }
    if ((length & 0xc0) === 0xc0) {
      need(buf, at, 2);
      if (next < 0) next = at + 2;
      if (++jumps > 64) throw new Malformed("name compression loop");
      at = buf.readUInt16BE(at) & 0x3fff;
      continue;
    }
    if (length > 63) throw new Malformed("bad label");
    need(buf, at + 1, length);
    labels.push(buf.toString("latin1", at + 1, at + 1 + length));
    at += 1 + length;
  }
  return { name: labels.join("."), next };
}

function ipv6Text(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return canonicalIPv6(groups.join(":")) ?? groups.join(":");
}

/** An IPv6 address in its canonical text (RFC 5952, as the WHATWG URL parser writes it), or undefined. */
function canonicalIPv6(text: string): string | undefined {
  try {
    return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

/** Dotted-quad without leading-zero or octal surprises, or undefined. */
function canonicalIPv4(text: string): string | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number).join(".");
}

function rdataText(buf: Buffer, type: number, at: number, length: number): string {
  switch (type) {
    case 1:
      if (length !== 4) throw new Malformed("A record is not 4 bytes");
      return [...buf.subarray(at, at + 4)].join(".");
    case 28:
      if (length !== 16) throw new Malformed("AAAA record is not 16 bytes");
      return ipv6Text(buf.subarray(at, at + 16));
    case 2:
    case 5:
      return readName(buf, at).name;
    case 15:
      need(buf, at, 2);
      return `${buf.readUInt16BE(at)} ${readName(buf, at + 2).name}`;
    case 6:
      return readName(buf, at).name;
    case 16: {
      const strings: string[] = [];
      for (let p = at; p < at + length; ) {
        const n = buf[p]!;
        if (p + 1 + n > at + length) throw new Malformed("TXT string runs past its record");
        strings.push(buf.toString("utf8", p + 1, p + 1 + n));
        p += 1 + n;
      }
      return strings.join("");
    }
    default:
      return `type ${type}`;
  }
}

/** Parses a reply's header and answer section; throws Malformed on a packet that does not hold together. */
export function parseReply(buf: Buffer): DnsReply {
  need(buf, 0, 12);
  const flags = buf.readUInt16BE(2);
  const reply: DnsReply = {
    id: buf.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    truncated: (flags & 0x0200) !== 0,
    rcode: flags & 0x000f,
    answers: [],
  };
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  let at = 12;
  for (let i = 0; i < qdcount; i++) at = readName(buf, at).next + 4;
  for (let i = 0; i < ancount; i++) {
    if (at >= buf.length && reply.truncated) break;
    at = readName(buf, at).next;
    need(buf, at, 10);
    const type = buf.readUInt16BE(at);
    const length = buf.readUInt16BE(at + 8);
    at += 10;
    need(buf, at, length);
    reply.answers.push({ type, data: rdataText(buf, type, at, length) });
    at += length;
  }
  return reply;
}

const sameName = (a: string, b: string) => a.replace(/\.$/, "").toLowerCase() === b.replace(/\.$/, "").toLowerCase();

/** How an answer of `type` is compared with `expect`; undefined when `expect` cannot be of that type. */
function answerMatcher(type: RecordType, expect: string): ((data: string) => boolean) | undefined {
  switch (type) {
    case "A": {
      const want = canonicalIPv4(expect);
      return want === undefined ? undefined : (data) => data === want;
    }
    case "AAAA": {
      const want = expect.includes(":") ? canonicalIPv6(expect) : undefined;
      return want === undefined ? undefined : (data) => canonicalIPv6(data) === want;
    }
    case "MX":
      return (data) => sameName(data, expect) || sameName(data.slice(data.indexOf(" ") + 1), expect);
    case "TXT":
      return (data) => data === expect;
    default:
      return (data) => sameName(data, expect);
  }
}

export const dns: CheckerFactory<DnsSpec> = (spec) => {
  const { name, recordType } = spec;
  const typeCode = TYPE_CODES[recordType];
  const matches = spec.expect === undefined ? undefined : answerMatcher(recordType, spec.expect);
  return (target, signal) =>
    runCheck(signal, (run) => {
      if (spec.expect !== undefined && !matches) return run.finish(false, `expect "${spec.expect}" is not ${recordType === "A" ? "an IPv4" : "an IPv6"} address`);
      const id = randomInt(0, 0x10000);
      const query = buildQuery(id, name, recordType);
      if (typeof query === "string") return run.finish(false, query);
      let ignored = 0;
      run.phase = "with no DNS reply";
      exchangeUdp(target, run, query, (packet) => {
        let reply: DnsReply;
        try {
          if (packet.length < 12 || packet.readUInt16BE(0) !== id || (packet.readUInt16BE(2) & 0x8000) === 0) {
            ignored++;
            run.phase = `with no DNS reply to query ${id} (ignored ${ignored} other datagram${ignored === 1 ? "" : "s"})`;
            return;
          }
          reply = parseReply(packet);
        } catch (err) {
          return run.finish(false, `malformed DNS reply: ${err instanceof Error ? err.message : String(err)}`);
        }
        if (reply.rcode !== 0) return run.finish(false, `DNS ${RCODES[reply.rcode] ?? `RCODE ${reply.rcode}`} for ${name}`);
        const ofType = reply.answers.filter((a) => a.type === typeCode).map((a) => a.data);
        const tc = reply.truncated ? " (reply truncated)" : "";
        if (!matches) {
          return run.finish(true, `DNS NOERROR for ${name} ${recordType}, ${ofType.length} answer${ofType.length === 1 ? "" : "s"}${tc}`);
        }
        if (ofType.some(matches)) return run.finish(true, `DNS ${name} ${recordType} has ${spec.expect}`);
        if (ofType.length === 0) return run.finish(false, `DNS no ${recordType} answer for ${name}${tc}`);
        const shown = ofType.slice(0, 4).join(", ") + (ofType.length > 4 ? ", …" : "");
        run.finish(false, `DNS ${name} ${recordType} answers ${shown}, not ${spec.expect}${tc}`);
      });
    });
};
