/**
 * The control API's TLS identity: a configured certificate and key, or a self-signed pair generated on first
 * start and kept in the state dir (key mode 0600). Clients pin the certificate (it is its own CA).
 */
import fs from "node:fs";
import path from "node:path";
import selfsigned from "selfsigned";
import { writeFileAtomic } from "../state/store.js";

export interface TlsFiles {
  cert: string;
  key: string;
  certFile: string;
}

export async function loadOrCreateTls(stateDir: string, configured: { cert: string; key: string } | undefined, hosts: string[]): Promise<TlsFiles> {
  if (configured) {
    return { cert: fs.readFileSync(configured.cert, "utf8"), key: fs.readFileSync(configured.key, "utf8"), certFile: configured.cert };
  }
  const certFile = path.join(stateDir, "tls", "agent.crt");
  const keyFile = path.join(stateDir, "tls", "agent.key");
  if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
    return { cert: fs.readFileSync(certFile, "utf8"), key: fs.readFileSync(keyFile, "utf8"), certFile };
  }
  const altNames: { type: 2 | 7; value?: string; ip?: string }[] = [
    { type: 2, value: "localhost" },
    { type: 7, ip: "127.0.0.1" },
    { type: 7, ip: "::1" },
  ];
  for (const h of hosts) if (!["127.0.0.1", "::1", "localhost", "0.0.0.0", "::"].includes(h)) altNames.push(/^[\d.:a-f]+$/i.test(h) ? { type: 7, ip: h } : { type: 2, value: h });
  const notAfter = new Date();
  notAfter.setFullYear(notAfter.getFullYear() + 5);
  const pems = await selfsigned.generate([{ name: "commonName", value: "director-agent" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notAfterDate: notAfter,
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", digitalSignature: true, keyCertSign: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames },
    ],
  });
  writeFileAtomic(keyFile, pems.private, 0o600);
  writeFileAtomic(certFile, pems.cert, 0o644);
  return { cert: pems.cert, key: pems.private, certFile };
}
