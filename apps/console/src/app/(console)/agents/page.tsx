import type { Metadata } from "next";
import { requireUser } from "~/server/page";
import { AgentsView } from "./agents";

export const metadata: Metadata = { title: "Agents · Director console" };

export default async function AgentsPage() {
  const user = await requireUser();
  return <AgentsView canAdmin={user.role === "admin" && !user.mustEnrolTotp} />;
}
