/**
 * What the kernel engine and its tests leave behind: deleting the last kernel service removes the agent's table;
 * a topology's cleanup leaves no namespace, link or process; and a topology set up over the leftovers of a run
 * that never cleaned up (a crashed test) removes them first. Needs root, iproute2, nftables and nginx.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { inNs, pidsIn, Topology, waitFor } from "./helpers/netns.js";

const TAG = `kc${process.pid % 100000}`;
const VIP = "10.241.0.1";
const namespaces = () =>
  spawnSync("ip", ["netns", "list"], { encoding: "utf8" })
    .stdout.split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter((n) => n.startsWith(`${TAG}-`));
/** Running (a zombie, ended but not yet reaped by its parent, this test process, is not). */
const alive = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]![0] !== "Z";
  } catch {
    return false;
  }
};


let t = new Topology(TAG, 1);
afterAll(() => t.cleanup());

async function setUp(topology: Topology) {
  await topology.create("director-cleanup-");
  topology.linkClient(["10.241.0.2/24"], `${VIP}/24`);
  await topology.startRealServers("10.242");
  topology.writeConfig({
    api: { listen: "127.0.0.1:9443" },
    shutdownGraceSeconds: 1,
    virtualServices: [{ address: `${VIP}:80`, engine: "kernel", scheduler: "rr", realServers: [{ address: "10.242.1.2:80" }] }],
  });
  await topology.startAgent();
}

describe("cleanup", () => {
  it("deleting the last kernel service removes the agent's table; forwarding for it stops", async () => {
    await setUp(t);
    expect(inNs(t.ns.client, "curl", "-s", "--max-time", "3", `http://${VIP}/`).stdout.trim()).toBe("rs1");
    expect(inNs(t.ns.director, "nft", "list", "table", "ip", "director").status).toBe(0);
    const r = t.vsadm("-D", "-t", `${VIP}:80`);
    expect(r.status, r.stderr).toBe(0);
    await waitFor(() => inNs(t.ns.director, "nft", "list", "table", "ip", "director").status !== 0, "the table to be deleted");
    expect(inNs(t.ns.director, "nft", "list", "ruleset").stdout.trim()).toBe("");
    // The VIP is the director's own address here: without the DNAT, nothing listens on port 80 (refused: curl 7).
    expect(inNs(t.ns.client, "curl", "-s", "--max-time", "3", `http://${VIP}/`).status).toBe(7);
  });

  it("a topology set up over a crashed run's leftovers removes them first; its cleanup leaves nothing", async () => {
    // The first topology is abandoned as a crashed run leaves it: namespaces, links, nginx, the agent running.
    const leftovers = t.ns.rs.concat(t.ns.director).flatMap(pidsIn);
    expect(leftovers).toContain(t.agent.pid);
    expect(leftovers.length).toBeGreaterThanOrEqual(3); // the agent, an nginx master and its worker
    t = new Topology(TAG, 1);
    await setUp(t);
    for (const pid of leftovers) expect(alive(pid), `leftover process ${pid}`).toBe(false);
    expect(inNs(t.ns.client, "curl", "-s", "--max-time", "3", `http://${VIP}/`).stdout.trim()).toBe("rs1");
    const running = t.ns.rs.concat(t.ns.director).flatMap(pidsIn);
    await t.cleanup();
    expect(namespaces()).toEqual([]);
    expect(spawnSync("ip", ["-o", "link"], { encoding: "utf8" }).stdout).not.toContain(TAG);
    for (const pid of running) expect(alive(pid), `process ${pid}`).toBe(false);
  });
});
