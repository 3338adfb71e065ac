/**
 * Endpoints: "address:port" strings as ipvsadm writes them ("10.0.0.1:80", "[2001:db8::1]:80").
 * Parsed once at the edge (config, API, CLI) into { host, port, family } so the engine never re-parses.
 */
import { isIP } from "node:net";
import { z } from "zod";

export interface Endpoint {
  host: string;
  port: number;
  family: 4 | 6;
}

/** Parses "1.2.3.4:80" or "[::1]:80". Port 0 is refused for real servers and VIPs alike (ipvsadm does too). */
export function parseEndpoint(text: string): Endpoint | { error: string } {
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0 || text[close + 1] !== ":") return { error: `"${text}" is not [IPv6]:port` };
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) return { error: `"${text}" has no port (expected address:port)` };
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  const family = isIP(host);
  if (family === 0) return { error: `"${host}" is not an IP address` };
  if (family === 6 && !text.startsWith("[")) return { error: `IPv6 address must be written [${host}]:port` };
  if (!/^\d{1,5}$/.test(portText)) return { error: `"${portText}" is not a port number` };
  const port = Number(portText);
  if (port < 1 || port > 65535) return { error: `port ${port} is out of range 1..65535` };
  return { host, port, family: family as 4 | 6 };
}

export function formatEndpoint(e: { host: string; port: number }): string {
  return e.host.includes(":") ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/** Canonical form, so "[::0001]:80" and "[::1]:80" are the same key. */
export function canonicalEndpoint(text: string): string {
  const e = parseEndpoint(text);
  if ("error" in e) return text;
  if (e.family === 4) return formatEndpoint(e);
  return formatEndpoint({ host: canonicalIPv6(e.host), port: e.port });
}

function canonicalIPv6(host: string): string {
  // URL does RFC 5952 canonicalisation for us.
  return new URL(`http://[${host}]/`).hostname.slice(1, -1);
}

/** zod schema for an "address:port" string; the error names what is wrong. */
export const EndpointString = z
  .string()
  .max(64)
  .superRefine((s, ctx) => {
    const e = parseEndpoint(s);
    if ("error" in e) ctx.addIssue({ code: "custom", message: e.error });
  })
  .transform((s) => canonicalEndpoint(s));
