// Bundles scheduler-bench.ts with esbuild (Node 20 cannot strip types) and runs it.
//   node packages/agent/bench/run-scheduler-bench.mjs [seconds-per-case] [scheduler …]
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const outfile = join(tmpdir(), `director-scheduler-bench-${process.pid}.mjs`);
await build({
  entryPoints: [join(here, "scheduler-bench.ts")],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile,
  logLevel: "warning",
});
try {
  await import(pathToFileURL(outfile).href);
} finally {
  rmSync(outfile, { force: true });
}
