/**
 * The userspace TCP relay (engine/userspace/tcp.ts, on Node's libuv handles) through a real agent: bytes arrive
 * exact both ways also when the reader is slow (queued writes, read buffers handed to them, back-pressure),
 * FIN is passed on (half-close), a RST is passed on both ways, and every connection leaves the table.
 */
import { createHash, randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startTestAgent, type TestAgent, until } from "./helpers/agent.js";
import { freePort } from "./helpers/ports.js";

let t: TestAgent | undefined;
const servers: net.Server[] = [];
afterEach(async () => {
  await t?.stop();
  t = undefined;
  for (const s of servers.splice(0)) s.close();
});

/** A real server on a free port; `onSocket` handles each connection. */
async function realServer(onSocket: (s: net.Socket) => void): Promise<number> {
  const port = await freePort();
  const server = net.createServer({ allowHalfOpen: true }, onSocket);
  servers.push(server);
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return port;
}

async function agentFor(port: number): Promise<number> {
  const vip = await freePort();
  t = await startTestAgent({ virtualServices: [{ address: `127.0.0.1:${vip}`, scheduler: "rr", realServers: [{ address: `127.0.0.1:${port}` }] }] });
  return vip;
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const live = async () => (await t!.client.service.list.query({}))[0]!.realServers[0]!.activeConns;

function connect(vip: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port: vip, host: "127.0.0.1", allowHalfOpen: true }, () => resolve(s));
    s.once("error", reject);
  });
}

describe("userspace TCP relay", () => {
  it("16 MiB each way arrive byte-exact through an echo server, with the client reading slowly (back-pressure)", async () => {
    const port = await realServer((s) => s.pipe(s));
    const vip = await agentFor(port);
    const data = randomBytes(16 * 1024 * 1024);
    const s = await connect(vip);
    const got: Buffer[] = [];
    let n = 0;
    const done = new Promise<void>((resolve) => {
      s.on("data", (d: Buffer) => {
        got.push(d);
        n += d.length;
        // Pause now and then so that the director's writes to the client queue up.
        if (got.length % 8 === 0) {
          s.pause();
          setTimeout(() => s.resume(), 2);
        }
        if (n >= data.length) resolve();
      });
    });
    s.end(data);
    await done;
    expect(n).toBe(data.length);
    expect(sha(Buffer.concat(got))).toBe(sha(data));
    const stats = (await t!.client.service.list.query({}))[0]!.realServers[0]!.stats;
    await until(async () => (await live()) === 0, "the connection to leave the table");
    expect(stats.inBytes).toBeGreaterThan(0);
  }, 60_000);

  it("half-close: the client's FIN reaches the real server, which answers after it; the answer arrives", async () => {
    const port = await realServer((s) => {
      let bytes = 0;
      s.on("data", (d: Buffer) => {
        bytes += d.length;
      });
      s.on("end", () => s.end(`got ${bytes} then FIN`));
    });
    const vip = await agentFor(port);
    const s = await connect(vip);
    const reply = new Promise<string>((resolve) => {
      let text = "";
      s.setEncoding("utf8");
      s.on("data", (d: string) => {
        text += d;
      });
      s.on("end", () => resolve(text));
    });
    s.end(Buffer.alloc(100_000, 1));
    expect(await reply).toBe("got 100000 then FIN");
    await until(async () => (await live()) === 0, "the connection to leave the table");
  });

  it("a real server's RST mid-connection reaches the client as a RST", async () => {
    const port = await realServer((s) => s.once("data", () => s.resetAndDestroy()));
    const vip = await agentFor(port);
    const s = await connect(vip);
    const error = new Promise<string>((resolve) => s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "")));
    s.write("hello");
    expect(await error).toBe("ECONNRESET");
  });

  it("a client's RST mid-transfer reaches the real server as a RST; the connection leaves the table", async () => {
    let serverSaw: Promise<string> = Promise.resolve("");
    const port = await realServer((s) => {
      serverSaw = new Promise((resolve) => {
        s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? ""));
        s.on("close", () => resolve("closed"));
      });
      // Keeps writing until the other side goes.
      const chunk = Buffer.alloc(64 * 1024);
      const pump = () => {
        while (!s.destroyed && s.write(chunk));
        if (!s.destroyed) s.once("drain", pump);
      };
      pump();
    });
    const vip = await agentFor(port);
    const s = await connect(vip);
    await new Promise<void>((resolve) => s.once("data", () => resolve()));
    s.resetAndDestroy();
    expect(await until(async () => (await live()) === 0, "the connection to leave the table").then(() => serverSaw)).toMatch(/ECONNRESET|EPIPE|closed/);
  });

  it("a client's RST after its FIN still reaches the real server as a RST (not a second FIN)", async () => {
    let server!: net.Socket;
    let serverPort = 0;
    const serverEnded = new Promise<void>((resolve) => {
      void realServer((s) => {
        server = s;
        s.on("error", () => {});
        s.on("end", () => resolve());
        s.resume();
      }).then((p) => (serverPort = p));
    });
    await until(() => serverPort !== 0, "the real server");
    const vip = await agentFor(serverPort);
    const s = await connect(vip);
    s.end("bye"); // FIN: the director passes it on (its shutdown of the real server's socket completes)
    await serverEnded;
    // The server's socket got our FIN: it waits in CLOSE_WAIT until it closes or is reset.
    const closeWait = () =>
      spawnSync("ss", ["-tnH", "state", "close-wait", `( sport = :${serverPort} )`], { encoding: "utf8" }).stdout.split("\n").filter((l) => l.trim() !== "").length;
    expect(closeWait()).toBe(1);
    await new Promise<void>((resolve) => {
      s.once("close", () => resolve());
      s.resetAndDestroy();
    });
    // The server writes: the director finds the client reset, and resets the server's side too.
    server.write("late");
    await until(async () => (await live()) === 0, "the connection to leave the table");
    await until(() => closeWait() === 0, "the real server's socket to be reset out of CLOSE_WAIT");
  });

  it("localAddresses: connections to the real server leave from the listed addresses in turn", async () => {
    const from: string[] = [];
    const port = await realServer((s) => {
      from.push(s.remoteAddress ?? "");
      s.end("ok");
    });
    const vip = await freePort();
    t = await startTestAgent({
      virtualServices: [{ address: `127.0.0.1:${vip}`, scheduler: "rr", localAddresses: ["127.0.0.2", "127.0.0.3"], realServers: [{ address: `127.0.0.1:${port}` }] }],
    });
    for (let i = 0; i < 4; i++) {
      const s = await connect(vip);
      await new Promise<void>((resolve) => s.once("end", () => resolve()).resume());
      s.end();
    }
    expect(from).toEqual(["127.0.0.2", "127.0.0.3", "127.0.0.2", "127.0.0.3"]);
  });

  it("a real server that refuses gets the client a RST, and counts as a failed connect", async () => {
    const port = await freePort(); // nothing listens
    const vip = await agentFor(port);
    const s = net.connect({ port: vip, host: "127.0.0.1" });
    const code = await new Promise<string>((resolve) => {
      s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? ""));
      s.on("close", () => resolve("closed"));
    });
    expect(code).toBe("ECONNRESET");
    expect(await live()).toBe(0);
  });

  it("200 short connections at once: every one answered, none left in the table", async () => {
    const port = await realServer((s) => s.once("data", () => s.end("ok")));
    const vip = await agentFor(port);
    const one = () =>
      new Promise<string>((resolve, reject) => {
        const s = net.connect({ port: vip, host: "127.0.0.1" }, () => s.write("x"));
        let text = "";
        s.setEncoding("utf8");
        s.on("data", (d: string) => {
          text += d;
        });
        s.on("end", () => resolve(text));
        s.on("error", reject);
      });
    const answers = await Promise.all(Array.from({ length: 200 }, one));
    expect(answers.every((a) => a === "ok")).toBe(true);
    await until(async () => (await live()) === 0, "every connection to leave the table");
    expect((await t!.client.service.list.query({}))[0]!.realServers[0]!.stats.conns).toBe(200);
  });
});
