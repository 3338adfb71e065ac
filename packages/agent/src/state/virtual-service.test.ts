import { VirtualServiceSpec } from "@director/model";
import { describe, expect, it } from "vitest";
import { DEST_TRASH_PERIOD_MS, VirtualService } from "./virtual-service.js";

function service() {
  const clock = { now: 1_000_000 };
  const vs = new VirtualService(
    VirtualServiceSpec.parse({ address: "10.0.0.1:80", scheduler: "wrr", realServers: [{ address: "10.1.0.1:80", weight: 2 }, { address: "10.1.0.2:80" }] }),
    { now: () => clock.now, random: Math.random },
  );
  return { vs, clock };
}
const spec = (weight: number) => ({ address: "10.1.0.1:80", weight, forward: "nat" as const, upperThreshold: 0, lowerThreshold: 0, adminState: "active" as const });

describe("removed real servers and the trash (ip_vs_trash_get_dest, ip_vs_dest_trash_expire)", () => {
  it("added again within the trash period, the same real server comes back with its totals and its new spec, last in the list", () => {
    const { vs, clock } = service();
    const rs = vs.byAddress.get("10.1.0.1:80")!;
    rs.counters.stats.conns = 42;
    vs.removeRealServer(rs);
    expect(rs.available).toBe(false);
    clock.now += DEST_TRASH_PERIOD_MS - 1;
    const back = vs.addRealServer(spec(5));
    expect(back).toBe(rs);
    expect(back.counters.stats.conns).toBe(42);
    expect(back.weight).toBe(5);
    expect(back.available).toBe(true);
    expect(vs.realServers.map((r) => r.address)).toEqual(["10.1.0.2:80", "10.1.0.1:80"]);
    expect(back.index).toBe(1);
    // The scheduler has it again.
    const picks = Array.from({ length: 6 }, () => vs.scheduler.pick({ protocol: "tcp", family: 4, clientHost: "1.1.1.1", clientPort: 1, vHost: vs.host, vPort: 80 })?.address);
    expect(picks.filter((a) => a === "10.1.0.1:80")).toHaveLength(5);
  });

  it("unreferenced for the trash period, it is freed: adding the address again makes a new real server", () => {
    const { vs, clock } = service();
    const rs = vs.byAddress.get("10.1.0.1:80")!;
    vs.removeRealServer(rs);
    clock.now += DEST_TRASH_PERIOD_MS;
    expect(vs.inTrash(rs.address)).toBe(false);
    const fresh = vs.addRealServer(spec(1));
    expect(fresh).not.toBe(rs);
  });

  it("stays in the trash while connections reference it, and for the period after the last one ends", () => {
    const { vs, clock } = service();
    const rs = vs.byAddress.get("10.1.0.1:80")!;
    rs.activeConns = 1;
    vs.removeRealServer(rs);
    clock.now += 10 * DEST_TRASH_PERIOD_MS;
    expect(vs.inTrash(rs.address)).toBe(true);
    rs.activeConns = 0;
    rs.idleSince = clock.now;
    clock.now += DEST_TRASH_PERIOD_MS - 1;
    expect(vs.inTrash(rs.address)).toBe(true);
    clock.now += 1;
    expect(vs.inTrash(rs.address)).toBe(false);
  });
});

describe("the userspace scheduler of a kernel-engine service", () => {
  it("is told of changes only when something asks it, and then of all of them", () => {
    const vs = new VirtualService(
      VirtualServiceSpec.parse({ address: "10.0.0.1:80", engine: "kernel", scheduler: "wrr", realServers: [{ address: "10.1.0.1:80" }, { address: "10.1.0.2:80" }] }),
      { now: () => 0, random: Math.random },
    );
    const a = vs.byAddress.get("10.1.0.1:80")!;
    a.spec = { ...a.spec, weight: 0 };
    a.refresh();
    vs.schedulerUpdate();
    vs.addRealServer({ address: "10.1.0.3:80", weight: 2, forward: "nat", upperThreshold: 0, lowerThreshold: 0, adminState: "active" });
    const flow = { protocol: "tcp" as const, family: 4 as const, clientHost: "1.1.1.1", clientPort: 1, vHost: vs.host, vPort: 80 };
    const picks = Array.from({ length: 6 }, () => vs.scheduler.pick(flow)?.address);
    expect(picks.filter((p) => p === "10.1.0.1:80")).toHaveLength(0);
    expect(picks.filter((p) => p === "10.1.0.3:80")).toHaveLength(4);
  });
});
