/**
 * The declarative configuration: what the administrator wants. YAML on disk, JSON over the API, one zod schema.
 *
 * Words and defaults are IPVS's (ipvsadm(8), net/netfilter/ipvs/ip_vs_ctl.c):
 *  - scheduler default `wlc`, persistence timeout default 300 s, persistence netmask default /32 (/128 for IPv6);
 *  - weight 0..65535, default 1; weight 0 = quiesced (no new connections, existing ones continue);
 *  - upper/lower connection thresholds (-x/-y), 0 = no limit;
 *  - timeouts (`ipvsadm --set tcp tcpfin udp`): 900 s, 120 s, 300 s;
 *  - sysctls expire_nodest_conn and expire_quiescent_template, default off.
 * Every object is strict: an unknown key is an error, never silently ignored.
 */
import { z } from "zod";
import { canonicalEndpoint, EndpointString, parseEndpoint } from "./endpoint.js";
import { HealthCheck } from "./health.js";

export const SCHEDULER_NAMES = [
  "rr",
  "wrr",
  "lc",
  "wlc",
  "sed",
  "nq",
  "lblc",
  "lblcr",
  "dh",
  "sh",
  "mh",
  "fo",
  "ovf",
  "twos",
] as const;
export const SchedulerName = z.enum(SCHEDULER_NAMES);
export type SchedulerName = z.infer<typeof SchedulerName>;

/** ipvsadm -b: sh-fallback, sh-port, mh-fallback, mh-port (flag-1..3 are their raw aliases). */
export const SCHEDULER_FLAGS = ["sh-fallback", "sh-port", "mh-fallback", "mh-port"] as const;
export const SchedulerFlag = z.enum(SCHEDULER_FLAGS);
export type SchedulerFlag = z.infer<typeof SchedulerFlag>;

export const Protocol = z.enum(["tcp", "udp"]);
export type Protocol = z.infer<typeof Protocol>;

/**
 * ipvsadm -m (masquerading = NAT), -g (gatewaying = direct routing), -i (ipip = tunnel), and --fullnat (NAT of
 * both addresses, as Alibaba's FULLNAT patch for IPVS: the real server sees the director as the client, so it needs
 * no route back through the director). The userspace engine is a full proxy, so its NAT already is full NAT.
 */
export const ForwardMethod = z.enum(["nat", "dr", "tun", "fullnat"]);
export type ForwardMethod = z.infer<typeof ForwardMethod>;

export const AdminState = z.enum(["active", "draining", "maintenance"]);
export type AdminState = z.infer<typeof AdminState>;

export const EngineName = z.enum(["userspace", "kernel"]);
export type EngineName = z.infer<typeof EngineName>;

export const ProxyProtocol = z.enum(["none", "v1", "v2"]);
export type ProxyProtocol = z.infer<typeof ProxyProtocol>;

const Seconds = z.number().int().min(0).max(31 * 24 * 3600);

/** A Linux network interface name (IFNAMSIZ: at most 15 bytes), restricted to the characters names use in practice. */
export const InterfaceName = z
  .string()
  .regex(/^[\w.-]{1,15}$/, "an interface name is 1-15 letters, digits, _ . -")
  .refine((s) => s !== "." && s !== "..", "an interface name cannot be . or ..");

/** Drain options: "drain, wait until idle, then maintenance". */
export const DrainPlan = z.strictObject({
  /** Move to maintenance by itself when no connection is left. */
  thenMaintenance: z.boolean().default(false),
  /** Seconds after the drain started at which it moves to maintenance even with connections left. */
  deadlineSeconds: Seconds.optional(),
});
export type DrainPlan = z.infer<typeof DrainPlan>;

export const RealServerSpec = z.strictObject({
  address: EndpointString,
  weight: z.number().int().min(0).max(65535).default(1),
  forward: ForwardMethod.default("nat"),
  /** -x: upper connection threshold (active + inactive); 0 = none. */
  upperThreshold: z.number().int().min(0).max(2 ** 31 - 1).default(0),
  /** -y: lower connection threshold; 0 = 3/4 of the upper, as the kernel does. */
  lowerThreshold: z.number().int().min(0).max(2 ** 31 - 1).default(0),
  adminState: AdminState.default("active"),
  /** Only meaningful while draining. */
  drain: DrainPlan.optional(),
  /** Maintenance: close existing connections this many seconds after entering maintenance (absent = never). */
  maintenanceDeadlineSeconds: Seconds.optional(),
  /** A health check for this real server only (overrides the service's). */
  healthCheck: HealthCheck.optional(),
  /** Set by the agent: when the current drain or maintenance began (ms since the epoch), so deadlines survive a restart. */
  adminSince: z.number().int().min(0).optional(),
});
export type RealServerSpec = z.infer<typeof RealServerSpec>;
export type RealServerInput = z.input<typeof RealServerSpec>;

export const Persistence = z.strictObject({
  /** ipvsadm -p [timeout], default 300 s. */
  timeout: z.number().int().min(1).max(31 * 24 * 3600).default(300),
  /** ipvsadm -M: granularity of persistence, as a prefix length (32 = one client address). */
  prefixLength: z.number().int().min(0).max(128).default(32),
});
export type Persistence = z.infer<typeof Persistence>;

/**
 * Dynamic feedback load balancing (LVS, "Dynamic Feedback Load Balancing Scheduling"): every `interval` seconds
 * the director asks each real server's feedback agent (`director-feedback`) for its loads (each in [0, 1]),
 * adds the response time it measured itself, and computes AGG = Σ R_k · LOAD_k (the coefficients R sum to 1).
 * The weight moves by w += A · ∛(0.95 − AGG), bounded to [0, scale × configured weight]; a change smaller than
 * `threshold` is skipped so weights do not jitter.
 */
export const Feedback = z
  .strictObject({
    port: z.number().int().min(1).max(65535).default(9800),
    interval: z.number().min(0.2).max(3600).default(5),
    coefficients: z
      .strictObject({
        cpu: z.number().min(0).max(1).default(0.1),
        memory: z.number().min(0).max(1).default(0.3),
        swap: z.number().min(0).max(1).default(0.1),
        disk: z.number().min(0).max(1).default(0.1),
        responseTime: z.number().min(0).max(1).default(0.4),
      })
      .default({ cpu: 0.1, memory: 0.3, swap: 0.1, disk: 0.1, responseTime: 0.4 }),
    /** A: how fast weights move. */
    adjust: z.number().min(0).max(1000).default(5),
    /** SCALE: a weight never exceeds scale × the configured weight. */
    scale: z.number().min(1).max(100).default(10),
    /** Skip a change smaller than this (in weight units). */
    threshold: z.number().min(0).max(65535).default(1),
    /** The response time that counts as full load (LOAD = measured / reference, at most 1). */
    responseTimeReferenceMs: z.number().min(1).max(60000).default(200),
  })
  .superRefine((f, ctx) => {
    const c = f.coefficients;
    const sum = c.cpu + c.memory + c.swap + c.disk + c.responseTime;
    if (Math.abs(sum - 1) > 1e-6) ctx.addIssue({ code: "custom", path: ["coefficients"], message: `coefficients must sum to 1 (they sum to ${sum.toFixed(3)})` });
  });
export type Feedback = z.infer<typeof Feedback>;

export const VirtualServiceSpec = z
  .strictObject({
    /** A label for people; the key is protocol + address. */
    name: z.string().max(64).regex(/^[\w.@-]*$/, "name may hold letters, digits, . _ @ -").optional(),
    protocol: Protocol.default("tcp"),
    address: EndpointString,
    scheduler: SchedulerName.default("wlc"),
    schedulerFlags: z.array(SchedulerFlag).max(4).default([]),
    persistence: Persistence.optional(),
    /** -o: one-packet scheduling, UDP only. */
    onePacket: z.boolean().default(false),
    /** Send a PROXY protocol header to real servers so they see the client address. */
    proxyProtocol: ProxyProtocol.default("none"),
    engine: EngineName.default("userspace"),
    /** The health check of every real server that has none of its own; absent = no active checks. */
    healthCheck: HealthCheck.optional(),
    /**
     * keepalived quorum: the service is up while the total weight of available real servers is at least
     * minWeight; with hysteresis it goes down below minWeight − hysteresis and up again at minWeight + hysteresis.
     */
    quorum: z.strictObject({ minWeight: z.number().int().min(1).max(2 ** 31 - 1), hysteresis: z.number().int().min(0).max(2 ** 31 - 1).default(0) }).optional(),
    /** Takes new connections while the service is below quorum (or has no available real server). */
    sorryServer: EndpointString.optional(),
    /** Slow start: after a real server recovers, its weight ramps from 0 to its configured weight over this many seconds. */
    slowStartSeconds: z.number().int().min(0).max(3600).default(0),
    /**
     * Passive (in-band) health, Envoy-style outlier ejection: this many consecutive failed connections to a real
     * server eject it for baseEjectionSeconds × n (n = times ejected), at most maxEjectionSeconds; never more than
     * maxEjectionPercent of the pool, and never the last available real server.
     */
    feedback: Feedback.optional(),
    passiveHealth: z
      .strictObject({
        consecutiveFailures: z.number().int().min(1).max(1000).default(5),
        baseEjectionSeconds: z.number().int().min(1).max(3600).default(30),
        maxEjectionSeconds: z.number().int().min(1).max(86400).default(300),
        maxEjectionPercent: z.number().int().min(0).max(100).default(50),
      })
      .optional(),
    /**
     * Kernel engine, VS/NAT: seconds between counts of the service's connections in conntrack (absent = 2): they
     * are its ActiveConn/InActConn, and lc/wlc/sed/nq re-weight from them. The kernel engine cannot count per
     * connection; see packages/agent/src/engine/kernel/reweight.ts.
     */
    kernelReweightSeconds: z.number().min(0.5).max(3600).optional(),
    /**
     * Kernel engine, VS/DR: the director's network interface the VIP's packets arrive on (its netdev ingress hook).
     * Absent = the interface holding the VIP's address, or else the one the real servers are reached on (the
     * one-segment LVS-DR layout). See packages/agent/src/engine/kernel/dr.ts.
     */
    interface: InterfaceName.optional(),
    /**
     * The director's addresses that connections to the real servers leave from (the local addresses of IPVS
     * FULLNAT, keepalived's laddr group), taken in turn by each new connection. Kernel engine: for `forward:
     * fullnat` real servers (absent = the address of the interface toward the real server); each address carries
     * about 64,000 concurrent connections per real server address and port. Userspace engine: every connection
     * (absent = the address the kernel picks); each address carries one ephemeral port range of connections in all
     * (net.ipv4.ip_local_port_range, ~28,000 by default). IPv4; each must be an address of the director, and a
     * loopback one only toward real servers on loopback (checked when applied).
     */
    localAddresses: z.array(z.ipv4({ error: "a local address is an IPv4 address" })).min(1).max(64).optional(),
    realServers: z.array(RealServerSpec).max(10000).default([]),
  })
  .superRefine((vs, ctx) => {
    if (vs.localAddresses) {
      if (new Set(vs.localAddresses).size !== vs.localAddresses.length)
        ctx.addIssue({ code: "custom", path: ["localAddresses"], message: "a local address is listed twice" });
      if (vs.address.startsWith("["))
        ctx.addIssue({ code: "custom", path: ["localAddresses"], message: "local addresses are IPv4; this virtual service is IPv6" });
    }
    if (vs.interface !== undefined && vs.engine !== "kernel")
      ctx.addIssue({ code: "custom", path: ["interface"], message: "interface is for kernel-engine VS/DR services (engine: kernel)" });
    if (vs.onePacket && vs.protocol !== "udp")
      ctx.addIssue({ code: "custom", path: ["onePacket"], message: "one-packet scheduling (-o) is for UDP services only" });
    const seen = new Set<string>();
    vs.realServers.forEach((rs, i) => {
      if (seen.has(rs.address))
        ctx.addIssue({ code: "custom", path: ["realServers", i, "address"], message: `duplicate real server ${rs.address}` });
      seen.add(rs.address);
      if (rs.upperThreshold > 0 && rs.lowerThreshold > rs.upperThreshold)
        ctx.addIssue({
          code: "custom",
          path: ["realServers", i, "lowerThreshold"],
          message: `lower threshold ${rs.lowerThreshold} is above upper threshold ${rs.upperThreshold}`,
        });
      const vf = parseEndpoint(vs.address);
      const rf = parseEndpoint(rs.address);
      if (!("error" in vf) && !("error" in rf) && vf.family !== rf.family)
        ctx.addIssue({ code: "custom", path: ["realServers", i, "address"], message: "real server and VIP must be the same address family" });
    });
    if (vs.sorryServer && vs.realServers.some((r) => r.address === vs.sorryServer))
      ctx.addIssue({ code: "custom", path: ["sorryServer"], message: `sorry server ${vs.sorryServer} is also a real server of this service` });
    const len = vs.persistence?.prefixLength;
    if (len !== undefined && len > 32 && !vs.address.startsWith("["))
      ctx.addIssue({ code: "custom", path: ["persistence", "prefixLength"], message: "IPv4 persistence prefix length is at most 32" });
  });
export type VirtualServiceSpec = z.infer<typeof VirtualServiceSpec>;
export type VirtualServiceInput = z.input<typeof VirtualServiceSpec>;

/** ipvsadm --set tcp tcpfin udp (seconds). */
export const Timeouts = z.strictObject({
  tcp: z.number().int().min(1).max(31 * 24 * 3600).default(900),
  tcpFin: z.number().int().min(1).max(31 * 24 * 3600).default(120),
  udp: z.number().int().min(1).max(31 * 24 * 3600).default(300),
});
export type Timeouts = z.infer<typeof Timeouts>;

/** The IPVS sysctls that change connection semantics (Documentation/networking/ipvs-sysctl.rst). */
export const Sysctl = z.strictObject({
  /** Close connections of a removed real server instead of letting them finish. */
  expireNodestConn: z.boolean().default(false),
  /** Persistence templates of a quiesced (weight 0 / draining) real server expire instead of being honoured. */
  expireQuiescentTemplate: z.boolean().default(false),
});
export type Sysctl = z.infer<typeof Sysctl>;

export const AgentConfig = z
  .strictObject({
    api: z
      .strictObject({
        listen: EndpointString.default("127.0.0.1:9443"),
        tls: z.strictObject({ cert: z.string().min(1).max(4096), key: z.string().min(1).max(4096) }).optional(),
        /** Mutual TLS: clients must present a certificate signed by this CA (PEM file), besides their token. */
        clientCa: z.string().min(1).max(4096).optional(),
      })
      .default({ listen: "127.0.0.1:9443" }),
    timeouts: Timeouts.default({ tcp: 900, tcpFin: 120, udp: 300 }),
    sysctl: Sysctl.default({ expireNodestConn: false, expireQuiescentTemplate: false }),
    /**
     * Webhooks: events POSTed as JSON, signed with HMAC-SHA256 of "<timestamp>.<body>" (header
     * X-Director-Signature: sha256=<hex>), retried with exponential back-off. The secret is read from a file so it
     * never appears in the configuration, the API or the logs.
     */
    webhooks: z
      .array(
        z.strictObject({
          name: z.string().regex(/^[\w.@-]{1,64}$/, "a webhook name is 1-64 letters, digits, . _ @ -"),
          url: z.url({ protocol: /^https?$/, error: "a webhook URL is http:// or https://" }).max(2048),
          secretFile: z.string().min(1).max(4096),
          /** Event names to send (all when absent), e.g. ["health.changed", "quorum.lost"]. */
          events: z.array(z.string().max(64)).max(64).optional(),
          maxAttempts: z.number().int().min(1).max(20).default(6),
          timeoutMs: z.number().int().min(100).max(60000).default(5000),
        }),
      )
      .max(32)
      .default([]),
    /** SIGTERM: seconds to let connections finish before closing them. */
    shutdownGraceSeconds: z.number().int().min(0).max(3600).default(30),
    virtualServices: z.array(VirtualServiceSpec).max(10000).default([]),
  })
  .superRefine((cfg, ctx) => {
    // The management API never shares an address with a VIP (a VIP faces clients).
    if (cfg.virtualServices.some((v) => v.protocol === "tcp" && v.address === cfg.api.listen))
      ctx.addIssue({ code: "custom", path: ["api", "listen"], message: `the API address ${cfg.api.listen} is also a virtual service` });
    const seen = new Set<string>();
    cfg.virtualServices.forEach((vs, i) => {
      const key = serviceKey(vs);
      if (seen.has(key)) ctx.addIssue({ code: "custom", path: ["virtualServices", i, "address"], message: `duplicate virtual service ${key}` });
      seen.add(key);
    });
  });
export type AgentConfig = z.infer<typeof AgentConfig>;
export type AgentConfigInput = z.input<typeof AgentConfig>;

/** A virtual service is named by protocol + VIP:port, as ipvsadm does (-t / -u). */
export const ServiceKey = z.strictObject({ protocol: Protocol, address: EndpointString });
export type ServiceKey = z.infer<typeof ServiceKey>;

export function serviceKey(k: { protocol: Protocol; address: string }): string {
  return `${k.protocol}/${canonicalEndpoint(k.address)}`;
}

/** Formats zod issues as "path: message" lines, for people. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`);
}
