/**
 * vsadm against a real agent (in this process, real control API over HTTPS, real listeners): the table built
 * with ipvsadm commands reads back in ipvsadm's layout, refusals change nothing, -R is all or nothing, and
 * -S → -C → -R gives the same table back.
 */
import net from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAgentClient, resolveAgentEndpoint } from "../src/control/client.js";
import { runVsadm } from "../src/cli/vsadm/run.js";
import { startTestAgent, type TestAgent, until } from "./helpers/agent.js";
import { freePort } from "./helpers/ports.js";

let t: TestAgent | undefined;
let echo: net.Server;
let rsPort: number;
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  echo = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.pipe(s);
  });
  rsPort = await freePort();
  await new Promise<void>((resolve) => echo.listen(rsPort, "127.0.0.1", resolve));
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => echo.close(resolve));
});
beforeEach(async () => {
  t = await startTestAgent({});
});
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function vsadm(line: string, stdin = "") {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runVsadm(line.split(" "), {
    stdout: (s) => out.push(s),
    stderr: (s) => err.push(s),
    readStdin: async () => stdin,
    connect: () => createAgentClient(resolveAgentEndpoint({ DIRECTOR_STATE_DIR: t!.stateDir })),
  });
  return { code, stdout: out.join(""), stderr: err.join("") };
}

async function ok(line: string, stdin = ""): Promise<string> {
  const r = await vsadm(line, stdin);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout;
}

describe("vsadm against a running agent", () => {
  it("builds a table with ipvsadm commands and lists it in ipvsadm's layout", async () => {
    const vip = `127.0.0.1:${await freePort()}`;
    const rip = `127.0.0.1:${rsPort}`;
    await ok(`-A -t ${vip} -s wrr`);
    await ok(`-a -t ${vip} -r ${rip} -m -w 3`);
    expect(await ok("-L -n")).toBe(
      [
        "IP Virtual Server version 1.2.1 (size=4096)",
        "Prot LocalAddress:Port Scheduler Flags",
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
        `TCP  ${vip} wrr`,
        `  -> ${rip.padEnd(28)} Masq    3      0          0         `,
        "",
      ].join("\n"),
    );
    expect(await ok("-S -n")).toBe(`-A -t ${vip} -s wrr\n-a -t ${vip} -r ${rip} -m -w 3\n`);

    // A live connection shows in -L, -Lc and --stats; -Z zeroes the totals.
    const client = net.connect({ host: "127.0.0.1", port: Number(vip.split(":")[1]) });
    client.on("error", () => {});
    await new Promise<void>((resolve) => client.once("connect", () => resolve()));
    client.write("ping");
    await new Promise<void>((resolve) => client.once("data", () => resolve()));
    await until(async () => (await ok("-Lnc")).includes("ESTABLISHED"), "the connection in -Lc");
    const conns = (await ok("-Lnc")).split("\n");
    expect(conns.slice(0, 2)).toEqual(["IPVS connection entries", "pro expire state       source             virtual            destination"]);
    expect(conns[2]).toMatch(new RegExp(`^TCP \\d\\d:\\d\\d  ESTABLISHED 127\\.0\\.0\\.1:\\d+ +${vip.replace(/\./g, "\\.")} +${rip.replace(/\./g, "\\.")}$`));
    expect(await ok("-L -n")).toContain(`  -> ${rip.padEnd(28)} Masq    3      1          0         `);
    expect((await ok("-L -n --stats")).split("\n")[3]).toMatch(/^TCP {2}127\.0\.0\.1:\d+ +1 /);
    await ok(`-Z -t ${vip}`);
    expect((await ok("-L -n --stats")).split("\n")[3]).toMatch(/^TCP {2}127\.0\.0\.1:\d+ +0 /);
    client.destroy();
  });

  it("refusals are one line, exit 1, and change nothing", async () => {
    const vip = `127.0.0.1:${await freePort()}`;
    await ok(`-A -t ${vip}`);
    const before = await ok("-S");

    const dr = await vsadm(`-a -t ${vip} -r 127.0.0.1:${rsPort} -g`);
    expect(dr.code).toBe(1);
    expect(dr.stderr).toMatch(/^vsadm: .*direct routing \(-g\) needs the kernel engine.*\n$/);
    const dup = await vsadm(`-A -t ${vip} -s rr`);
    expect(dup).toMatchObject({ code: 1, stderr: `vsadm: virtual service tcp/${vip} already exists\n` });
    const missing = await vsadm(`-L -t 127.0.0.1:1`);
    expect(missing).toMatchObject({ code: 1, stderr: "vsadm: no such virtual service tcp/127.0.0.1:1\n" });
    const zero = await vsadm("-Z -t 127.0.0.1:1");
    expect(zero).toMatchObject({ code: 1, stderr: "vsadm: no such virtual service tcp/127.0.0.1:1\n" });
    const bad = await vsadm(`-a -t ${vip} -r 127.0.0.1:0`);
    expect(bad).toMatchObject({ code: 2, stderr: "vsadm: -r 127.0.0.1:0: port 0 is out of range 1..65535\n" });

    expect(await ok("-S")).toBe(before);
  });

  it("-R applies every line or none, naming the line that failed", async () => {
    const vip = `127.0.0.1:${await freePort()}`;
    const vip2 = `127.0.0.1:${await freePort()}`;
    await ok(`-A -t ${vip}`);
    const before = await ok("-S");

    // Line 3 adds a service that exists: the agent refuses, line 2's service is not added either.
    const refused = await vsadm("-R", `# batch\n-A -t ${vip2} -s rr\n-A -t ${vip} -s rr\n`);
    expect(refused).toMatchObject({ code: 1, stderr: `vsadm: line 3: virtual service tcp/${vip} already exists\n` });
    // A line vsadm cannot parse: nothing is sent.
    const unparsable = await vsadm("-R", `-A -t ${vip2}\n-a -t ${vip2} -r 127.0.0.1:${rsPort} -w lots\n`);
    expect(unparsable).toMatchObject({ code: 2, stderr: `vsadm: -R: line 2: -w: weight "lots" is not a whole number\n` });

    expect(await ok("-S")).toBe(before);
  });

  it("-S, -C and -R give the same table back", async () => {
    const [a, b] = [await freePort(), await freePort()];
    await ok(`-A -t 127.0.0.1:${a} -s sh -b sh-port -p 600 -M 255.255.255.0`);
    await ok(`-a -t 127.0.0.1:${a} -r 127.0.0.1:${rsPort} -w 2 -x 100 -y 50`);
    await ok(`-a -t 127.0.0.1:${a} -r 127.0.0.2:${rsPort} -w 0`);
    await ok(`-A -u 127.0.0.1:${b} -s rr -o`);
    await ok(`-a -u 127.0.0.1:${b} -r 127.0.0.1:${rsPort}`);
    const saved = await ok("-S -n");
    expect(saved.split("\n").length).toBe(6);

    await ok("-C");
    expect(await ok("-S")).toBe("");
    await ok("-R", saved);
    expect(await ok("-S -n")).toBe(saved);
    // Restoring on top of the same table is refused whole; with -C first it replaces it.
    expect((await vsadm("-R", saved)).code).toBe(1);
    await ok("-R", `-C\n${saved}`);
    expect(await ok("-S -n")).toBe(saved);
  });

  it("-e --drain, --maintenance, --activate: the admin state, shown by --admin", async () => {
    const vip = `127.0.0.1:${await freePort()}`;
    const rip = `127.0.0.1:${rsPort}`;
    await ok(`-A -t ${vip}`);
    await ok(`-a -t ${vip} -r ${rip} -w 4`);
    const row = async () => (await ok("-L -n --admin")).split("\n")[4];

    await ok(`-e -t ${vip} -r ${rip} --drain`);
    expect(await row()).toBe(`  -> ${rip.padEnd(28)} Masq    0      0          0          draining`);
    expect(await ok("-S")).toContain(`-r ${rip} -m -w 4`);
    await ok(`-e -t ${vip} -r ${rip} --maintenance --deadline 60`);
    // Out of rotation: the weight the scheduler uses is 0 (as ipvsadm shows an inhibited server); -S keeps 4.
    expect(await row()).toBe(`  -> ${rip.padEnd(28)} Masq    0      0          0          maintenance`);
    expect(await ok("-S")).toContain(`-r ${rip} -m -w 4`);
    await ok(`-e -t ${vip} -r ${rip} --activate`);
    expect(await row()).toBe(`  -> ${rip.padEnd(28)} Masq    4      0          0          active`);
    // -e as ipvsadm: options left out return to their defaults.
    await ok(`-e -t ${vip} -r ${rip} -x 10`);
    expect(await ok("-S")).toContain(`-r ${rip} -m -w 1 -x 10\n`);
  });

  it("--set and -L --timeout", async () => {
    await ok("--set 600 0 30");
    expect(await ok("-L --timeout")).toBe("Timeout (tcp tcpfin udp): 600 120 30\n");
  });
});
