// N small HTTP real servers in one process (ports BASE..BASE+N-1 on 127.0.0.1), for the console benchmark's
// 1,000-real-server service. Answers "ok <port>". Stops on SIGTERM.
import http from "node:http";

const [n, base] = process.argv.slice(2).map(Number);
const servers = [];
let ready = 0;
for (let i = 0; i < n; i++) {
  const port = base + i;
  const s = http.createServer((_req, res) => res.end(`ok ${port}\n`));
  s.listen(port, "127.0.0.1", () => {
    if (++ready === n) process.stdout.write("ready\n");
  });
  servers.push(s);
}
process.on("SIGTERM", () => {
  for (const s of servers) s.close();
  process.exit(0);
});
