// Bundles the agent's entry points into dist/: our workspace packages are bundled (they ship TypeScript
// source); npm dependencies stay external and load from node_modules.
import { readFileSync } from "node:fs";
import { build } from "esbuild";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));
const external = Object.keys(pkg.dependencies).filter((d) => !d.startsWith("@director/"));

await build({
  entryPoints: {
    "director-agent": "src/cli/director-agent.ts",
    vsadm: "src/cli/vsadm.ts",
    "director-feedback": "src/cli/director-feedback.ts",
    "demo-real-server": "src/demo/real-server.ts",
  },
  outdir: "dist",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  external,
  logLevel: "warning",
});
