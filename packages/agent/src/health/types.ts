/**
 * The checker interface: one function per kind of check, given where to look and an AbortSignal that fires at
 * the check's timeout. It resolves an outcome in words ("HTTP 503 from /healthz", "connect ECONNREFUSED",
 * "timeout after 1000 ms"); it never throws. The runner (runner.ts) turns outcomes into state with rise/fall
 * hysteresis and tells the service table only when the state changes.
 */
import type { HealthCheck } from "@director/model";

export interface CheckTarget {
  host: string;
  port: number;
  family: 4 | 6;
}

export interface CheckOutcome {
  ok: boolean;
  /** Why, in words, for people ("HTTP 200 from /", "connect ECONNREFUSED"). */
  reason: string;
  latencyMs: number;
  /** A weight to apply (exec `dynamic`: exit code − 2). */
  weight?: number;
  /** A weight as a percentage of the configured one (agent-check "75%"). */
  weightPercent?: number;
  /** An admin state asked for by an agent-check ("drain", "maint", "ready"/"up"). */
  adminRequest?: "drain" | "maint" | "ready";
}

export type Checker = (target: CheckTarget, signal: AbortSignal) => Promise<CheckOutcome>;

export type CheckerFactory<T extends HealthCheck> = (spec: T) => Checker;
