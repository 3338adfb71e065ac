/**
 * The event log: the last CAPACITY events with increasing ids, so a stream can resume after a reconnect from
 * the last id it saw (nothing lost as long as it comes back within the log's reach).
 */
import { EventEmitter } from "node:events";
import type { AgentEventName, AgentEvents, EventBus } from "./events.js";

export interface LoggedEvent {
  id: number;
  /** ms since the epoch. */
  t: number;
  name: AgentEventName;
  payload: AgentEvents[AgentEventName];
}

export class EventLog {
  static readonly CAPACITY = 10_000;
  readonly emitter = new EventEmitter();
  private readonly ring: LoggedEvent[] = [];
  private nextId = 1;

  constructor(bus: EventBus, now: () => number) {
    this.emitter.setMaxListeners(0);
    bus.onAny((name, payload) => {
      const e: LoggedEvent = { id: this.nextId++, t: now(), name, payload };
      this.ring.push(e);
      if (this.ring.length > EventLog.CAPACITY) this.ring.shift();
      this.emitter.emit("event", e);
    });
  }

  /** Events after id, oldest first. */
  after(id: number): LoggedEvent[] {
    if (this.ring.length === 0 || id >= this.ring.at(-1)!.id) return [];
    const first = this.ring[0]!.id;
    return this.ring.slice(Math.max(0, id - first + 1));
  }

  get lastId(): number {
    return this.nextId - 1;
  }
}
