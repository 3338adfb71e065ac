/**
 * Health checks: how the director decides a real server is available. Anchors: keepalived's checkers
 * (TCP_CHECK, HTTP_GET/SSL_GET with status_code/digest, UDP_CHECK, DNS_CHECK, SMTP_CHECK, MISC_CHECK),
 * HAProxy's agent-check, and their shared semantics: interval (delay_loop / inter), timeout, rise and fall
 * counts, delay before retry, start down until the first pass (keepalived `alpha`) or start up, and on failure
 * either remove the server from rotation or set its weight to 0 (`inhibit_on_failure`).
 */
import { z } from "zod";

const Common = {
  /** Seconds between checks (keepalived delay_loop, HAProxy inter). */
  interval: z.number().min(0.1).max(3600).default(2),
  /** Seconds before a check counts as failed. */
  timeout: z.number().min(0.05).max(300).default(1),
  /** Consecutive passes to become available. */
  rise: z.number().int().min(1).max(100).default(2),
  /** Consecutive failures to become unavailable. */
  fall: z.number().int().min(1).max(100).default(3),
  /** Seconds to the next check after a failure, instead of the interval (keepalived delay_before_retry). */
  retryDelay: z.number().min(0.1).max(3600).optional(),
  /** `down`: out of rotation until the first pass (keepalived alpha); `up`: in rotation until `fall` failures. */
  startState: z.enum(["up", "down"]).default("up"),
  /** Check this port instead of the real server's (keepalived connect_port). */
  port: z.number().int().min(1).max(65535).optional(),
  /** `remove`: out of rotation; `inhibit`: stays listed with weight 0 (keepalived inhibit_on_failure). */
  onFailure: z.enum(["remove", "inhibit"]).default("remove"),
};

/** HTTP status list: codes and ranges, "200", "200-299". */
const StatusList = z
  .array(z.string().regex(/^[1-5]\d\d(-[1-5]\d\d)?$/, 'status codes are "200" or ranges "200-399"'))
  .min(1)
  .max(32)
  .default(["200-399"]);

const HttpFields = {
  path: z.string().startsWith("/").max(2048).default("/"),
  /** Host header (virtualhost). */
  host: z.string().max(255).optional(),
  expectStatus: StatusList,
  /** A regular expression the body must match. */
  bodyRegex: z.string().max(1024).optional(),
  /** MD5 of the body, hex (keepalived `digest`). */
  digest: z.string().regex(/^[0-9a-f]{32}$/i, "digest is 32 hex characters (MD5)").optional(),
};

export const HealthCheck = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("tcp"), ...Common }),
  z.strictObject({ type: z.literal("http"), ...Common, ...HttpFields }),
  z.strictObject({
    type: z.literal("https"),
    ...Common,
    ...HttpFields,
    /** TLS server name. */
    sni: z.string().max(255).optional(),
    /** Verify the certificate chain and name. */
    verify: z.boolean().default(false),
  }),
  z.strictObject({
    type: z.literal("udp"),
    ...Common,
    /** Payload to send (UTF-8). */
    payload: z.string().max(1400).default(""),
    /** A regular expression the reply must match; absent = any reply passes. */
    expect: z.string().max(1024).optional(),
  }),
  z.strictObject({
    type: z.literal("dns"),
    ...Common,
    name: z.string().min(1).max(255),
    recordType: z.enum(["A", "AAAA", "CNAME", "MX", "NS", "SOA", "TXT"]).default("A"),
    /** An answer that must be present (an address for A/AAAA); absent = any answer with NOERROR passes. */
    expect: z.string().max(255).optional(),
  }),
  z.strictObject({
    type: z.literal("smtp"),
    ...Common,
    /** Name given in HELO. */
    helo: z.string().max(255).default("director"),
  }),
  z.strictObject({
    type: z.literal("exec"),
    ...Common,
    /** Program and arguments: an argument array, never a shell string. `%h` and `%p` become host and port. */
    command: z.array(z.string().max(4096)).min(1).max(64),
    /** Run as this user when the agent runs as root. */
    user: z.string().max(64).optional(),
    /** keepalived MISC_CHECK `misc_dynamic`: exit 2..255 sets weight = code - 2. */
    dynamic: z.boolean().default(false),
  }),
  z.strictObject({
    type: z.literal("agent"),
    ...Common,
    /** HAProxy agent-check: the agent's port is required (it is not the service port). */
    port: z.number().int().min(1).max(65535),
    /** A line to send first (agent-send). */
    send: z.string().max(1024).optional(),
  }),
]);
export type HealthCheck = z.infer<typeof HealthCheck>;
export type HealthCheckInput = z.input<typeof HealthCheck>;
export type HealthCheckType = HealthCheck["type"];
