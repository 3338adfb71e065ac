/** The PROXY protocol header the engine sends first to a real server, read by a real TCP server process. */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startTestAgent, type TestAgent } from "./helpers/agent.js";
import { freePort } from "./helpers/ports.js";

let t: TestAgent | undefined;
let server: net.Server | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

async function firstBytes(version: "v1" | "v2"): Promise<{ header: Buffer; clientPort: number; vip: number }> {
  const rsPort = await freePort();
  const vip = await freePort();
  const got = new Promise<Buffer>((resolve) => {
    server = net.createServer((s) => {
      let buf = Buffer.alloc(0);
      s.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.subarray(-5).toString() === "hello") {
          resolve(buf);
          s.end();
        }
      });
    });
  });
  await new Promise<void>((r) => server!.listen(rsPort, "127.0.0.1", r));
  t = await startTestAgent({ virtualServices: [{ address: `127.0.0.1:${vip}`, proxyProtocol: version, realServers: [{ address: `127.0.0.1:${rsPort}` }] }] });
  const c = net.connect({ host: "127.0.0.1", port: vip });
  await new Promise<void>((r) => c.once("connect", () => r()));
  c.write("hello");
  const header = await got;
  const clientPort = c.localPort!;
  c.destroy();
  return { header, clientPort, vip };
}

describe("PROXY protocol", () => {
  it("v1: a text line with the client and VIP addresses, then the payload", async () => {
    const { header, clientPort, vip } = await firstBytes("v1");
    expect(header.toString("latin1")).toBe(`PROXY TCP4 127.0.0.1 127.0.0.1 ${clientPort} ${vip}\r\nhello`);
  });

  it("v2: the binary signature, PROXY command, TCP over IPv4, addresses and ports", async () => {
    const { header, clientPort, vip } = await firstBytes("v2");
    expect(header.subarray(0, 12).toString("hex")).toBe("0d0a0d0a000d0a515549540a");
    expect(header[12]).toBe(0x21);
    expect(header[13]).toBe(0x11);
    expect(header.readUInt16BE(14)).toBe(12);
    expect([...header.subarray(16, 24)]).toEqual([127, 0, 0, 1, 127, 0, 0, 1]);
    expect(header.readUInt16BE(24)).toBe(clientPort);
    expect(header.readUInt16BE(26)).toBe(vip);
    expect(header.subarray(28).toString()).toBe("hello");
  });
});
