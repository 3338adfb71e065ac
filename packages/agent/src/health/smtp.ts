/**
 * smtp — keepalived SMTP_CHECK: connect, read the greeting (it must be 220), send `HELO <helo>`, read the reply
 * (it must be 250), send `QUIT` and wait for its reply or for the server to close, then pass. A banner such as
 * "554 no service" fails with "SMTP banner 554: no service"; a refused HELO with "SMTP HELO 501: …".
 *
 * Unlike keepalived, which looks at the first line only, replies are read whole (RFC 5321 §4.2.1): "250-…"
 * lines continue, "250 …" (or a bare "250") ends the reply. Replies are capped at 64 KiB. A HELO name holding
 * spaces or control characters is refused before connecting, so a configured name can never inject a command.
 */
import type { HealthCheck } from "@director/model";
import { connectTcp, printable, runCheck } from "./tcp.js";
import type { CheckerFactory } from "./types.js";

const REPLY_CAP = 64 * 1024;

type Stage = "banner" | "helo" | "quit";

const PHASE: Record<Stage, string> = {
  banner: "waiting for the SMTP banner",
  helo: "waiting for the reply to HELO",
  quit: "waiting for the reply to QUIT",
};

export const smtp: CheckerFactory<Extract<HealthCheck, { type: "smtp" }>> = (spec) => (target, signal) =>
  runCheck(signal, (run) => {
    if (!/^[\x21-\x7e]+$/.test(spec.helo)) return run.finish(false, "HELO name must be printable ASCII without spaces");
    let stage: Stage = "banner";
    let buffered = "";
    /** Text of a multi-line reply read so far ("250-a", "250-b" → "a b"). */
    let text = "";
    let helloed = "";
    const advance = (next: Stage) => {
      stage = next;
      run.phase = PHASE[next];
    };
    const socket = connectTcp(
      target,
      run,
      () => advance("banner"),
      // Once QUIT is sent the verdict is in; a reset instead of a 221 changes nothing.
      (err) => (stage === "quit" ? run.finish(true, helloed) : run.finish(false, `SMTP connection ${(err as NodeJS.ErrnoException).code ?? err.message} ${PHASE[stage]}`)),
    );
    const onReply = (code: number, replyText: string) => {
      const said = replyText ? `: ${printable(replyText, 80)}` : "";
      if (stage === "banner") {
        if (code !== 220) return run.finish(false, `SMTP banner ${code}${said}`);
        socket.write(`HELO ${spec.helo}\r\n`);
        return advance("helo");
      }
      if (stage === "helo") {
        if (code !== 250) return run.finish(false, `SMTP HELO ${code}${said}`);
        helloed = "SMTP banner 220, HELO 250";
        socket.write("QUIT\r\n");
        return advance("quit");
      }
      run.finish(true, helloed);
    };
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      for (let eol = buffered.indexOf("\n"); eol >= 0 && !run.settled; eol = buffered.indexOf("\n")) {
        const line = buffered.slice(0, eol).replace(/\r$/, "");
        buffered = buffered.slice(eol + 1);
        const m = /^(\d{3})(?:([ -])(.*))?$/.exec(line);
        if (!m) return run.finish(false, `not an SMTP reply ${PHASE[stage]}: "${printable(line, 60)}"`);
        text = text ? `${text} ${m[3] ?? ""}` : (m[3] ?? "");
        if (m[2] !== "-") {
          const replyText = text;
          text = "";
          onReply(Number(m[1]), replyText);
        }
      }
      if (!run.settled && buffered.length + text.length > REPLY_CAP) run.finish(false, `SMTP reply over 64 KiB ${PHASE[stage]}`);
    });
    socket.on("end", () => {
      if (stage === "quit") run.finish(true, helloed);
      else run.finish(false, `SMTP server closed the connection ${PHASE[stage]}`);
    });
  });
