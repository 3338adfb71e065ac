/**
 * The persisted desired state (`<state-dir>/state.json`): the configuration as changed at run time, and the
 * digest of the configuration file it grew from.
 *
 * Which wins at start and on SIGHUP:
 *  - the file is unchanged since (same digest) → the persisted state: runtime changes (weights, admin states,
 *    added or removed real servers) survive restarts and reloads;
 *  - the file changed → the file, except that admin states (draining, maintenance) and their timing carry
 *    over to the real servers that still exist: a reload never puts a server under maintenance back into
 *    rotation behind the administrator's back;
 *  - no file → the persisted state alone.
 */
import fs from "node:fs";
import path from "node:path";
import { AgentConfig, formatIssues, serviceKey } from "@director/model";
import { writeFileAtomic } from "./store.js";

export interface PersistedState {
  configDigest: string | null;
  config: AgentConfig;
  /** The desired-state version (monotonic across restarts). */
  version?: number;
}

const FILE = "state.json";

export function readPersisted(stateDir: string): PersistedState | { error: string } | null {
  const file = path.join(stateDir, FILE);
  if (!fs.existsSync(file)) return null;
  let raw: { configDigest?: unknown; config?: unknown };
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    return { error: `${file}: ${(e as Error).message}` };
  }
  const parsed = AgentConfig.safeParse(raw.config);
  if (!parsed.success) return { error: `${file}: ${formatIssues(parsed.error).join("; ")}` };
  const version = (raw as { version?: unknown }).version;
  return {
    configDigest: typeof raw.configDigest === "string" ? raw.configDigest : null,
    config: parsed.data,
    ...(typeof version === "number" && Number.isSafeInteger(version) && version >= 0 ? { version } : {}),
  };
}

export function writePersisted(stateDir: string, state: PersistedState): void {
  writeFileAtomic(path.join(stateDir, FILE), `${JSON.stringify(state, null, 2)}\n`);
}

/** The desired state to run, from the config file (if any) and the persisted state (if any). */
export function chooseDesired(file: { config: AgentConfig; digest: string } | null, persisted: PersistedState | null): AgentConfig | null {
  if (!file) return persisted?.config ?? null;
  if (!persisted) return file.config;
  if (persisted.configDigest === file.digest) return persisted.config;
  return carryAdminStates(file.config, persisted.config);
}

export function carryAdminStates(next: AgentConfig, prev: AgentConfig): AgentConfig {
  const out = structuredClone(next);
  const prevServices = new Map(prev.virtualServices.map((v) => [serviceKey(v), v]));
  for (const vs of out.virtualServices) {
    const old = prevServices.get(serviceKey(vs));
    if (!old) continue;
    for (const rs of vs.realServers) {
      const o = old.realServers.find((r) => r.address === rs.address);
      if (!o || o.adminState === "active" || rs.adminState !== "active") continue;
      rs.adminState = o.adminState;
      if (o.drain) rs.drain = o.drain;
      if (o.maintenanceDeadlineSeconds !== undefined) rs.maintenanceDeadlineSeconds = o.maintenanceDeadlineSeconds;
      if (o.adminSince !== undefined) rs.adminSince = o.adminSince;
    }
  }
  return out;
}
