/**
 * Webhooks: agent events POSTed as JSON to chat or paging tools, one queue per hook.
 *   body:    {"id":…, "t":…, "name":"health.changed", "payload":{…}}
 *   headers: X-Director-Event (name), X-Director-Delivery (event id), X-Director-Timestamp (ms),
 *            X-Director-Signature: sha256=HEX(HMAC-SHA256(secret, "<timestamp>.<body>"))
 * A receiver recomputes the signature and rejects old timestamps (replay). A delivery that fails (network error,
 * timeout, non-2xx) is retried with exponential back-off (1 s, 2 s, 4 s … at most 60 s) up to maxAttempts; a
 * queue holds at most QUEUE deliveries and drops the oldest beyond that, with a log line. The secret is read
 * from secretFile and never logged.
 */
import { createHmac } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AgentConfig } from "@director/model";
import type { Logger } from "pino";
import type { EventLog, LoggedEvent } from "./event-log.js";

type HookSpec = AgentConfig["webhooks"][number];
export const QUEUE = 1000;

export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

class Hook {
  private readonly queue: { event: LoggedEvent; attempt: number }[] = [];
  private busy = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    readonly spec: HookSpec,
    private readonly secret: string,
    private readonly log: Logger,
  ) {}

  offer(e: LoggedEvent): void {
    if (this.spec.events && !this.spec.events.includes(e.name)) return;
    this.queue.push({ event: e, attempt: 0 });
    if (this.queue.length > QUEUE) {
      const dropped = this.queue.shift()!;
      this.log.warn({ webhook: this.spec.name, event: dropped.event.id }, "webhook queue full: oldest delivery dropped");
    }
    this.pump();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private pump(): void {
    if (this.busy || this.stopped || this.timer) return;
    const item = this.queue[0];
    if (!item) return;
    this.busy = true;
    void this.deliver(item.event).then((error) => {
      this.busy = false;
      if (this.stopped) return;
      if (!error) {
        this.queue.shift();
        return this.pump();
      }
      item.attempt++;
      if (item.attempt >= this.spec.maxAttempts) {
        this.queue.shift();
        this.log.warn({ webhook: this.spec.name, event: item.event.id, attempts: item.attempt, error }, "webhook delivery failed: giving up");
        return this.pump();
      }
      const delay = Math.min(60_000, 1000 * 2 ** (item.attempt - 1));
      this.log.info({ webhook: this.spec.name, event: item.event.id, attempt: item.attempt, error, retryInMs: delay }, "webhook delivery failed: will retry");
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, delay);
    });
  }

  /** One attempt; resolves an error in words, or undefined on a 2xx. */
  private deliver(e: LoggedEvent): Promise<string | undefined> {
    const body = JSON.stringify({ id: e.id, t: e.t, name: e.name, payload: e.payload });
    const timestamp = String(Date.now());
    const url = new URL(this.spec.url);
    const mod = url.protocol === "https:" ? https : http;
    return new Promise((resolve) => {
      const req = mod.request(
        url,
        {
          method: "POST",
          timeout: this.spec.timeoutMs,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            "user-agent": "director-agent",
            "x-director-event": e.name,
            "x-director-delivery": String(e.id),
            "x-director-timestamp": timestamp,
            "x-director-signature": signature(this.secret, timestamp, body),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode && res.statusCode >= 200 && res.statusCode < 300 ? undefined : `HTTP ${res.statusCode}`));
        },
      );
      req.on("timeout", () => req.destroy(new Error(`timeout after ${this.spec.timeoutMs} ms`)));
      req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      req.end(body);
    });
  }
}

export class Webhooks {
  private hooks: Hook[] = [];

  constructor(
    events: EventLog,
    private readonly log: Logger,
  ) {
    events.emitter.on("event", (e: LoggedEvent) => {
      for (const h of this.hooks) h.offer(e);
    });
  }

  /** Applies the configured hooks (start, reload). A hook whose secret cannot be read is skipped, with a log line. */
  configure(specs: readonly HookSpec[]): void {
    for (const h of this.hooks) h.stop();
    this.hooks = [];
    for (const spec of specs) {
      let secret: string;
      try {
        secret = fs.readFileSync(spec.secretFile, "utf8").trim();
      } catch (e) {
        this.log.error({ webhook: spec.name, error: (e as NodeJS.ErrnoException).code }, "webhook secret file unreadable: webhook disabled");
        continue;
      }
      if (secret.length < 16) {
        this.log.error({ webhook: spec.name }, "webhook secret shorter than 16 characters: webhook disabled");
        continue;
      }
      this.hooks.push(new Hook(spec, secret, this.log));
    }
  }

  stop(): void {
    for (const h of this.hooks) h.stop();
    this.hooks = [];
  }
}
