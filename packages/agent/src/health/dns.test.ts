import dgram from "node:dgram";
import { HealthCheck } from "@director/model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dns } from "./dns.js";
import type { CheckTarget } from "./types.js";

const spec = (fields: Record<string, unknown>) => HealthCheck.parse({ type: "dns", ...fields }) as Extract<HealthCheck, { type: "dns" }>;

// A tiny authoritative server for example.com, written from RFC 1035 independently of the checker.

const A = 1;
const CNAME = 5;
const MX = 15;
const TXT = 16;
const AAAA = 28;

interface Query {
  id: number;
  flags: number;
  qdcount: number;
  name: string;
  type: number;
  klass: number;
  question: Buffer;
}

function parseQuery(msg: Buffer): Query {
  const labels: string[] = [];
  let at = 12;
  while (msg[at]! > 0) {
    labels.push(msg.toString("ascii", at + 1, at + 1 + msg[at]!));
    at += 1 + msg[at]!;
  }
  at += 1;
  return {
    id: msg.readUInt16BE(0),
    flags: msg.readUInt16BE(2),
    qdcount: msg.readUInt16BE(4),
    name: labels.join("."),
    type: msg.readUInt16BE(at),
    klass: msg.readUInt16BE(at + 2),
    question: msg.subarray(12, at + 4),
  };
}

function encodeName(name: string): Buffer {
  return Buffer.concat([...name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
}

/** A resource record whose owner is the question's name (compression pointer to offset 12). */
function record(type: number, rdata: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt32BE(60, 6);
  head.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rdata]);
}

function reply(q: Query, rcode: number, answers: Buffer[], id = q.id): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x8000 | 0x0400 | (q.flags & 0x0100) | 0x0080 | rcode, 2); // QR AA RD RA
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, q.question, ...answers]);
}

const ipv4 = (text: string) => Buffer.from(text.split(".").map(Number));

function answer(q: Query): Buffer[] {
  const key = `${q.name.toLowerCase()} ${q.type}`;
  switch (key) {
    case `www.example.com ${A}`:
      return [reply(q, 0, [record(A, ipv4("192.0.2.10")), record(A, ipv4("192.0.2.11"))])];
    case `alias.example.com ${A}`:
      return [reply(q, 0, [record(CNAME, encodeName("www.example.com")), record(A, ipv4("192.0.2.10"))])];
    case `v6.example.com ${AAAA}`:
      return [reply(q, 0, [record(AAAA, Buffer.from("20010db8000000000000000000000001", "hex"))])];
    case `mail.example.com ${MX}`:
      return [reply(q, 0, [record(MX, Buffer.concat([Buffer.from([0, 10]), encodeName("mx1.example.com")]))])];
    case `txt.example.com ${TXT}`:
      return [reply(q, 0, [record(TXT, Buffer.from("\x07v=spf1 \x04-all"))])];
    case `empty.example.com ${A}`:
      return [reply(q, 0, [])];
    case `broken.example.com ${A}`:
      return [reply(q, 2, [])];
    case `decoy.example.com ${A}`:
      return [reply(q, 0, [record(A, ipv4("198.51.100.1"))], q.id ^ 1), reply(q, 0, [record(A, ipv4("192.0.2.10"))])];
    case `wrongid.example.com ${A}`:
      return [reply(q, 0, [record(A, ipv4("192.0.2.10"))], q.id ^ 1)];
    default:
      return [reply(q, 3, [])];
  }
}

let server: dgram.Socket;
let target: CheckTarget;
const queries: Query[] = [];

beforeAll(async () => {
  server = dgram.createSocket("udp4");
  server.on("message", (msg, from) => {
    const q = parseQuery(msg);
    queries.push(q);
    for (const packet of answer(q)) server.send(packet, from.port, from.address);
  });
  await new Promise<void>((resolve) => server.bind(0, "127.0.0.1", resolve));
  target = { host: "127.0.0.1", port: server.address().port, family: 4 };
});
afterAll(() => server.close());

const check = (fields: Record<string, unknown>, ms = 1000) => dns(spec(fields))(target, AbortSignal.timeout(ms));

describe("dns (keepalived DNS_CHECK)", () => {
  it("sends one recursive IN question for the name and type", async () => {
    queries.length = 0;
    await check({ name: "www.example.com.", recordType: "AAAA" });
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatchObject({ flags: 0x0100, qdcount: 1, name: "www.example.com", type: AAAA, klass: 1 });
  });

  it("is up on NOERROR and counts the answers", async () => {
    expect(await check({ name: "www.example.com" })).toMatchObject({ ok: true, reason: "DNS NOERROR for www.example.com A, 2 answers" });
  });

  it("is up on NOERROR without answers when nothing is expected (as keepalived)", async () => {
    expect(await check({ name: "empty.example.com" })).toMatchObject({ ok: true, reason: "DNS NOERROR for empty.example.com A, 0 answers" });
  });

  it.each([
    { name: "nope.example.com", reason: "DNS NXDOMAIN for nope.example.com" },
    { name: "broken.example.com", reason: "DNS SERVFAIL for broken.example.com" },
  ])("is down on $reason", async ({ name, reason }) => {
    expect(await check({ name })).toMatchObject({ ok: false, reason });
  });

  it.each([
    { name: "www.example.com", expect: "192.0.2.11", ok: true, reason: "DNS www.example.com A has 192.0.2.11" },
    { name: "www.example.com", expect: "192.0.2.99", ok: false, reason: "DNS www.example.com A answers 192.0.2.10, 192.0.2.11, not 192.0.2.99" },
    { name: "alias.example.com", expect: "192.0.2.10", ok: true, reason: "DNS alias.example.com A has 192.0.2.10" },
    { name: "empty.example.com", expect: "192.0.2.10", ok: false, reason: "DNS no A answer for empty.example.com" },
    { name: "nope.example.com", expect: "192.0.2.10", ok: false, reason: "DNS NXDOMAIN for nope.example.com" },
  ])("A $name expecting $expect → ok=$ok", async ({ name, expect: want, ok, reason }) => {
    expect(await check({ name, expect: want })).toMatchObject({ ok, reason });
  });

  it("compares AAAA answers as addresses, not strings", async () => {
    const same = await check({ name: "v6.example.com", recordType: "AAAA", expect: "2001:DB8:0:0::0001" });
    expect(same).toMatchObject({ ok: true, reason: "DNS v6.example.com AAAA has 2001:DB8:0:0::0001" });
    const other = await check({ name: "v6.example.com", recordType: "AAAA", expect: "2001:db8::2" });
    expect(other).toMatchObject({ ok: false, reason: "DNS v6.example.com AAAA answers 2001:db8::1, not 2001:db8::2" });
  });

  it("refuses an expect that is not an address of the asked family, without sending", async () => {
    queries.length = 0;
    expect(await check({ name: "www.example.com", expect: "not-an-ip" })).toMatchObject({ ok: false, reason: 'expect "not-an-ip" is not an IPv4 address' });
    expect(queries).toHaveLength(0);
  });

  it("reads MX and TXT answers for expect", async () => {
    expect((await check({ name: "mail.example.com", recordType: "MX", expect: "MX1.example.com." })).ok).toBe(true);
    expect((await check({ name: "mail.example.com", recordType: "MX", expect: "10 mx1.example.com" })).ok).toBe(true);
    expect((await check({ name: "txt.example.com", recordType: "TXT", expect: "v=spf1 -all" })).ok).toBe(true);
  });

  it("ignores a reply with another id and takes the matching one (as keepalived)", async () => {
    expect(await check({ name: "decoy.example.com", expect: "192.0.2.10" })).toMatchObject({ ok: true });
  });

  it("times out in words when only replies with another id come", async () => {
    const outcome = await check({ name: "wrongid.example.com" }, 150);
    expect(outcome.ok).toBe(false);
    expect(outcome.reason).toMatch(/^timeout after \d+ ms with no DNS reply to query \d+ \(ignored 1 other datagram\)$/);
  });

  it("refuses a name with an empty label without sending", async () => {
    expect(await check({ name: "www..example.com" })).toMatchObject({ ok: false, reason: '"www..example.com" is not a DNS name (empty or over-long label)' });
  });
});
