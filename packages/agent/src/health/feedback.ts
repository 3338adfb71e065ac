/**
 * Dynamic feedback load balancing, the director side (LVS "Dynamic Feedback Load Balancing Scheduling";
 * Wensong Zhang's piranha formula). Every `interval` seconds each real server's feedback agent
 * (`director-feedback`) is asked for its loads; the director measures the response time of that request
 * itself, and computes
 *     AGG = Σ R_k · LOAD_k                       (R: coefficients summing to 1; each LOAD in [0, 1])
 *     w  ← w + A · ∛(0.95 − AGG)                 (negative feedback: a loaded server loses weight)
 *     w  ∈ [0, SCALE × configured weight]; changes below `threshold` are skipped.
 * A server whose agent does not answer keeps its weight (the health checks decide its availability).
 */
import http from "node:http";
import type { Feedback } from "@director/model";
import type { CheckTarget } from "./types.js";

export interface FeedbackLoads {
  cpu: number;
  memory: number;
  swap: number;
  disk: number;
}

export interface FeedbackReading {
  weight: number;
  aggregateLoad: number;
  loads: Record<string, number>;
}

/** One step of the LVS formula. `w` is the running (real-valued) weight. */
export function feedbackStep(w: number, configured: number, agg: number, f: Pick<Feedback, "adjust" | "scale">): number {
  const next = w + f.adjust * Math.cbrt(0.95 - agg);
  return Math.min(Math.max(next, 0), f.scale * configured);
}

export function aggregateLoad(loads: FeedbackLoads & { responseTime: number }, c: Feedback["coefficients"]): number {
  return c.cpu * loads.cpu + c.memory * loads.memory + c.swap * loads.swap + c.disk * loads.disk + c.responseTime * loads.responseTime;
}

const clamp01 = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);

/** Asks a feedback agent for its loads; resolves null when it does not answer in time. */
export function queryFeedback(target: CheckTarget, port: number, timeoutMs: number): Promise<{ loads: FeedbackLoads; latencyMs: number } | null> {
  return new Promise((resolve) => {
    const started = performance.now();
    let done = false;
    const finish = (v: { loads: FeedbackLoads; latencyMs: number } | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(v);
    };
    const req = http.get({ host: target.host, port, path: "/load", agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        body += d;
        if (body.length > 65536) req.destroy();
      });
      res.on("end", () => {
        if (res.statusCode !== 200) return finish(null);
        try {
          const j = JSON.parse(body) as Record<string, unknown>;
          finish({ loads: { cpu: clamp01(j.cpu), memory: clamp01(j.memory), swap: clamp01(j.swap), disk: clamp01(j.disk) }, latencyMs: performance.now() - started });
        } catch {
          finish(null);
        }
      });
      res.on("error", () => finish(null));
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(null);
    }, timeoutMs);
    req.on("error", () => finish(null));
    req.on("close", () => finish(null));
  });
}

/** Polls one real server's feedback agent and reports weights. */
export class FeedbackPoller {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private w: number;

  constructor(
    private readonly target: CheckTarget,
    private readonly spec: Feedback,
    private readonly configured: () => number,
    private readonly onReading: (r: FeedbackReading) => void,
    random: () => number,
  ) {
    this.w = configured();
    this.timer = setTimeout(() => void this.poll(), random() * spec.interval * 1000);
  }

  private async poll(): Promise<void> {
    const f = this.spec;
    const r = await queryFeedback(this.target, f.port, Math.min(f.interval * 1000, 2000));
    if (this.stopped) return;
    if (r) {
      const responseTime = Math.min(1, r.latencyMs / f.responseTimeReferenceMs);
      const agg = aggregateLoad({ ...r.loads, responseTime }, f.coefficients);
      const next = feedbackStep(this.w, this.configured(), agg, f);
      if (Math.abs(next - this.w) >= f.threshold) this.w = next;
      this.onReading({ weight: Math.round(this.w), aggregateLoad: agg, loads: { ...r.loads, responseTime } });
    }
    this.timer = setTimeout(() => void this.poll(), f.interval * 1000);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
