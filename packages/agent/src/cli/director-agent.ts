/**
 * `director-agent [--config FILE] [--state-dir DIR] [--api-listen HOST:PORT]` — flags → config → run().
 */
import fs from "node:fs";
import { Command } from "commander";
import { stringify } from "yaml";
import { ConfigError, runAgent, VERSION } from "../agent.js";
import { createToken, readTokens, revokeToken, SCOPES, type Scope } from "../control/auth.js";
import { defaultStateDir } from "../control/client.js";
import { loadConfigFile } from "../state/config-file.js";
import { importKeepalived, parseKeepalivedBlocks } from "../state/keepalived-import.js";

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
      const report = (what: string) => (e: unknown) => process.stderr.write(`director-agent: ${what} failed: ${(e as Error).message}\n`);
      process.on("SIGHUP", () => void agent.reload().catch(report("reload")));
      process.on("SIGUSR2", () => void agent.upgrade().catch(report("upgrade")));
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

program
  .command("import-keepalived <file>")
  .description("convert a keepalived.conf to a configuration: YAML on stdout, what is not imported as FILE:LINE: message on stderr")
  .action((file: string) => {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      process.stderr.write(`director-agent: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
      process.exitCode = 1;
      return;
    }
    const { config, problems } = importKeepalived(text);
    for (const p of problems) process.stderr.write(`${file}:${p.line}: ${p.message}\n`);
    const imported = config.virtualServices?.length ?? 0;
    if (imported === 0 && parseKeepalivedBlocks(text).statements.some((s) => s.keyword === "virtual_server")) {
      process.stderr.write(`director-agent: ${file}: no virtual_server could be imported\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`# Imported from ${file.replace(/[\r\n]/g, " ")} by director-agent import-keepalived: ${imported} virtual services, ${problems.length} problems.\n`);
    process.stdout.write(stringify(config));
  });

const stateDirDefault = process.env.DIRECTOR_STATE_DIR || defaultStateDir();

program
  .command("upgrade")
  .description("seamless upgrade: the running agent starts this version on its listening sockets, then drains and exits (SIGUSR2)")
  .option("-s, --state-dir <dir>", "the agent's state directory", stateDirDefault)
  .action((o: { stateDir: string }) => {
    let pid: number;
    try {
      pid = (JSON.parse(fs.readFileSync(`${o.stateDir}/api.json`, "utf8")) as { pid: number }).pid;
      process.kill(pid, "SIGUSR2");
    } catch (e) {
      process.stderr.write(`director-agent: no running agent in ${o.stateDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
      process.exit(1);
    }
    process.stdout.write(`asked agent ${pid} to hand over to a new process\n`);
  });
const token = program.command("token").description("API tokens with scopes: read, operate (drain, maintenance, weight), admin");
token
  .command("create")
  .description("create a token; it is printed once (only its hash is kept)")
  .requiredOption("--name <name>", "a name for the token (who or what uses it)")
  .requiredOption("--scope <scope>", `one of ${SCOPES.join(", ")}`)
  .option("-s, --state-dir <dir>", "the agent's state directory", stateDirDefault)
  .action((o: { name: string; scope: string; stateDir: string }) => {
    if (!SCOPES.includes(o.scope as Scope)) {
      process.stderr.write(`director-agent: --scope must be one of ${SCOPES.join(", ")}\n`);
      process.exit(2);
    }
    try {
      process.stdout.write(`${createToken(o.stateDir, o.name, o.scope as Scope)}\n`);
    } catch (e) {
      process.stderr.write(`director-agent: ${(e as Error).message}\n`);
      process.exit(1);
    }
  });
token
  .command("list")
  .description("list tokens (names and scopes, never the tokens)")
  .option("-s, --state-dir <dir>", "the agent's state directory", stateDirDefault)
  .action((o: { stateDir: string }) => {
    process.stdout.write("agent.token  admin\n");
    for (const t of readTokens(o.stateDir)) process.stdout.write(`${t.name}  ${t.scope}  created ${t.createdAt}\n`);
  });
token
  .command("revoke <name>")
  .description("revoke a token by name (takes effect at the next request)")
  .option("-s, --state-dir <dir>", "the agent's state directory", stateDirDefault)
  .action((name: string, o: { stateDir: string }) => {
    if (!revokeToken(o.stateDir, name)) {
      process.stderr.write(`director-agent: no token named ${name}\n`);
      process.exit(1);
    }
  });

await program.parseAsync();
