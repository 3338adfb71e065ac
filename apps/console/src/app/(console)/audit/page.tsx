import type { Metadata } from "next";
import { NeedsRole, NeedsTotp } from "~/components/ui/needs-role";
import { PageHeader } from "~/components/ui/page-header";
import { requireUser } from "~/server/page";
import { AuditView } from "./audit";

export const metadata: Metadata = { title: "Audit log · Director console" };

export default async function AuditPage() {
  const user = await requireUser();
  if (user.role !== "admin" || user.mustEnrolTotp)
    return (
      <div>
        <PageHeader title="Audit log" />
        {user.role !== "admin" ? <NeedsRole need="admin" role={user.role} what="The audit log" /> : <NeedsTotp what="The audit log" />}
      </div>
    );
  return <AuditView />;
}
