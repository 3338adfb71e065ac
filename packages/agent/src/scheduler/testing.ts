/**
 * Fixtures for the scheduler tests and the bench: mutable destinations (the connection table's role), flows,
 * options with a seeded random and a settable clock, and the "connection table" moves a test makes — open a
 * connection on the picked server and tell the scheduler, as conn/connection.ts does.
 */
import type { SchedulerFlag } from "@director/model";
import type { Dest, Flow, Scheduler, SchedulerOptions } from "./types.js";

export type TestDest = { -readonly [K in keyof Dest]: Dest[K] } & { name: string };

/** Destinations named A, B, C … with these weights, at 10.0.0.1:80, 10.0.0.2:80 … */
export function makeDests(weights: readonly number[], names?: readonly string[]): TestDest[] {
  return weights.map((weight, index) => makeDest(index, weight, names?.[index]));
}

export function makeDest(index: number, weight: number, name?: string): TestDest {
  const host = `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${(index & 255) + 1}`;
  return {
    name: name ?? destName(index),
    index,
    address: `${host}:80`,
    host,
    port: 80,
    family: 4,
    weight,
    activeConns: 0,
    inactiveConns: 0,
    available: true,
    overloaded: false,
  };
}

function destName(i: number): string {
  return i < 26 ? String.fromCharCode(65 + i) : `D${i}`;
}

/** Renumbers `index` to list order, as the service table does after a removal. */
export function renumber<T extends TestDest>(list: T[]): T[] {
  list.forEach((d, i) => {
    d.index = i;
  });
  return list;
}

export function makeFlow(clientHost = "192.0.2.1", clientPort = 40000, vHost = "198.51.100.1"): Flow {
  return { protocol: "tcp", family: 4, clientHost, clientPort, vHost, vPort: 80 };
}

/** The n-th of a spread of client addresses 172.16.0.0/12 with varying ports. */
export function clientFlow(n: number, vHost = "198.51.100.1"): Flow {
  const a = 0xac100000 + ((n * 2654435761) >>> 12);
  const host = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  return makeFlow(host, 1024 + (n % 60000), vHost);
}

import { seededRandom } from "./random.js";

export { seededRandom };

export interface TestClock {
  now: () => number;
  set(ms: number): void;
  advance(ms: number): void;
}

export function makeClock(start = 0): TestClock {
  let t = start;
  return {
    now: () => t,
    set: (ms) => {
      t = ms;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

export function makeOptions(over: { flags?: SchedulerFlag[]; now?: () => number; random?: () => number } = {}): SchedulerOptions {
  return { flags: over.flags ?? [], now: over.now ?? (() => 0), random: over.random ?? seededRandom(1) };
}

/** Picks, opens an active connection on the choice and reports it, as the connection table would. */
export function pickAndHold(s: Scheduler, flow: Flow = makeFlow()): TestDest | null {
  const d = s.pick(flow) as TestDest | null;
  if (d) {
    d.activeConns++;
    s.changed(d);
  }
  return d;
}

/** Names of n successive picks, each connection held open ("-" for none). */
export function heldSequence(s: Scheduler, n: number, flow: Flow = makeFlow()): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pickAndHold(s, flow)?.name ?? "-");
  return out.join(" ");
}

/** Names of n successive picks with no connection accounting (rr, wrr, fo …). */
export function pickSequence(s: Scheduler, n: number, flow: Flow = makeFlow()): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((s.pick(flow) as TestDest | null)?.name ?? "-");
  return out.join(" ");
}
