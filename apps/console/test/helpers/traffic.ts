/**
 * Real client traffic through the VIP: one HTTP request per new TCP connection (so each is a scheduling decision),
 * answered by a demo real server with "<name> <address>".
 */
import { holdConnection, type HeldConnection, httpGet } from "../../../../packages/agent/test/helpers/clients.js";

export { holdConnection, type HeldConnection };

/** The name of the real server that answered one new connection. */
export async function whoAnswers(port: number): Promise<string> {
  return (await httpGet(port)).trim().split(" ")[0]!;
}

/** Names of the real servers that answered n new connections, in order. */
export async function answers(port: number, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await whoAnswers(port));
  return out;
}

export interface Traffic {
  /** Requests answered so far. */
  readonly done: number;
  /** Stops and resolves the number of answered requests; rejects if any request failed. */
  stop(): Promise<number>;
}

/** Keeps `parallel` request loops running until stopped. */
export function startTraffic(port: number, parallel = 4): Traffic {
  let running = true;
  let done = 0;
  let failure: Error | null = null;
  const loops = Array.from({ length: parallel }, async () => {
    while (running) {
      try {
        await httpGet(port);
        done++;
      } catch (e) {
        failure ??= e as Error;
        return;
      }
    }
  });
  return {
    get done() {
      return done;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      if (failure) throw failure;
      return done;
    },
  };
}
