/**
 * The forwarding engine interface. The service table owns virtual services, real servers and counters; an
 * engine only moves traffic for them. Two implementations plug in here: the userspace full proxy (VS/NAT in
 * user space, this package) and the nftables kernel engine (VS/NAT and VS/DR in the kernel, its own issue).
 */
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
 * Why a service's `localAddresses` cannot be used here (one is not an address of this host), or null. A connection
 * sourced from an address the host does not hold would never get its replies. 127.0.0.0/8 is the loopback's whole.
 */
export function refuseLocalAddresses(spec: VirtualServiceSpec, interfaces = os.networkInterfaces()): string | null {
  if (!spec.localAddresses) return null;
  const own = new Set(Object.values(interfaces).flatMap((list) => (list ?? []).map((a) => a.address)));
  const missing = spec.localAddresses.filter((a) => !own.has(a) && !a.startsWith("127."));
  if (missing.length === 0) return null;
  return `local address${missing.length > 1 ? "es" : ""} ${missing.join(", ")} ${missing.length > 1 ? "are not addresses" : "is not an address"} of this host (add ${missing.length > 1 ? "them" : "it"} to an interface first): connections from ${missing.length > 1 ? "them" : "it"} would get no replies`;
}

