/**
 * The scheduler interface, after the kernel's `struct ip_vs_scheduler` (include/net/ip_vs.h):
 * a per-service instance built by its factory (init_service), told when the destination list or a
 * destination's weight/availability changes (add_dest/del_dest/upd_dest collapsed into `update`), told when a
 * destination's connection counters or overload flag change (`changed`, so load-based schedulers can keep an
 * index instead of scanning), and asked to `pick` a destination for a new connection or return null.
 *
 * The scheduler reads counters and flags; it never writes them. The connection table owns them.
 */
import type { Protocol, SchedulerFlag, SchedulerName } from "@director/model";

/** A destination (real server) as a scheduler sees it: the kernel's `struct ip_vs_dest`, reduced. */
export interface Dest {
  /** Position in configuration order; ties go to the lowest. */
  readonly index: number;
  /** "host:port" / "[v6]:port", canonical. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
  /** Effective weight (0 = quiesced: no new connections). */
  readonly weight: number;
  readonly activeConns: number;
  readonly inactiveConns: number;
  /** False while the real server is out of rotation (maintenance, failed health check). */
  readonly available: boolean;
  /** Set by the connection table when -x is reached, cleared below -y (hysteresis). */
  readonly overloaded: boolean;
}

/** The packet (connection) being scheduled: what the kernel reads from the skb. */
export interface Flow {
  protocol: Protocol;
  family: 4 | 6;
  clientHost: string;
  clientPort: number;
  vHost: string;
  vPort: number;
}

export interface SchedulerOptions {
  flags: readonly SchedulerFlag[];
  /** Milliseconds; injected so expiry (lblc/lblcr) is testable without sleeping. */
  now: () => number;
  /** [0, 1); injected for twos. */
  random: () => number;
}

export interface Scheduler {
  readonly name: SchedulerName;
  /** The destination list (configuration order), or a weight/availability in it, changed. */
  update(dests: readonly Dest[]): void;
  /** A destination's activeConns/inactiveConns/overloaded changed. */
  changed(dest: Dest): void;
  /** Chooses a destination for a new connection, or null when none is eligible. */
  pick(flow: Flow): Dest | null;
  /** Releases timers or tables (done_service). */
  done(): void;
  /**
   * Runs the periodic housekeeping now (lblc/lblcr: the kernel's 60 s garbage-collection timer, driven by the
   * injected clock). Optional: those schedulers also run it lazily from pick(), so calling it only matters for
   * releasing memory while a service sees no traffic. Schedulers without timed state do not have it.
   */
  expire?(): void;
}

export type SchedulerFactory = (options: SchedulerOptions) => Scheduler;

/** The eligibility rule shared by every algorithm: available, not overloaded, weight > 0. */
export function isEligible(d: Dest): boolean {
  return d.available && !d.overloaded && d.weight > 0;
}
