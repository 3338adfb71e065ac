/**
 * The forwarding engine interface. The service table owns virtual services, real servers and counters; an
 * engine only moves traffic for them. Two implementations plug in here: the userspace full proxy (VS/NAT in
 * user space, this package) and the nftables kernel engine (VS/NAT and VS/DR in the kernel, its own issue).
 */
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
