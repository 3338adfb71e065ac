/**
 * `director-feedback`: the small agent a real server runs for dynamic feedback load balancing (LVS).
 * It samples, once a second, from /proc:
 *   cpu     share of CPU time busy (/proc/stat)
 *   memory  1 − MemAvailable / MemTotal (/proc/meminfo)
 *   swap    pages swapped in+out per second / 1000, at most 1 (/proc/vmstat)
 *   disk    the busiest block device's share of time doing I/O, as iostat's %util (/proc/diskstats)
 * and answers GET /load with them as JSON, each in [0, 1]. The director measures response time itself.
 *   director-feedback [--listen 0.0.0.0:9800] [--load-file FILE]
 * --load-file: report the loads in FILE (JSON: cpu, memory, swap, disk) instead, re-read on each request, so
 * another monitor can feed the director.
 */
import fs from "node:fs";
import http from "node:http";
import { parseEndpoint } from "@director/model";
import { Command } from "commander";

interface Sample {
  cpuBusy: number;
  cpuTotal: number;
  swapPages: number;
  ioTicks: Map<string, number>;
  at: number;
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function sample(): Sample {
  const cpu = (read("/proc/stat").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const total = cpu.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const vm = read("/proc/vmstat");
  const pswp = (k: string) => Number(new RegExp(`^${k} (\\d+)$`, "m").exec(vm)?.[1] ?? 0);
  const ioTicks = new Map<string, number>();
  for (const line of read("/proc/diskstats").split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14 || /^(loop|ram|dm-)/.test(f[2]!)) continue;
    ioTicks.set(f[2]!, Number(f[12]));
  }
  return { cpuBusy: total - idle, cpuTotal: total, swapPages: pswp("pswpin") + pswp("pswpout"), ioTicks, at: Date.now() };
}

function memoryLoad(): number {
  const m = read("/proc/meminfo");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(m)?.[1] ?? 0);
  const total = kb("MemTotal");
  return total ? 1 - kb("MemAvailable") / total : 0;
}

const clamp = (x: number) => Math.min(1, Math.max(0, Number.isFinite(x) ? x : 0));

const program = new Command()
  .name("director-feedback")
  .description("Reports this real server's loads to the director (dynamic feedback load balancing)")
  .option("--listen <host:port>", "address to answer on", "0.0.0.0:9800")
  .option("--load-file <file>", "report the loads in this JSON file instead of measuring")
  .action((opts: { listen: string; loadFile?: string }) => {
    const ep = parseEndpoint(opts.listen);
    if ("error" in ep) {
      process.stderr.write(`director-feedback: --listen: ${ep.error}\n`);
      process.exit(2);
    }
    let prev = sample();
    let loads = { cpu: 0, memory: memoryLoad(), swap: 0, disk: 0 };
    setInterval(() => {
      const cur = sample();
      const dt = Math.max(1, cur.at - prev.at);
      let disk = 0;
      for (const [dev, ticks] of cur.ioTicks) disk = Math.max(disk, (ticks - (prev.ioTicks.get(dev) ?? ticks)) / dt);
      loads = {
        cpu: clamp((cur.cpuBusy - prev.cpuBusy) / Math.max(1, cur.cpuTotal - prev.cpuTotal)),
        memory: clamp(memoryLoad()),
        swap: clamp((cur.swapPages - prev.swapPages) / (dt / 1000) / 1000),
        disk: clamp(disk),
      };
      prev = cur;
    }, 1000).unref();
    const server = http.createServer((req, res) => {
      if (req.method !== "GET" || req.url !== "/load") {
        res.writeHead(404, { "content-type": "text/plain" }).end("GET /load\n");
        return;
      }
      let body = loads;
      if (opts.loadFile) {
        try {
          const j = JSON.parse(fs.readFileSync(opts.loadFile, "utf8")) as Record<string, number>;
          body = { cpu: clamp(j.cpu ?? 0), memory: clamp(j.memory ?? 0), swap: clamp(j.swap ?? 0), disk: clamp(j.disk ?? 0) };
        } catch (e) {
          res.writeHead(503, { "content-type": "text/plain" }).end(`cannot read load file: ${(e as NodeJS.ErrnoException).code ?? "invalid JSON"}\n`);
          return;
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
    server.listen(ep.port, ep.host, () => process.stdout.write(`director-feedback listening on ${opts.listen}\n`));
    process.on("SIGTERM", () => server.close(() => process.exit(0)));
  });

await program.parseAsync();
