"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { signOut } from "next-auth/react";

type Role = "viewer" | "operator" | "admin";
const LINKS: { href: string; label: string; min: Role }[] = [
  { href: "/", label: "Overview", min: "viewer" },
  { href: "/alerts", label: "Alerts", min: "viewer" },
  { href: "/connections", label: "Connections", min: "viewer" },
  { href: "/simulator", label: "Simulator", min: "viewer" },
  { href: "/agents", label: "Agents", min: "viewer" },
  { href: "/audit", label: "Audit log", min: "admin" },
  { href: "/users", label: "Users", min: "admin" },
  { href: "/account", label: "Account", min: "viewer" },
];
/** A service page (/agents/ID/services/KEY) belongs to the overview, not to the agents list. */
const active = (href: string, path: string) =>
  href === "/" ? path === "/" || path.includes("/services/") : href === "/agents" ? path === "/agents" : path.startsWith(href);
const rank = (r: Role) => ["viewer", "operator", "admin"].indexOf(r);

export function Nav({ user }: { user: { username: string; role: Role } }) {
  const path = usePathname();
  return (
    <nav className="flex w-52 shrink-0 flex-col border-r border-slate-200 bg-white p-4" aria-label="Main">
      <div className="mb-6">
        <div className="text-lg font-semibold">Director</div>
        <div className="text-xs text-slate-500">Graphic Monitor</div>
      </div>
      <ul className="space-y-1 text-sm">
        {LINKS.filter((l) => rank(user.role) >= rank(l.min)).map((l) => (
          <li key={l.href}>
            <Link href={l.href} className={`block rounded-md px-3 py-1.5 ${active(l.href, path) ? "bg-slate-900 text-white" : "text-slate-700 hover:bg-slate-100"}`}>
              {l.label}
            </Link>
          </li>
        ))}
      </ul>
      <div className="mt-auto border-t border-slate-200 pt-4 text-sm">
        <div data-testid="whoami">
          {user.username} <span className="rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-600">{user.role}</span>
        </div>
        <button type="button" onClick={() => signOut({ callbackUrl: "/signin" })} className="mt-2 text-slate-600 underline hover:text-slate-900">
          Sign out
        </button>
      </div>
    </nav>
  );
}
