/** For server components: the signed-in user of this request, or a redirect to the sign-in page. */
import { checkSession, type SessionUser } from "@director/api";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { requireAdminTotp } from "~/env";
import { SESSION_COOKIE, sessionIdFromCookie } from "./request";
import { server } from "./state";

export async function currentSession(): Promise<{ id: string; user: SessionUser } | null> {
  const jar = await cookies();
  const header = jar
    .getAll()
    .filter((c) => c.name.startsWith(SESSION_COOKIE))
    .map((c) => `${c.name}=${encodeURIComponent(c.value)}`)
    .join("; ");
  const sid = await sessionIdFromCookie(header || null);
  const { store } = await server();
  const s = await checkSession(store, sid);
  return s.ok ? { id: s.id, user: s.user } : null;
}

export async function requireUser(): Promise<SessionUser & { mustEnrolTotp: boolean }> {
  const s = await currentSession();
  if (!s) redirect("/signin");
  return { ...s.user, mustEnrolTotp: requireAdminTotp() && s.user.role === "admin" && !s.user.totp };
}
