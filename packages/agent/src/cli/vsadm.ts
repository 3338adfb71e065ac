/**
 * `vsadm`: the ipvsadm-compatible command line of a Director agent. Thin entry: argv, stdin (for -R) and the
 * agent's address (DIRECTOR_AGENT_URL/TOKEN/CA or the state dir) → run() → exit status. See vsadm/ for the rest.
 */
import { createAgentClient, resolveAgentEndpoint } from "../control/client.js";
import { runVsadm } from "./vsadm/run.js";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

process.exitCode = await runVsadm(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin,
  connect: () => createAgentClient(resolveAgentEndpoint(process.env)),
});
