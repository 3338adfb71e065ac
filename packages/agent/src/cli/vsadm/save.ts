/**
 * The ipvsadm-save format both ways: `-S` writes the table as the commands that rebuild it, `-R` reads such
 * lines and turns them into ONE batch of ops, which the agent applies atomically (ipvsadm -R applies line by
 * line and stops half-way on an error; here a bad line rejects everything, named by its line number).
 *
 * Output is ipvsadm's FMT_RULE (print_service_entry): "-A -t VIP -s sched [-p T [-M mask]] [-o] [-b flags]",
 * then "-a -t VIP -r RIP -m|-g|-i -w W" per server. Director adds " -x U -y L" to a server line when it has
 * thresholds (ipvsadm drops them, so its save/restore loses them; ipvsadm -R accepts the options). What the
 * format cannot express (names, engine, PROXY protocol, admin states) is not written: the YAML config has it.
 * Input follows config_stream_read: whitespace-separated words, "#" starts a comment, a leading "ipvsadm"
 * (or "vsadm") word is ignored, blank lines are skipped.
 */
import type { Op, VirtualServiceStatus } from "@director/model";
import { persistenceMask, schedFlagsText, sortRealServers, sortServices } from "./format.js";
import { parseArgs } from "./parse.js";

const FORWARD_SWITCH = { nat: "-m", dr: "-g", tun: "-i", fullnat: "--fullnat" } as const;

/** `-S`: one "-A" line per service followed by its "-a" lines. Weights are the configured ones. */
export function formatSave(services: readonly VirtualServiceStatus[], sort = true): string {
  let out = "";
  for (const vs of sort ? sortServices(services) : services) {
    const svc = `${vs.protocol === "tcp" ? "-t" : "-u"} ${vs.address}`;
    let line = `-A ${svc} -s ${vs.scheduler}`;
    if (vs.persistence) {
      line += ` -p ${vs.persistence.timeout}`;
      const mask = persistenceMask(vs);
      if (mask) line += ` -M ${mask}`;
    }
    if (vs.onePacket) line += " -o";
    const flags = schedFlagsText(vs);
    if (flags) line += ` -b ${flags}`;
    out += `${line}\n`;
    for (const rs of sort ? sortRealServers(vs.realServers) : vs.realServers) {
      let server = `-a ${svc} -r ${rs.address} ${FORWARD_SWITCH[rs.forward]} -w ${rs.weight}`;
      if (rs.upperThreshold) server += ` -x ${rs.upperThreshold}`;
      if (rs.lowerThreshold) server += ` -y ${rs.lowerThreshold}`;
      out += `${server}\n`;
    }
  }
  return out;
}

export type RestoreResult =
  | { ok: true; ops: Op[]; /** For each op, the 1-based input line it came from. */ lines: number[] }
  | { ok: false; error: string };

const RESTORABLE = new Set(["-A", "-E", "-D", "-C", "-a", "-e", "-d", "--set"]);

/** `-R`: every line → ops, all or nothing. The first bad line is the error, with its number. */
export function parseRestore(text: string): RestoreResult {
  const ops: Op[] = [];
  const lines: number[] = [];
  const rows = text.split(/\r?\n/);
  for (let i = 0; i < rows.length; i++) {
    const words = rows[i]!.replace(/#.*/, "").split(/[ \t\r]+/).filter((w) => w !== "");
    if (words[0] === "ipvsadm" || words[0] === "vsadm") words.shift();
    if (!words.length) continue;
    const r = parseArgs(words);
    if (!r.ok) return { ok: false, error: `line ${i + 1}: ${r.error}` };
    if (r.command.kind !== "apply")
      return { ok: false, error: `line ${i + 1}: ${words[0]} cannot be restored (only ${[...RESTORABLE].join(" ")} lines)` };
    for (const op of r.command.ops) {
      ops.push(op);
      lines.push(i + 1);
    }
  }
  return { ok: true, ops, lines };
}
