/**
 * Every checker by its model type, the way the scheduler registry lists algorithms: typed against the
 * HealthCheck union, so a check type without a checker, or a checker for a type the model does not know, is a
 * compile error, and each factory receives exactly its own variant's fields.
 */
import type { HealthCheck } from "@director/model";
import { agent } from "./agent.js";
import { dns } from "./dns.js";
import { exec } from "./exec.js";
import { httpGet, httpsGet } from "./http.js";
import { smtp } from "./smtp.js";
import { tcp } from "./tcp.js";
import type { Checker, CheckerFactory } from "./types.js";
import { udp } from "./udp.js";

export const checkers: { [K in HealthCheck["type"]]: CheckerFactory<Extract<HealthCheck, { type: K }>> } = {
  tcp,
  http: httpGet,
  https: httpsGet,
  udp,
  dns,
  smtp,
  exec,
  agent,
};

/** The checker for one configured check (regular expressions and the like are prepared once, here). */
export function createChecker(spec: HealthCheck): Checker {
  // TypeScript cannot correlate checkers[spec.type] with spec's variant; the mapped type above guarantees it.
  const factory = checkers[spec.type] as CheckerFactory<HealthCheck>;
  return factory(spec);
}
