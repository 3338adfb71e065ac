// Medians and ratios from engine-bench.sh's raw.jsonl: req/s, MB/s, p99, errors, LB CPU; director/haproxy.
import { readFileSync } from "node:fs";
const rows = readFileSync(process.argv[2], "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
const med = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const n = s.length;
  return n ? (n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2) : Number.NaN;
};
const agg = {};
for (const r of rows) {
  const w = r.wrk;
  const s = w.duration_us / 1e6;
  const k = ((agg[r.load] ||= {})[r.config] ||= { rps: [], mbps: [], p99: [], cpu: [], errors: 0 });
  k.rps.push(w.requests / s);
  k.mbps.push(w.bytes / s / 1e6);
  k.p99.push(w.lat_p99_us / 1000);
  k.cpu.push((r.cpu_ticks / 100 / s) * 100);
  k.errors += w.err_connect + w.err_read + w.err_write + w.err_status + w.err_timeout;
}
const names = { ka: "keep-alive, 100 B", close: "new connection per request", "1m": "1 MiB transfers" };
const targets = { ka: 0.8, close: 0.6, "1m": 1.0 };
let out = "| load | config | req/s | MB/s | p99 ms | errors | LB CPU % | vs HAProxy |\n|---|---|---:|---:|---:|---:|---:|---:|\n";
const ratios = [];
for (const load of ["ka", "close", "1m"]) {
  const byCfg = agg[load] ?? {};
  const h = med(byCfg.haproxy?.rps ?? []);
  for (const [cfg, k] of Object.entries(byCfg)) {
    const rps = med(k.rps);
    const ratio = cfg === "direct" ? "" : `${(rps / h).toFixed(2)}×`;
    out += `| ${names[load]} | ${cfg} | ${Math.round(rps)} | ${med(k.mbps).toFixed(0)} | ${med(k.p99).toFixed(2)} | ${k.errors} | ${cfg === "direct" ? "" : med(k.cpu).toFixed(0)} | ${ratio} |\n`;
  }
  if (byCfg.director && byCfg.haproxy) ratios.push(`${load}: director/haproxy = ${(med(byCfg.director.rps) / h).toFixed(2)}× (target ≥ ${targets[load]}×)`);
}
console.log(out);
for (const r of ratios) console.log(r);
