/**
 * Real servers for end-to-end tests: one Debian nginx process serving several loopback ports, each answering
 * with its own name ("GET /" → "rs1\n"), plus /bytes (1 MiB) for transfer tests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { waitForPort } from "./ports.js";

export interface RealServerProcess {
  ports: number[];
  names: string[];
  stop(): Promise<void>;
}

export async function startNginx(servers: { port: number; name: string }[]): Promise<RealServerProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "director-nginx-"));
  fs.chmodSync(dir, 0o755); // nginx workers run unprivileged and must read the files
  fs.writeFileSync(path.join(dir, "1m"), Buffer.alloc(1024 * 1024, 120));
  const blocks = servers
    .map(
      (s) => `  server {
    listen 127.0.0.1:${s.port} backlog=1024;
    keepalive_timeout 65s;
    location = / { default_type text/plain; return 200 "${s.name}\\n"; }
    location = /1m { root ${dir}; }
  }`,
    )
    .join("\n");
  const conf = `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
${blocks}
}
`;
  fs.writeFileSync(path.join(dir, "nginx.conf"), conf);
  const child: ChildProcess = spawn("nginx", ["-c", path.join(dir, "nginx.conf"), "-p", dir], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    await Promise.race([
      Promise.all(servers.map((s) => waitForPort(s.port))),
      exited.then(() => {
        throw new Error(`nginx exited: ${stderr}`);
      }),
    ]);
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  return {
    ports: servers.map((s) => s.port),
    names: servers.map((s) => s.name),
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
