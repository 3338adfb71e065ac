/**
 * `director-agent [--config FILE] [--state-dir DIR] [--api-listen HOST:PORT]` — flags → config → run().
 */
import { Command } from "commander";
import { ConfigError, runAgent, VERSION } from "../agent.js";
import { defaultStateDir } from "../control/client.js";
import { loadConfigFile } from "../state/config-file.js";

const program = new Command()
  .name("director-agent")
  .description("Director agent: LVS-style load-balancing director")
  .version(VERSION)
  .option("-c, --config <file>", "declarative YAML configuration")
  .option("-s, --state-dir <dir>", "state directory (persisted state, API token, certificate)", process.env.DIRECTOR_STATE_DIR || defaultStateDir())
  .option("--api-listen <host:port>", "control API address (HTTPS)")
  .action(async (opts: { config?: string; stateDir: string; apiListen?: string }) => {
    try {
      const agent = await runAgent({ configFile: opts.config, stateDir: opts.stateDir, apiListen: opts.apiListen });
      process.on("SIGHUP", () => void agent.reload());
      const stop = (sig: string) => void agent.shutdown(sig).then(() => process.exit(0));
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGINT", () => stop("SIGINT"));
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`director-agent: ${e.where}: configuration rejected\n${e.errors.map((x) => `  ${x}\n`).join("")}`);
        process.exit(2);
      }
      process.stderr.write(`director-agent: ${(e as Error).message}\n`);
      process.exit(1);
    }
  });

program
  .command("check-config <file>")
  .description("validate a configuration file (exit 0 if valid, 1 with every problem listed by line)")
  .action((file: string) => {
    const r = loadConfigFile(file);
    if (r.ok) {
      process.stdout.write(`${file}: configuration valid (${r.config.virtualServices.length} virtual services)\n`);
      process.exit(0);
    }
    process.stderr.write(`${file}: configuration invalid\n${r.errors.map((x) => `  ${x}\n`).join("")}`);
    process.exit(1);
  });

await program.parseAsync();
