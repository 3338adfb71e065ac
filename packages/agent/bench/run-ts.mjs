// Runs a TypeScript benchmark: bundles it with esbuild (Node 20 cannot strip types) beside the agent's dist, so
// npm dependencies (kept external) resolve from node_modules, then imports it. Arguments after the file pass on.
//   node packages/agent/bench/run-ts.mjs scheduler-bench.ts [seconds-per-case] [scheduler …]
//   node packages/agent/bench/run-ts.mjs health-bench.ts
import { readFileSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error("usage: run-ts.mjs BENCH.ts [args…]");
  process.exit(2);
}
const pkg = JSON.parse(readFileSync(join(here, "..", "package.json"), "utf8"));
const outfile = join(here, "..", "dist", `${basename(file, ".ts")}-${process.pid}.mjs`);
await build({
  entryPoints: [join(here, file)],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile,
  external: Object.keys(pkg.dependencies).filter((d) => !d.startsWith("@director/")),
  logLevel: "warning",
});
process.argv = [process.argv[0], outfile, ...rest];
try {
  await import(pathToFileURL(outfile).href);
} finally {
  rmSync(outfile, { force: true });
}
