/** Time formatting for tables: absolute local time, and "how long ago" against a ticking clock. */
import { fmtDuration } from "~/lib/format";

export function fmtTime(ms: number): string {
  const d = new Date(ms);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const time = d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  return sameDay ? time : `${d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "2-digit" })} ${time}`;
}

/** Full date and time, for title attributes. */
export function fmtTimeFull(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

export function fmtAgo(ms: number, now: number): string {
  const d = now - ms;
  if (d < 2000) return "just now";
  return `${fmtDuration(d)} ago`;
}

/** Seconds as ipvsadm shows "expire": mm:ss (or h:mm:ss). */
export function fmtExpire(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${String(m).padStart(2, "0")}:${ss}`;
}
