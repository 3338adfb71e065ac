import { requireUser } from "~/server/page";
import { Nav } from "~/components/nav";

export default async function ConsoleLayout({ children }: { children: React.ReactNode }) {
  const user = await requireUser();
  return (
    <div className="flex min-h-screen">
      <Nav user={{ username: user.username, role: user.role }} />
      <main className="min-w-0 flex-1 p-6">
        {user.mustEnrolTotp && (
          <p role="alert" className="mb-4 rounded-md bg-amber-50 px-4 py-2 text-sm text-amber-800">
            Admins must use a second factor here: <a className="underline" href="/account">enrol an authenticator</a> to use admin actions.
          </p>
        )}
        {children}
      </main>
    </div>
  );
}
