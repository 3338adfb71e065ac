/**
 * udp — keepalived UDP_CHECK: send `payload` in one datagram to the checked port and wait for a reply; with
 * `expect` (keepalived `require_reply`, here a regular expression over the reply as UTF-8 text instead of a hex
 * string with a mask) the reply must match.
 *
 * Deviation: keepalived without `require_reply` counts silence until the timeout as a pass and fails only on an
 * ICMP error; here a reply is always required, as the model says ("absent = any reply passes"), so silence is
 * "timeout after N ms with no UDP reply". The socket is connected, so an ICMP port unreachable comes back from
 * the kernel as ECONNREFUSED and fails the check at once ("UDP port unreachable").
 *
 * `exchangeUdp` is shared with the DNS check.
 */
import dgram from "node:dgram";
import type { HealthCheck } from "@director/model";
import { compilePattern, errorWords, printable, runCheck, type CheckRun } from "./tcp.js";
import type { CheckTarget, CheckerFactory } from "./types.js";

/**
 * Sends one datagram from a socket connected to the target and hands every reply to `onReply` until the run
 * settles (the socket closes then). ICMP and socket errors settle the run as failures.
 */
export function exchangeUdp(target: CheckTarget, run: CheckRun, payload: Buffer, onReply: (reply: Buffer) => void): void {
  const socket = dgram.createSocket(target.family === 6 ? "udp6" : "udp4");
  run.onSettle(() => socket.close());
  socket.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "ECONNREFUSED") run.finish(false, "UDP port unreachable (ICMP, ECONNREFUSED)");
    else run.finish(false, errorWords(`UDP ${err.syscall ?? "socket"}`, err));
  });
  socket.on("message", (reply) => {
    if (!run.settled) onReply(reply);
  });
  socket.connect(target.port, target.host, () => {
    if (run.settled) return;
    socket.send(payload, (err) => {
      if (err) socket.emit("error", err);
    });
  });
}

export const udp: CheckerFactory<Extract<HealthCheck, { type: "udp" }>> = (spec) => {
  const pattern = compilePattern(spec.expect);
  const payload = Buffer.from(spec.payload, "utf8");
  return (target, signal) =>
    runCheck(signal, (run) => {
      if (typeof pattern === "string") return run.finish(false, `expect does not compile: ${pattern}`);
      run.phase = "with no UDP reply";
      exchangeUdp(target, run, payload, (reply) => {
        const bytes = `${reply.length} byte${reply.length === 1 ? "" : "s"}`;
        const text = reply.toString("utf8");
        if (pattern && !pattern.test(text)) {
          run.finish(false, `UDP reply does not match /${pattern.source}/: "${printable(text, 60)}"`);
        } else run.finish(true, `UDP reply, ${bytes}`);
      });
    });
};
