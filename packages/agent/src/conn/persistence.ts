/**
 * Persistence templates (`ipvsadm -p [timeout] -M netmask`), after ip_vs_sched_persist() in ip_vs_core.c and
 * ip_vs_check_template() in ip_vs_conn.c.
 *
 * A template binds (protocol, client address masked to the persistence prefix, VIP, VIP port) to a real server.
 * - It is refreshed to the service's persistence timeout each time a new connection uses it.
 * - It does not expire while it controls connections (n_control > 0); it is checked again later.
 * - On use it is checked: a destination that is no longer available (maintenance, removed, failed health)
 *   invalidates it; so does weight 0 (draining/quiesced) when expire_quiescent_template is set. Otherwise a
 *   quiesced destination keeps its persistent clients, as in IPVS.
 * - Overload does not break persistence (the kernel does not check it on a template hit).
 * Templates are counted in the destination's persistConns, shown by `vsadm -L --persistent-conn`.
 */
import { isIPv4 } from "node:net";
import { parseIPv6 } from "../scheduler/address.js";
import type { ConnectionEntry } from "@director/model";
import type { RealServer } from "../state/real-server.js";
import type { VirtualService } from "../state/virtual-service.js";

export interface Template {
  readonly key: string;
  readonly service: VirtualService;
  readonly client: string;
  realServer: RealServer;
  expiresAt: number;
  nControl: number;
}

export class TemplateTable {
  private readonly templates = new Map<string, Template>();

  constructor(
    private readonly now: () => number,
    private readonly expireQuiescent: () => boolean,
  ) {}

  /** The expire_quiescent_template sysctl now (the kernel engine programs the same rule into nftables). */
  expireQuiescentTemplate(): boolean {
    return this.expireQuiescent();
  }

  get size(): number {
    return this.templates.size;
  }

  /** The template for this client, if one is valid; an invalid one is removed (ip_vs_check_template). */
  lookup(vs: VirtualService, clientHost: string): Template | undefined {
    const persistence = vs.spec.persistence;
    if (!persistence) return undefined;
    const key = templateKey(vs, maskAddress(clientHost, persistence.prefixLength));
    const t = this.templates.get(key);
    if (!t) return undefined;
    const now = this.now();
    if (t.expiresAt <= now && t.nControl === 0) {
      this.remove(t);
      return undefined;
    }
    const rs = t.realServer;
    if (!rs.available || (this.expireQuiescent() && rs.weight === 0)) {
      this.remove(t);
      return undefined;
    }
    t.expiresAt = now + persistence.timeout * 1000;
    return t;
  }

  create(vs: VirtualService, clientHost: string, rs: RealServer): Template {
    const persistence = vs.spec.persistence!;
    const client = maskAddress(clientHost, persistence.prefixLength);
    const key = templateKey(vs, client);
    const old = this.templates.get(key);
    if (old) this.remove(old);
    const t: Template = { key, service: vs, client, realServer: rs, expiresAt: this.now() + persistence.timeout * 1000, nControl: 0 };
    this.templates.set(key, t);
    rs.persistConns++;
    return t;
  }

  /** Removes expired templates that control nothing. */
  expire(now: number): void {
    for (const t of this.templates.values()) if (t.expiresAt <= now && t.nControl === 0) this.remove(t);
  }

  /** Drops templates of a service (deleted, or persistence turned off) or of one real server. */
  removeWhere(pred: (t: Template) => boolean): number {
    let n = 0;
    for (const t of this.templates.values())
      if (pred(t)) {
        this.remove(t);
        n++;
      }
    return n;
  }

  *entries(): Iterable<Template> {
    yield* this.templates.values();
  }

  static entry(t: Template, now: number): ConnectionEntry {
    const client = t.client.includes(":") ? `[${t.client}]:0` : `${t.client}:0`;
    return {
      protocol: t.service.spec.protocol,
      client,
      virtual: t.service.address,
      real: t.realServer.address,
      state: "NONE",
      expiresIn: Math.max(0, Math.round((t.expiresAt - now) / 1000)),
      template: true,
      inBytes: 0,
      outBytes: 0,
      startedAt: 0,
    };
  }

  private remove(t: Template): void {
    if (this.templates.get(t.key) === t) {
      this.templates.delete(t.key);
      t.realServer.persistConns--;
    }
  }
}

function templateKey(vs: VirtualService, maskedClient: string): string {
  return `${vs.key}|${maskedClient}`;
}

/** Masks an address to a prefix length (ipvsadm -M takes a netmask; we store its prefix length). */
export function maskAddress(host: string, prefixLength: number): string {
  if (isIPv4(host)) {
    const len = Math.min(prefixLength, 32);
    const parts = host.split(".").map(Number);
    const n = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    const m = (n & mask) >>> 0;
    return `${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}`;
  }
  const groups = parseIPv6(host) ?? new Array<number>(8).fill(0);
  let bits = Math.min(prefixLength, 128);
  const out = groups.map((g) => {
    const keep = Math.max(0, Math.min(16, bits));
    bits -= 16;
    return keep === 0 ? 0 : g & ((0xffff << (16 - keep)) & 0xffff);
  });
  return new URL(`http://[${out.map((g) => g.toString(16)).join(":")}]/`).hostname.slice(1, -1);
}
