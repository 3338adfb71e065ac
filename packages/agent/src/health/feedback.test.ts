import { describe, expect, it } from "vitest";
import { aggregateLoad, feedbackStep } from "./feedback.js";

const f = { adjust: 5, scale: 10 };
const c = { cpu: 0.1, memory: 0.3, swap: 0.1, disk: 0.1, responseTime: 0.4 };

describe("dynamic feedback formula (LVS)", () => {
  it("aggregates loads with coefficients that sum to 1", () => {
    expect(aggregateLoad({ cpu: 1, memory: 1, swap: 1, disk: 1, responseTime: 1 }, c)).toBeCloseTo(1);
    expect(aggregateLoad({ cpu: 0.5, memory: 0, swap: 0, disk: 0, responseTime: 0.5 }, c)).toBeCloseTo(0.25);
  });

  it("moves the weight by A·∛(0.95 − AGG): up when under 0.95, down when over, unchanged at 0.95", () => {
    expect(feedbackStep(10, 10, 0.95, f)).toBeCloseTo(10);
    expect(feedbackStep(10, 10, 0.95 - 0.008, f)).toBeCloseTo(10 + 5 * 0.2); // ∛0.008 = 0.2
    expect(feedbackStep(10, 10, 0.95 + 0.125, f)).toBeCloseTo(10 - 5 * 0.5); // ∛−0.125 = −0.5
  });

  it("bounds the weight to [0, SCALE × configured]", () => {
    expect(feedbackStep(0.5, 10, 1, f)).toBe(0);
    expect(feedbackStep(99, 10, 0, f)).toBe(100);
  });
});
