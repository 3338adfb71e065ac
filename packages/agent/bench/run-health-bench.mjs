// Bundles health-bench.ts with esbuild (Node 20 cannot strip types) and runs it.
//   node packages/agent/bench/run-health-bench.mjs
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
// Written beside the agent's dist so npm dependencies (kept external) resolve from node_modules.
const outfile = join(here, "..", "dist", `health-bench-${process.pid}.mjs`);
await build({
  entryPoints: [join(here, "health-bench.ts")],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile,
  external: ["pino"],
  logLevel: "warning",
});
try {
  await import(pathToFileURL(outfile).href);
} finally {
  rmSync(outfile, { force: true });
}
