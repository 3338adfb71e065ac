/**
 * The forwarding engine interface. The service table owns virtual services, real servers and counters; an
 * engine only moves traffic for them. Two implementations plug in here: the userspace full proxy (VS/NAT in
 * user space, this package) and the nftables kernel engine (VS/NAT and VS/DR in the kernel, its own issue).
 */
import { execFileSync } from "node:child_process";
import os from "node:os";
import type { EngineName, Timeouts, VirtualServiceSpec } from "@director/model";
import type { Logger } from "pino";
import type { ConnectionTable } from "../conn/connection.js";
import type { TemplateTable } from "../conn/persistence.js";
import type { RealServer } from "../state/real-server.js";
import type { VirtualService } from "../state/virtual-service.js";

export interface EngineContext {
  table: ConnectionTable;
  templates: TemplateTable;
  now: () => number;
  timeouts: () => Timeouts;
  log: Logger;
  /** Listening sockets handed over by the previous agent process (seamless upgrade): service key → fd. */
  inherited?: Map<string, number>;
  /** A connection to a real server failed (passive health feeds on this). */
  onConnectFailed?: (vs: VirtualService, rs: RealServer, error: string) => void;
}

export interface Engine {
  readonly name: EngineName;
  /** Why this engine cannot forward this service (checked before any change is applied), or null. */
  refuse(spec: VirtualServiceSpec): string | null;
  /** Starts forwarding for a service (binds its VIP:port). */
  open(vs: VirtualService): Promise<void>;
  /** Service parameters changed; the listener and its connections stay. */
  update(vs: VirtualService): void;
  /** Stops accepting for a service; existing connections continue unless closed by the caller. */
  close(vs: VirtualService): Promise<void>;
  /** Stops accepting everywhere (shutdown). */
  closeAll(): Promise<void>;
}

/**
 * Why a service's `localAddresses` cannot be used here, or null: one is not an IPv4 address of this host (a
 * connection sourced from it would never get its replies), or is a loopback address while a real server is not on
 * loopback (127.0.0.0/8 never leaves the host).
 */
export function refuseLocalAddresses(spec: VirtualServiceSpec, own: ReadonlySet<string> = hostAddresses()): string | null {
  if (!spec.localAddresses) return null;
  const loopback = spec.localAddresses.filter((a) => a.startsWith("127."));
  const away = spec.realServers.find((rs) => !rs.address.startsWith("127."));
  if (loopback.length > 0 && away)
    return `local address ${loopback[0]} is a loopback address, which cannot reach real server ${away.address}`;
  const missing = spec.localAddresses.filter((a) => !own.has(a) && !a.startsWith("127."));
  if (missing.length === 0) return null;
  return `local address${missing.length > 1 ? "es" : ""} ${missing.join(", ")} ${missing.length > 1 ? "are not addresses" : "is not an address"} of this host (add ${missing.length > 1 ? "them" : "it"} to an interface first): connections from ${missing.length > 1 ? "them" : "it"} would get no replies`;
}

let cached: { at: number; addresses: Set<string> } | undefined;

/**
 * This host's IPv4 addresses (`ip -j -4 addr`: also those on interfaces without carrier, which
 * os.networkInterfaces() leaves out), read at most once a second.
 */
export function hostAddresses(): Set<string> {
  if (cached && Date.now() - cached.at < 1000) return cached.addresses;
  const addresses = new Set<string>();
  try {
    const links = JSON.parse(execFileSync("ip", ["-j", "-4", "addr", "show"], { encoding: "utf8", timeout: 5000 })) as { addr_info?: { local?: string }[] }[];
    for (const l of links) for (const a of l.addr_info ?? []) if (a.local) addresses.add(a.local);
  } catch {
    // No iproute2: what Node sees.
    for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) addresses.add(a.address);
  }
  cached = { at: Date.now(), addresses };
  return addresses;
}
