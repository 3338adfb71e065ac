/**
 * /agents/[agentId]/services/[key]: one virtual service, live. The key segment is "tcp~127.0.0.1%3A8080"
 * (keyToSegment). The user's role comes from the session here, on the server, and only decides which actions are
 * drawn; every action is checked again by its procedure.
 */
import { ServiceKey } from "@director/model";
import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { segmentToKey } from "~/lib/format";
import { requireUser } from "~/server/page";
import { ServiceView } from "./service-view";

type Params = Promise<{ agentId: string; key: string }>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseKey(segment: string) {
  try {
    const k = ServiceKey.safeParse(segmentToKey(segment));
    return k.success ? k.data : null;
  } catch {
    return null; // a malformed %-escape
  }
}

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  const k = parseKey((await params).key);
  return { title: k ? `${k.protocol}/${k.address} · Director console` : "Director console" };
}

export default async function VirtualServicePage({ params }: { params: Params }) {
  const user = await requireUser();
  const { agentId, key } = await params;
  const k = parseKey(key);
  if (!UUID.test(agentId) || !k) notFound();
  return <ServiceView agentId={agentId} serviceKey={k} role={user.role} canAdmin={user.role === "admin" && !user.mustEnrolTotp} />;
}
