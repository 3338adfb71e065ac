/** Number formatting shared by the pages. */
export function fmtRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

export function fmtBytes(n: number): string {
  const u = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n >= 100 || i === 0 ? n.toFixed(0) : n.toFixed(1)} ${u[i]}`;
}

export function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** URL segment for a service key: "tcp/127.0.0.1:8080" ⇄ "tcp~127.0.0.1:8080". */
export const keyToSegment = (key: string) => encodeURIComponent(key.replace("/", "~"));
export const segmentToKey = (seg: string) => {
  const s = decodeURIComponent(seg);
  const i = s.indexOf("~");
  return { protocol: s.slice(0, i) as "tcp" | "udp", address: s.slice(i + 1) };
};
