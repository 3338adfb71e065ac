/**
 * The agent hub: the console server's one connection to each registered agent. Per agent it keeps
 *  - the live sample stream (`stream.samples`, 1 Hz, resumed by id after a reconnect) for the moving numbers,
 *  - the event stream (`stream.events`) for the recent-events list,
 *  - a poll of `service.list` (every `pollMs`) for everything a sample does not carry (health reasons,
 *    thresholds, drain plans), and of `info` for version and uptime.
 * An agent is **stale** when neither a sample nor a poll has succeeded for `staleMs` (3.5 s), or at once when its
 * sample stream drops and a poll fails: the console shows it as stale rather than freezing its last numbers. Subscribers listen to `update` (agent id) and `event`.
 */
import { EventEmitter } from "node:events";
import { type AgentClient, type AgentEndpoint, createAgentClient, type LoggedEvent, type Sample, type StreamHandle, subscribeAgentStream } from "@director/agent/client";
import type { AgentRow, Store } from "@director/db";
import type { AgentInfo, VirtualServiceStatus } from "@director/model";

export interface AgentEvent {
  agentId: string;
  agentName: string;
  id: number;
  at: number;
  name: string;
  payload: Record<string, unknown>;
}

export interface AgentState {
  id: string;
  name: string;
  url: string;
  /** The last poll or sample succeeded within staleMs. */
  reachable: boolean;
  stale: boolean;
  lastOkAt: number | null;
  error: string | null;
  info: AgentInfo | null;
  services: VirtualServiceStatus[];
  sample: Sample | null;
}

export interface HubOptions {
  pollMs?: number;
  staleMs?: number;
  now?: () => number;
}

const EVENTS_KEPT = 200;

export function endpointOf(a: Pick<AgentRow, "url" | "token" | "caPem">): AgentEndpoint {
  return { url: a.url, token: a.token, ...(a.caPem ? { ca: a.caPem } : {}) };
}

class AgentLink {
  readonly state: AgentState;
  readonly client: AgentClient;
  private stopped = false;
  private lastPollOk = 0;
  private lastSampleAt = 0;
  private sampleId: string | null = null;
  private eventId: string | null = null;
  private streams: StreamHandle[] = [];
  /** The sample stream is connected; when it drops and a poll fails too, the agent is stale at once. */
  private samplesUp = false;
  private timers: NodeJS.Timeout[] = [];
  readonly events: AgentEvent[] = [];

  constructor(
    readonly row: AgentRow,
    private readonly hub: AgentHub,
    private readonly o: Required<HubOptions>,
  ) {
    this.state = { id: row.id, name: row.name, url: row.url, reachable: false, stale: true, lastOkAt: null, error: null, info: null, services: [], sample: null };
    this.client = createAgentClient(endpointOf(row));
  }

  start(): void {
    void this.poll();
    this.timers.push(setInterval(() => void this.poll(), this.o.pollMs));
    this.timers.push(setInterval(() => this.checkStale(), 500));
    this.stream("stream.samples");
    this.stream("stream.events");
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const s of this.streams) s.stop();
    this.client.close();
  }

  private okAt(): number {
    return Math.max(this.lastPollOk, this.lastSampleAt);
  }

  private checkStale(force = false): void {
    const now = this.o.now();
    const stale = force || now - this.okAt() > this.o.staleMs;
    if (stale !== this.state.stale) {
      this.state.stale = stale;
      this.state.reachable = !stale;
      this.hub.emit("update", this.row.id);
    }
  }

  private async poll(): Promise<void> {
    try {
      // Version and start time change only with a restart: ask for them when unknown or the last poll failed.
      const [services, info] = await Promise.all([this.client.service.list.query({}), this.state.info && this.state.error === null ? this.state.info : this.client.info.query()]);
      if (this.stopped) return;
      this.state.services = services as VirtualServiceStatus[];
      this.state.info = info as AgentInfo;
      this.lastPollOk = this.o.now();
      this.state.lastOkAt = this.okAt();
      this.state.error = null;
      this.checkStale();
      // With a live sample stream, updates are driven by samples; without one, by polls.
      if (this.o.now() - this.lastSampleAt > 2000) this.hub.emit("update", this.row.id);
    } catch (e) {
      if (this.stopped) return;
      this.state.error = (e as Error).message;
      // Stream gone and the API not answering: the agent is lost now, not in staleMs.
      this.checkStale(!this.samplesUp);
    }
  }

  private stream(procedure: "stream.samples" | "stream.events"): void {
    if (this.stopped) return;
    const h = subscribeAgentStream(endpointOf(this.row), procedure, procedure === "stream.samples" ? this.sampleId : this.eventId, (m) => {
      if (procedure === "stream.samples" && m.event === "connected") this.samplesUp = true;
      if (!m.id || m.data === undefined) return;
      if (procedure === "stream.samples") {
        this.sampleId = m.id;
        this.state.sample = m.data as Sample;
        this.lastSampleAt = this.o.now();
        this.state.lastOkAt = this.lastSampleAt;
        this.checkStale();
        this.hub.emit("update", this.row.id);
      } else {
        this.eventId = m.id;
        const e = m.data as LoggedEvent;
        const ev: AgentEvent = { agentId: this.row.id, agentName: this.row.name, id: e.id, at: e.t, name: e.name, payload: e.payload as unknown as Record<string, unknown> };
        this.events.push(ev);
        if (this.events.length > EVENTS_KEPT) this.events.shift();
        this.hub.emit("event", ev);
      }
    });
    this.streams.push(h);
    const again = () => {
      this.streams = this.streams.filter((s) => s !== h);
      if (procedure === "stream.samples") {
        this.samplesUp = false;
        // The agent may have restarted: ask for its version and start time again.
        this.state.info = null;
        void this.poll();
      }
      if (!this.stopped) this.timers.push(setTimeout(() => this.stream(procedure), 1000));
    };
    h.done.then(again, (e: Error) => {
      this.state.error = e.message;
      again();
    });
  }
}

export class AgentHub extends EventEmitter {
  private readonly links = new Map<string, AgentLink>();
  private readonly o: Required<HubOptions>;

  constructor(
    private readonly store: Store,
    o: HubOptions = {},
  ) {
    super();
    this.setMaxListeners(10_000);
    // Samples come every second: 3.5 s without one (or a dropped stream and a failed poll) is a lost agent,
    // so the console shows it stale well within 5 s.
    this.o = { pollMs: o.pollMs ?? 1000, staleMs: o.staleMs ?? 3500, now: o.now ?? Date.now };
  }

  /** Starts links for agents added to the store, stops those of removed ones. */
  async sync(): Promise<void> {
    const rows = await this.store.listAgents();
    const ids = new Set(rows.map((r) => r.id));
    for (const [id, link] of this.links)
      if (!ids.has(id)) {
        link.stop();
        this.links.delete(id);
        this.emit("update", id);
      }
    for (const r of rows) {
      const old = this.links.get(r.id);
      if (old && old.row.url === r.url && old.row.token === r.token && old.row.caPem === r.caPem) continue;
      old?.stop();
      const link = new AgentLink(r, this, this.o);
      this.links.set(r.id, link);
      link.start();
    }
  }

  list(): AgentState[] {
    return [...this.links.values()].map((l) => l.state);
  }

  get(id: string): AgentState | undefined {
    return this.links.get(id)?.state;
  }

  client(id: string): AgentClient | undefined {
    return this.links.get(id)?.client;
  }

  /** Recent events of every agent, newest first. */
  recentEvents(limit = 50): AgentEvent[] {
    const all = [...this.links.values()].flatMap((l) => l.events);
    return all.sort((a, b) => b.at - a.at || b.id - a.id).slice(0, limit);
  }

  stop(): void {
    for (const l of this.links.values()) l.stop();
    this.links.clear();
  }
}
