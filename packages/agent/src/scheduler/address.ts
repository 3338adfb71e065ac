/**
 * The 32-bit address key the kernel's hashing schedulers use (ip_vs_sh.c, ip_vs_dh.c, ip_vs_mh.c): an IPv4
 * address in host order (ntohl), or for IPv6 the XOR of its four 32-bit words. Parsed from the text forms the
 * model uses ("10.0.0.1", "2001:db8::1", "::ffff:10.0.0.1"); an unparsable host folds to 0.
 */

export function foldAddress(host: string, family: 4 | 6): number {
  return family === 4 ? parseIPv4(host) : foldIPv6(host);
}

/** "a.b.c.d" → (a<<24 | b<<16 | c<<8 | d) as an unsigned 32-bit number; NaN-free, 0 if malformed. */
export function parseIPv4(host: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return 0;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      digits++;
    } else {
      return 0;
    }
  }
  if (dots !== 3 || digits === 0 || part > 255) return 0;
  return (value * 256 + part) >>> 0;
}

/** The XOR of the four big-endian 32-bit words of an IPv6 address; 0 if malformed. */
export function foldIPv6(host: string): number {
  const groups = parseIPv6(host);
  if (!groups) return 0;
  let fold = 0;
  for (let w = 0; w < 4; w++) fold ^= (groups[2 * w]! << 16) | groups[2 * w + 1]!;
  return fold >>> 0;
}

/** Eight 16-bit groups, or null. Accepts "::" compression, a trailing dotted IPv4 and a %zone suffix. */
export function parseIPv6(text: string): number[] | null {
  const zone = text.indexOf("%");
  const host = zone >= 0 ? text.slice(0, zone) : text;
  const halves = host.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i === items.length - 1 && item.includes(".")) {
        const v4 = parseIPv4(item);
        if (v4 === 0 && item !== "0.0.0.0") return null;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return null;
        out.push(Number.parseInt(item, 16));
      }
    }
    return out;
  };
  const head = parse(halves[0]!);
  if (!head) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const tail = parse(halves[1]!);
  if (!tail || head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}
