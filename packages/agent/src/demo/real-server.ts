/**
 * A small real server for the demo and tests: HTTP on the given address, answers who it is.
 *   node dist/demo-real-server.js 127.0.0.1:18081 alpha
 * GET /            "alpha 127.0.0.1:18081\n"
 * GET /bytes/N     N bytes (for transfer tests)
 * GET /hold/MS     answers after MS milliseconds (for held connections)
 */
import http from "node:http";
import { parseEndpoint } from "@director/model";

const [addr = "127.0.0.1:18081", name = "real-server"] = process.argv.slice(2);
const ep = parseEndpoint(addr);
if ("error" in ep) {
  process.stderr.write(`demo-real-server: ${ep.error}\n`);
  process.exit(2);
}
const server = http.createServer((req, res) => {
  const url = req.url ?? "/";
  const bytes = /^\/bytes\/(\d{1,9})$/.exec(url);
  const hold = /^\/hold\/(\d{1,6})$/.exec(url);
  res.setHeader("x-real-server", name);
  if (bytes) {
    res.setHeader("content-length", bytes[1]!);
    res.end(Buffer.alloc(Number(bytes[1]), 120));
    return;
  }
  const body = `${name} ${addr}\n`;
  if (hold) {
    setTimeout(() => res.end(body), Number(hold[1]));
    return;
  }
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(ep.port, ep.host, () => process.stdout.write(`${name} listening on ${addr}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
