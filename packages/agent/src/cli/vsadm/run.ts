/**
 * Runs one vsadm invocation: parse, then (only if the arguments are valid) talk to the agent, write the
 * output and return the exit status. ipvsadm's statuses: 2 for bad arguments, 1 for a refusal from below
 * (here: the agent, or no agent). Every error is one line on stderr; a refused change changes nothing,
 * because the agent applies each batch atomically.
 * I/O comes in through VsadmIO, so tests drive this with a fake client and captured output.
 */
import type { AgentConfig, ConnectionEntry, Op, ServiceKey, VirtualServiceStatus } from "@director/model";
import { serviceKey } from "@director/model";
import { formatConnections, formatServices, formatTimeouts, sortRealServers, sortServices } from "./format.js";
import { HELP_TEXT, VERSION_TEXT } from "./help.js";
import { type Command, type ListCommand, parseArgs } from "./parse.js";
import { formatSave, parseRestore } from "./save.js";

/** The part of the agent's control API vsadm uses (control/router.ts); the tRPC client satisfies it. */
export interface VsadmClient {
  service: { list: { query(input: { key?: ServiceKey }): Promise<VirtualServiceStatus[]> } };
  connection: { list: { query(input: { service?: ServiceKey }): Promise<ConnectionEntry[]> } };
  config: {
    get: { query(): Promise<Pick<AgentConfig, "timeouts">> };
    change: { mutate(input: { ops: Op[] }): Promise<unknown> };
  };
  stats: { zero: { mutate(input: { key?: ServiceKey }): Promise<unknown> } };
  close?(): void;
}

export interface VsadmIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** All of stdin, for -R. */
  readStdin(): Promise<string>;
  /** Finds the agent and opens a client; may throw (no agent configured). Called only for valid commands. */
  connect(): VsadmClient;
}

export async function runVsadm(argv: readonly string[], io: VsadmIO): Promise<number> {
  const parsed = parseArgs(argv);
  if (!parsed.ok) return error(io, parsed.error, 2);
  const cmd = parsed.command;
  if (cmd.kind === "help") {
    io.stdout(HELP_TEXT);
    return 0;
  }
  if (cmd.kind === "version") {
    io.stdout(VERSION_TEXT);
    return 0;
  }

  let batch: { ops: Op[]; lines?: number[] } | undefined;
  if (cmd.kind === "restore") {
    const r = parseRestore(await io.readStdin());
    if (!r.ok) return error(io, `-R: ${r.error}`, 2);
    if (!r.ops.length) return 0;
    batch = r;
  } else if (cmd.kind === "apply") {
    batch = { ops: cmd.ops };
  }

  let client: VsadmClient;
  try {
    client = io.connect();
  } catch (e) {
    return error(io, (e as Error).message, 1);
  }
  try {
    if (batch) {
      await client.config.change.mutate({ ops: batch.ops });
      return 0;
    }
    return await query(cmd, client, io);
  } catch (e) {
    return error(io, agentError(e, batch), 1);
  } finally {
    client.close?.();
  }
}

async function query(cmd: Command, client: VsadmClient, io: VsadmIO): Promise<number> {
  switch (cmd.kind) {
    case "list":
      return list(cmd, client, io);
    case "zero":
      await client.stats.zero.mutate(cmd.service ? { key: cmd.service } : {});
      return 0;
    case "save":
      io.stdout(formatSave(await client.service.list.query({}), cmd.sort));
      return 0;
    default:
      throw new Error(`unexpected command ${cmd.kind}`);
  }
}

async function list(cmd: ListCommand, client: VsadmClient, io: VsadmIO): Promise<number> {
  const json = (value: unknown) => io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  switch (cmd.what) {
    case "connections": {
      const entries = await client.connection.list.query(cmd.service ? { service: cmd.service } : {});
      if (cmd.json) json(entries);
      else io.stdout(formatConnections(entries, cmd.layout === "persistent-conn"));
      return 0;
    }
    case "timeout": {
      const { timeouts } = await client.config.get.query();
      if (cmd.json) json(timeouts);
      else io.stdout(formatTimeouts(timeouts));
      return 0;
    }
    case "daemon":
      // ipvsadm prints one line per running sync daemon; Director has none.
      if (cmd.json) json([]);
      return 0;
    case "services": {
      const services = await client.service.list.query(cmd.service ? { key: cmd.service } : {});
      if (cmd.service && !services.length) return error(io, `no such virtual service ${serviceKey(cmd.service)}`, 1);
      if (cmd.json) {
        json(cmd.sort ? sortServices(services).map((vs) => ({ ...vs, realServers: sortRealServers(vs.realServers) })) : services);
        return 0;
      }
      io.stdout(formatServices(services, { layout: cmd.layout, exact: cmd.exact, sort: cmd.sort, admin: cmd.admin, header: !cmd.service }));
      return 0;
    }
  }
}

function error(io: VsadmIO, message: string, code: number): number {
  io.stderr(`vsadm: ${message.replace(/\s*\n\s*/g, " ")}\n`);
  return code;
}

/**
 * The agent's words for a refusal, in one line. It numbers the failing ops of a batch ("change 3 (op): …");
 * for -R that becomes the input line number, for a single command the numbering is noise and is dropped.
 */
export function agentError(e: unknown, batch?: { ops: Op[]; lines?: number[] }): string {
  const err = e as { message?: string; data?: { errors?: unknown }; cause?: { code?: unknown } };
  const code = typeof err.cause?.code === "string" ? err.cause.code : undefined;
  if (!err.data && code) return `cannot reach the agent: ${err.message ?? code}`;
  const errors = Array.isArray(err.data?.errors) && err.data.errors.length ? err.data.errors.map(String) : [err.message ?? String(e)];
  const lines = batch?.lines;
  const out = errors.map((m) => {
    const numbered = /^change (\d+) \([\w.]+\): (.*)$/s.exec(m);
    if (numbered) {
      const line = lines?.[Number(numbered[1]) - 1];
      return line !== undefined ? `line ${line}: ${numbered[2]}` : numbered[2]!;
    }
    return lines?.length === 1 ? `line ${lines[0]}: ${m}` : m;
  });
  return [...new Set(out)].join("; ");
}
