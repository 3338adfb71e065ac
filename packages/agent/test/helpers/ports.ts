import net from "node:net";

/** Ports this process handed out already: the kernel may offer a closed one again, and two uses would collide. */
const given = new Set<number>();

/** A loopback TCP port that was free a moment ago (bind 0, read, close), never the same one twice per process. */
export async function freePort(): Promise<number> {
  for (;;) {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    if (given.has(port)) continue;
    given.add(port);
    return port;
  }
}

/** Resolves once host:port accepts TCP connections (polls connect, bounded). */
export async function waitForPort(port: number, host = "127.0.0.1", timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${host}:${port} did not open`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
