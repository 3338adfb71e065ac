import type { Metadata } from "next";
import { requireUser } from "~/server/page";
import { AlertsView } from "./alerts";

export const metadata: Metadata = { title: "Alerts · Director console" };

export default async function AlertsPage() {
  const user = await requireUser();
  return <AlertsView canEdit={user.role === "admin" && !user.mustEnrolTotp} />;
}
