/**
 * Running nft: one `nft -f -` per ruleset change, the whole table in one batch, so the kernel applies it as one
 * transaction (all or nothing; existing connections keep their conntrack mapping). Argument array, no shell.
 */
import { spawn } from "node:child_process";

export function nft(script: string, args: string[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("nft", [...args, "-f", "-"], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === "ENOENT" ? "nft is not installed (Debian package nftables)" : `cannot run nft: ${e.message}`)),
    );
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`nft refused the ruleset: ${stderr.trim().split("\n")[0]}`))));
    child.stdin.end(script);
  });
}

/** Runs `nft ARGS…` and returns its standard output (for listing, e.g. counters as JSON). */
export function nftOutput(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("nft", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(err.trim().split("\n")[0] || `nft exited ${code}`))));
  });
}
