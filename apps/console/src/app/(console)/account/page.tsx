import type { Metadata } from "next";
import { requireUser } from "~/server/page";
import { AccountView } from "./account";

export const metadata: Metadata = { title: "Account · Director console" };

export default async function AccountPage() {
  const user = await requireUser();
  return <AccountView user={{ username: user.username, role: user.role, totp: user.totp, mustEnrolTotp: user.mustEnrolTotp }} />;
}
