import type { Metadata } from "next";
import { NeedsRole, NeedsTotp } from "~/components/ui/needs-role";
import { PageHeader } from "~/components/ui/page-header";
import { requireUser } from "~/server/page";
import { UsersView } from "./users";

export const metadata: Metadata = { title: "Users · Director console" };

export default async function UsersPage() {
  const user = await requireUser();
  if (user.role !== "admin" || user.mustEnrolTotp)
    return (
      <div>
        <PageHeader title="Users" />
        {user.role !== "admin" ? <NeedsRole need="admin" role={user.role} what="Managing users" /> : <NeedsTotp what="Managing users" />}
      </div>
    );
  return <UsersView me={user.username} />;
}
