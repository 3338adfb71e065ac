/** Real clients for end-to-end tests: HTTP over a fresh TCP connection, held keep-alive connections, UDP. */
import dgram from "node:dgram";
import net from "node:net";

/** One request on a new connection; resolves the body. */
export function httpGet(port: number, reqPath = "/", host = "127.0.0.1"): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    let data = "";
    s.setEncoding("latin1");
    s.on("connect", () => s.write(`GET ${reqPath} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`));
    s.on("data", (d) => {
      data += d;
    });
    s.on("end", () => {
      const i = data.indexOf("\r\n\r\n");
      if (i < 0) return reject(new Error(`bad response: ${JSON.stringify(data.slice(0, 80))}`));
      resolve(data.slice(i + 4));
    });
    s.on("error", reject);
  });
}

export interface HeldConnection {
  /** Name of the real server that answered the first request. */
  name: string;
  socket: net.Socket;
  /** Sends another request on the same connection; resolves the body. */
  again(): Promise<string>;
  close(): void;
}

/** Opens a keep-alive connection, makes one request, keeps the connection open. */
export async function holdConnection(port: number, host = "127.0.0.1"): Promise<HeldConnection> {
  const socket = net.connect({ host, port });
  socket.setEncoding("latin1");
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  socket.on("error", () => {});
  const request = () =>
    new Promise<string>((resolve, reject) => {
      let data = "";
      const onData = (d: string) => {
        data += d;
        const i = data.indexOf("\r\n\r\n");
        if (i < 0) return;
        const m = /content-length:\s*(\d+)/i.exec(data.slice(0, i));
        const len = m ? Number(m[1]) : 0;
        if (data.length >= i + 4 + len) {
          socket.off("data", onData);
          socket.off("close", onClose);
          resolve(data.slice(i + 4, i + 4 + len));
        }
      };
      const onClose = () => reject(new Error("connection closed"));
      socket.on("data", onData);
      socket.once("close", onClose);
      socket.write("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
    });
  const name = (await request()).trim();
  return { name, socket, again: () => request().then((b) => b.trim()), close: () => socket.destroy() };
}

/** Sends one datagram from a given (or new) socket and resolves the first reply. */
export function udpAsk(port: number, payload: string, socket?: dgram.Socket, timeoutMs = 2000): Promise<string> {
  const s = socket ?? dgram.createSocket("udp4");
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.off("message", onMsg);
      if (!socket) s.close();
      reject(new Error("no UDP reply"));
    }, timeoutMs);
    const onMsg = (m: Buffer) => {
      clearTimeout(timer);
      s.off("message", onMsg);
      if (!socket) s.close();
      resolve(m.toString());
    };
    s.on("message", onMsg);
    s.send(payload, port, "127.0.0.1");
  });
}
