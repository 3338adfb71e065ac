/**
 * The static part of a live frame on the wire, column by column (no Node imports: the browser decodes it).
 * As objects, 1,000 real servers take ~380 KB of JSON; as columns with repeated strings (forward methods, check
 * names, health reasons) sent once in a string table and absent values left out, ~60 KB. So even a frame that
 * carries the static part stays under the console's 100 KB per update.
 */
import type { RealServerStatic, ServiceFrame, ServiceStatic } from "./frame.js";

const ADMIN = ["active", "draining", "maintenance"] as const;
const CONDITION = ["healthy", "draining", "maintenance", "down"] as const;

export interface StaticWire {
  service: Omit<ServiceStatic, "realServers">;
  /** Strings referenced by index below. */
  strings: string[];
  address: string[];
  forward: number[];
  weight: number[];
  /** Effective weight where it differs from weight: [index, effectiveWeight] pairs. */
  effective: [number, number][];
  /** Non-zero thresholds: [index, upper, lower]. */
  thresholds: [number, number, number][];
  adminState: number[];
  condition: number[];
  /** Bit 0: available; bit 1: overloaded. */
  flags: number[];
  /** Per real server: 0 (no check) or [up 1 / down 2, check string, reason string, since]. */
  health: (0 | [number, number, number, number])[];
  /** The rarely present fields, by index. */
  extra: Record<number, Pick<RealServerStatic, "drain" | "maintenanceDeadlineSeconds" | "ejectedUntil" | "slowStartUntil">>;
}

/** A frame as sent: `static` travels as `staticWire`. */
export type WireFrame = Omit<ServiceFrame, "static"> & { staticWire?: StaticWire };

export function encodeStatic(st: ServiceStatic): StaticWire {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const s = (v: string) => {
    let i = index.get(v);
    if (i === undefined) {
      i = strings.length;
      strings.push(v);
      index.set(v, i);
    }
    return i;
  };
  const { realServers, ...service } = st;
  const w: StaticWire = { service, strings, address: [], forward: [], weight: [], effective: [], thresholds: [], adminState: [], condition: [], flags: [], health: [], extra: {} };
  realServers.forEach((r, i) => {
    w.address.push(r.address);
    w.forward.push(s(r.forward));
    w.weight.push(r.weight);
    if (r.effectiveWeight !== r.weight) w.effective.push([i, r.effectiveWeight]);
    if (r.upperThreshold || r.lowerThreshold) w.thresholds.push([i, r.upperThreshold, r.lowerThreshold]);
    w.adminState.push(ADMIN.indexOf(r.adminState));
    w.condition.push(CONDITION.indexOf(r.condition));
    w.flags.push((r.available ? 1 : 0) | (r.overloaded ? 2 : 0));
    w.health.push(r.health ? [r.health.state === "up" ? 1 : 2, s(r.health.check), s(r.health.reason), r.health.since] : 0);
    if (r.drain || r.maintenanceDeadlineSeconds !== null || r.ejectedUntil !== null || r.slowStartUntil !== null)
      w.extra[i] = { drain: r.drain, maintenanceDeadlineSeconds: r.maintenanceDeadlineSeconds, ejectedUntil: r.ejectedUntil, slowStartUntil: r.slowStartUntil };
  });
  return w;
}

export function decodeStatic(w: StaticWire): ServiceStatic {
  const effective = new Map(w.effective);
  const thresholds = new Map(w.thresholds.map(([i, u, l]) => [i, [u, l] as const]));
  const realServers: RealServerStatic[] = w.address.map((address, i) => {
    const h = w.health[i];
    const x = w.extra[i];
    return {
      address,
      forward: w.strings[w.forward[i]!]!,
      weight: w.weight[i]!,
      effectiveWeight: effective.get(i) ?? w.weight[i]!,
      upperThreshold: thresholds.get(i)?.[0] ?? 0,
      lowerThreshold: thresholds.get(i)?.[1] ?? 0,
      adminState: ADMIN[w.adminState[i]!]!,
      condition: CONDITION[w.condition[i]!]!,
      available: (w.flags[i]! & 1) !== 0,
      overloaded: (w.flags[i]! & 2) !== 0,
      health: h ? { state: h[0] === 1 ? "up" : "down", check: w.strings[h[1]]!, reason: w.strings[h[2]]!, since: h[3] } : null,
      drain: x?.drain ?? null,
      maintenanceDeadlineSeconds: x?.maintenanceDeadlineSeconds ?? null,
      ejectedUntil: x?.ejectedUntil ?? null,
      slowStartUntil: x?.slowStartUntil ?? null,
    };
  });
  return { ...w.service, realServers };
}

/** What the browser does with each message of `live.service`. */
export function decodeFrame(f: WireFrame | null): ServiceFrame | null {
  if (!f) return null;
  const { staticWire, ...rest } = f;
  return staticWire ? { ...rest, static: decodeStatic(staticWire) } : rest;
}
