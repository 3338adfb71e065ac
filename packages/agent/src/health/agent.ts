/**
 * agent — HAProxy agent-check: connect to the agent's port, send `send` verbatim if set (HAProxy `agent-send`;
 * include "\n" if the agent waits for a line), and read one line, ended by CR or LF. The line is words
 * separated by spaces, tabs or commas, in any order, optionally followed by "#" and a description. The words
 * (case-insensitive, the last of each kind wins, as in HAProxy's src/check.c):
 *   - health: `up`; `down`, `fail`, `stopped` (and `failed`, the spelling of older HAProxy docs) → not ok, with
 *     the description, or else the words not understood, as the reason ("agent says down: disk full");
 *   - admin: `ready`, `drain`, `maint` → adminRequest (still ok: they change the admin state, not health);
 *   - weight: `NN%` → weightPercent NN, relative to the configured weight. HAProxy caps the percentage at 25600
 *     (an overflow guard) and the resulting weight at 256, its maximum; here weightPercent is capped at 25600
 *     and whoever applies it caps the weight at the model's maximum (65535);
 *   - `maxconn:N` is understood and ignored (a real server here has no per-server maxconn to set).
 * A line with no health word leaves health alone in HAProxy; here it is ok (the agent answered and did not say
 * down), with the admin and weight words applied.
 *
 * Deviations: HAProxy ignores a reply cut off without CR/LF ("incomplete line"); here the connection closing
 * also ends the line, and a close with nothing sent fails ("agent closed without a reply"). A line is capped at
 * 1 KiB. HAProxy counts an unreachable agent as no news, since its agent-check sits beside a health check;
 * here the agent check is the server's check, so an unreachable agent fails ("connect ECONNREFUSED").
 */
import type { HealthCheck } from "@director/model";
import { connectTcp, printable, runCheck } from "./tcp.js";
import type { CheckOutcome, CheckerFactory } from "./types.js";

const LINE_CAP = 1024;
const PERCENT_CAP = 25600;

const HEALTH = new Set(["up", "down", "fail", "failed", "stopped"]);
const ADMIN = new Set(["ready", "drain", "maint"]);

/** One agent line ("up 75%", "down#disk full") → the outcome's words and fields (latency aside). */
export function parseAgentLine(line: string): Omit<CheckOutcome, "latencyMs"> {
  const sharp = line.indexOf("#");
  const description = sharp >= 0 ? printable(line.slice(sharp + 1)) : "";
  let health: string | undefined;
  let admin: CheckOutcome["adminRequest"];
  let percent: number | undefined;
  const unknown: string[] = [];
  for (const word of (sharp >= 0 ? line.slice(0, sharp) : line).split(/[ \t,]+/)) {
    if (word === "") continue;
    const lower = word.toLowerCase();
    const pct = /^(\d+)%$/.exec(word);
    if (HEALTH.has(lower)) health = lower;
    else if (ADMIN.has(lower)) admin = lower as CheckOutcome["adminRequest"];
    else if (pct) percent = Math.min(Number(pct[1]), PERCENT_CAP);
    else if (!/^maxconn:\d+$/i.test(word)) unknown.push(word);
  }
  const said = [health, admin, percent === undefined ? undefined : `${percent}%`].filter(Boolean).join(" ");
  const extra: Pick<CheckOutcome, "weightPercent" | "adminRequest"> = {};
  if (admin) extra.adminRequest = admin;
  if (percent !== undefined) extra.weightPercent = percent;
  const others = printable(unknown.join(" "));
  if (health !== undefined && health !== "up") {
    const why = description || others;
    return { ok: false, reason: `agent says ${said}${why ? `: ${why}` : ""}`, ...extra };
  }
  const ignored = others ? ` (ignored: ${others})` : "";
  return { ok: true, reason: said ? `agent says ${said}${ignored}` : `agent says nothing to act on${ignored}`, ...extra };
}

export const agent: CheckerFactory<Extract<HealthCheck, { type: "agent" }>> = (spec) => (target, signal) =>
  runCheck(signal, (run) => {
    let line = "";
    const judge = (text: string) => {
      const { ok, reason, ...extra } = parseAgentLine(text);
      run.finish(ok, reason, extra);
    };
    const socket = connectTcp(target, run, () => {
      run.phase = "waiting for the agent's line";
      if (spec.send !== undefined) socket.write(spec.send);
    });
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      line += chunk;
      const eol = line.search(/[\r\n]/);
      if (eol >= 0 && eol <= LINE_CAP) judge(line.slice(0, eol));
      else if (eol > LINE_CAP || line.length > LINE_CAP) run.finish(false, "agent line longer than 1 KiB");
    });
    socket.on("end", () => {
      if (line === "") run.finish(false, "agent closed without a reply");
      else judge(line);
    });
  });
