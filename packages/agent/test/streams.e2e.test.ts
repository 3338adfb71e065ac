/**
 * Live streams over tRPC's SSE transport, read by the client's SSE reader (what the console's hub uses): 1 Hz
 * samples, and events that resume after a reconnect from the last id seen, with no gap and no repeat.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveAgentEndpoint, type StreamHandle, type StreamMessage, subscribeAgentStream } from "../src/control/client.js";
import { startTestAgent, type TestAgent } from "./helpers/agent.js";
import { freePort } from "./helpers/ports.js";

let t: TestAgent;
let vip: number;
let ep: ReturnType<typeof resolveAgentEndpoint>;

beforeAll(async () => {
  vip = await freePort();
  t = await startTestAgent({ virtualServices: [{ address: `127.0.0.1:${vip}`, realServers: [{ address: "127.0.0.1:9" }, { address: "127.0.0.1:10" }] }] });
  ep = resolveAgentEndpoint({ DIRECTOR_STATE_DIR: t.stateDir });
});
afterAll(async () => {
  await t?.stop();
});

type SseMessage = StreamMessage;

/** Opens a subscription with the client's SSE reader; calls onMessage for each message until it returns true or stop(). */
function subscribe(path: "stream.samples" | "stream.events", input: { lastEventId?: string }, onMessage: (m: SseMessage) => boolean | undefined): StreamHandle {
  const h: StreamHandle = subscribeAgentStream(ep, path, input.lastEventId ?? null, (m) => {
    if (onMessage(m)) h.stop();
  });
  return h;
}

const key = () => ({ protocol: "tcp" as const, address: `127.0.0.1:${vip}` });
const setState = (address: string, state: "active" | "draining" | "maintenance") =>
  t.client.config.change.mutate({ ops: [{ op: "realServer.setAdminState", key: key(), address, state }] });

describe("streams", () => {
  it("sends a sample every second with every real server's numbers", async () => {
    const samples: { t: number; services: { key: string; realServers: { address: string; adminState: string }[] }[] }[] = [];
    await subscribe("stream.samples", {}, (m) => {
      if (m.id) samples.push(m.data as (typeof samples)[number]);
      return samples.length >= 2;
    }).done;
    expect(samples[1]!.t - samples[0]!.t).toBe(1000);
    expect(samples[0]!.services[0]!.key).toBe(`tcp/127.0.0.1:${vip}`);
    expect(samples[0]!.services[0]!.realServers.map((r) => r.address)).toEqual(["127.0.0.1:9", "127.0.0.1:10"]);
  });

  it("resumes events after a reconnect from the last id: nothing lost, nothing repeated", async () => {
    const seen: { id: number; name: string; to?: string }[] = [];
    // First connection: take two events, then drop the connection.
    const first = subscribe("stream.events", {}, (m) => {
      if (!m.id) return false;
      const d = m.data as { id: number; name: string; payload: { to?: string } };
      seen.push({ id: d.id, name: d.name, to: d.payload.to });
      return seen.filter((e) => e.name === "adminState.changed").length >= 2;
    });
    await first.ready;
    await setState("127.0.0.1:9", "draining");
    await setState("127.0.0.1:9", "active");
    await first.done;
    const lastId = seen.at(-1)!.id;
    // Changes while disconnected.
    await setState("127.0.0.1:10", "maintenance");
    await setState("127.0.0.1:10", "active");
    // Reconnect with the last id: the missed events first, then live ones.
    const after: { id: number; name: string; to?: string }[] = [];
    const second = subscribe("stream.events", { lastEventId: String(lastId) }, (m) => {
      if (!m.id) return false;
      const d = m.data as { id: number; name: string; payload: { to?: string } };
      after.push({ id: d.id, name: d.name, to: d.payload.to });
      return after.filter((e) => e.name === "adminState.changed").length >= 3;
    });
    await second.ready;
    await setState("127.0.0.1:9", "maintenance"); // live after the backfill
    await second.done;
    const ids = after.map((e) => e.id);
    expect(ids[0]).toBe(lastId + 1); // no gap
    expect(ids.every((id, i) => i === 0 || id === ids[i - 1]! + 1)).toBe(true); // consecutive
    expect(new Set(ids).size).toBe(ids.length); // no repeat
    expect(after.filter((e) => e.name === "adminState.changed").map((e) => e.to)).toEqual(["maintenance", "active", "maintenance"]);
  });

  it("serves history: 1 s points of a real server's series", async () => {
    const now = Date.now();
    const h = await t.client.history.query.query({ key: key(), realServer: "127.0.0.1:9", from: now - 60_000, to: now + 1000 });
    expect(h.resolution).toBe("1s");
    expect(h.t.length).toBeGreaterThan(0);
    expect(h.series.activeConns.length).toBe(h.t.length);
  });
});
