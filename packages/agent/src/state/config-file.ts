/**
 * Reading the YAML configuration: parse, validate whole with the strict schema, and report every problem
 * with its line and field ("line 12: virtualServices.0.realServers.1.weight: Too big: expected number to be
 * <=65535"). A file with any problem is rejected whole; nothing of it is applied.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import { AgentConfig } from "@director/model";
import { isNode, LineCounter, parseDocument } from "yaml";

export type ConfigLoad = { ok: true; config: AgentConfig; digest: string } | { ok: false; errors: string[] };

export function parseConfigText(text: string): ConfigLoad {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return `${pos ? `line ${pos.line}: ` : ""}${e.message.split("\n")[0]}`;
      }),
    };
  }
  const raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  if (typeof raw !== "object" || Array.isArray(raw)) return { ok: false, errors: ["line 1: the configuration must be a mapping"] };
  const parsed = AgentConfig.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((issue) => {
        const path = issue.path.map(String);
        let line: number | undefined;
        for (let n = path.length; n >= 0 && line === undefined; n--) {
          const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
          if (isNode(node) && node.range) line = lineCounter.linePos(node.range[0]).line;
        }
        return `${line !== undefined ? `line ${line}: ` : ""}${path.length ? path.join(".") : "(root)"}: ${issue.message}`;
      }),
    };
  }
  return { ok: true, config: parsed.data, digest: createHash("sha256").update(text).digest("hex") };
}

export function loadConfigFile(file: string): ConfigLoad {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    return { ok: false, errors: [`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`] };
  }
  return parseConfigText(text);
}
