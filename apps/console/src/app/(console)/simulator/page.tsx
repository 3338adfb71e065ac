import type { Metadata } from "next";
import { segmentToKey } from "~/lib/format";
import { requireUser } from "~/server/page";
import { SimulatorView } from "./simulator";

export const metadata: Metadata = { title: "Scheduler simulator · Director console" };

/** /simulator?agent=<id>&service=tcp~10.0.0.1:80 (both optional). */
export default async function SimulatorPage({ searchParams }: { searchParams: Promise<{ agent?: string; service?: string }> }) {
  await requireUser();
  const sp = await searchParams;
  const seg = typeof sp.service === "string" && sp.service.includes("~") && sp.service.length <= 200 ? segmentToKey(sp.service) : undefined;
  return <SimulatorView initial={{ agentId: typeof sp.agent === "string" ? sp.agent.slice(0, 64) : undefined, service: seg ? `${seg.protocol}/${seg.address}` : undefined }} />;
}
