import { AgentConfig } from "@director/model";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ServiceTable } from "../state/service-table.js";
import { EventBus } from "./events.js";
import { MINUTES, SECONDS, Sampler } from "./sampler.js";
import { freePort } from "../../test/helpers/ports.js";

describe("sampler history", () => {
  it("stays bounded over 30 simulated hours, keeps 1 s points for an hour and 1 min averages for a day", async () => {
    let now = Date.UTC(2026, 10, 22, 0, 0, 0);
    const clock = () => now;
    const services = new ServiceTable({ log: pino({ level: "silent" }), events: new EventBus(), now: clock });
    const vip = await freePort();
    const r = await services.replace(
      AgentConfig.parse({ virtualServices: [{ address: `127.0.0.1:${vip}`, scheduler: "rr", realServers: [{ address: "127.0.0.1:9" }] }] }),
      "start",
    );
    expect(r.ok).toBe(true);
    const sampler = new Sampler(services, clock);
    const rs = [...services.services.values()][0]!.realServers[0]!;
    let bytesAfterFirstHour = 0;
    for (let s = 0; s < 30 * 3600; s++) {
      rs.counters.stats.conns += 2; // 2 connections per second
      sampler.tick();
      now += 1000;
      if (s === 3600) bytesAfterFirstHour = sampler.historyBytes();
    }
    await services.stopAccepting();
    expect(sampler.historyBytes()).toBe(bytesAfterFirstHour); // bounded: nothing grows after the rings fill
    expect(sampler.seriesCount).toBe(2);
    const key = `tcp/127.0.0.1:${vip}|127.0.0.1:9`;
    const hour = sampler.history(key, now - 3600_000, now)!;
    expect(hour.resolution).toBe("1s");
    expect(hour.t.length).toBeLessThanOrEqual(SECONDS);
    expect(hour.t.length).toBeGreaterThan(SECONDS - 2);
    expect(new Set(hour.series.cps)).toEqual(new Set([2]));
    const day = sampler.history(key, now - 24 * 3600_000, now)!;
    expect(day.resolution).toBe("1m");
    expect(day.t.length).toBeLessThanOrEqual(MINUTES);
    expect(day.t.length).toBeGreaterThan(MINUTES - 2);
    expect(day.series.cps.every((v) => v === 2)).toBe(true);
    expect(day.t.every((t, i) => i === 0 || t - day.t[i - 1]! === 60_000)).toBe(true);
  });
});
