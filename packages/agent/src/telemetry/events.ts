/**
 * The agent's event bus. Events are named in the past tense and carry what a console or a log reader needs;
 * the control plane streams them (telemetry issue), the log records them.
 */
import { EventEmitter } from "node:events";
import type { AdminState } from "@director/model";

export interface AgentEvents {
  "config.applied": { source: "api" | "reload" | "start" | "agent"; ops: number; summary: string[] };
  "adminState.changed": { service: string; realServer: string; from: AdminState; to: AdminState; reason: string };
  "connections.closed": { service: string; realServer: string; count: number; reason: string };
  "quorum.lost": { service: string; availableWeight: number; quorum: number; sorryServer: string | undefined };
  "quorum.regained": { service: string; availableWeight: number; quorum: number; sorryServer: string | undefined };
  "realServer.ejected": { service: string; realServer: string; seconds: number; reason: string };
  "realServer.returned": { service: string; realServer: string };
  "health.changed": { service: string; realServer: string; from: "up" | "down"; to: "up" | "down"; reason: string; latencyMs: number; check: string };
}

export type AgentEventName = keyof AgentEvents;

export class EventBus {
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(1000);
  }
  emit<K extends AgentEventName>(name: K, payload: AgentEvents[K]): void {
    this.emitter.emit(name, payload);
    this.emitter.emit("*", name, payload);
  }
  /** Every event, with its name (the event log and streams). */
  onAny(fn: (name: AgentEventName, payload: AgentEvents[AgentEventName]) => void): () => void {
    this.emitter.on("*", fn);
    return () => this.emitter.off("*", fn);
  }
  on<K extends AgentEventName>(name: K, fn: (payload: AgentEvents[K]) => void): () => void {
    this.emitter.on(name, fn);
    return () => this.emitter.off(name, fn);
  }
}
