/**
 * PROXY protocol headers (HAProxy's proxy-protocol.txt, versions 1 and 2), sent first on each connection to a
 * real server so it sees the client's address although the director is a full proxy (VS/NAT in user space).
 * Version 2 is also defined for datagrams (each datagram carries the header).
 */
import { isIPv4 } from "node:net";
import { parseIPv6 } from "../../scheduler/address.js";

export interface ProxyAddresses {
  family: 4 | 6;
  protocol: "tcp" | "udp";
  srcHost: string;
  srcPort: number;
  dstHost: string;
  dstPort: number;
}

export function proxyV1(a: ProxyAddresses): Buffer {
  const fam = a.family === 4 ? "TCP4" : "TCP6";
  return Buffer.from(`PROXY ${fam} ${a.srcHost} ${a.dstHost} ${a.srcPort} ${a.dstPort}\r\n`, "latin1");
}

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

export function proxyV2(a: ProxyAddresses): Buffer {
  const v4 = a.family === 4;
  const addrLen = v4 ? 12 : 36;
  const buf = Buffer.alloc(16 + addrLen);
  V2_SIGNATURE.copy(buf, 0);
  buf[12] = 0x21; // version 2, command PROXY
  buf[13] = (v4 ? 0x10 : 0x20) | (a.protocol === "tcp" ? 0x01 : 0x02);
  buf.writeUInt16BE(addrLen, 14);
  let o = 16;
  o = writeAddr(buf, o, a.srcHost, v4);
  o = writeAddr(buf, o, a.dstHost, v4);
  buf.writeUInt16BE(a.srcPort, o);
  buf.writeUInt16BE(a.dstPort, o + 2);
  return buf;
}

function writeAddr(buf: Buffer, o: number, host: string, v4: boolean): number {
  if (v4) {
    if (!isIPv4(host)) throw new Error(`not IPv4: ${host}`);
    for (const p of host.split(".")) buf[o++] = Number(p);
    return o;
  }
  const groups = parseIPv6(host);
  if (!groups) throw new Error(`not IPv6: ${host}`);
  for (const g of groups) {
    buf.writeUInt16BE(g, o);
    o += 2;
  }
  return o;
}
