import type { Metadata } from "next";
import { segmentToKey } from "~/lib/format";
import { requireUser } from "~/server/page";
import { ConnectionsView } from "./connections";

export const metadata: Metadata = { title: "Connections · Director console" };

type Search = { agent?: string; service?: string; realServer?: string; client?: string };

/** /connections?agent=<id>&service=tcp~10.0.0.1:80&realServer=…&client=… (all optional, for links from elsewhere). */
export default async function ConnectionsPage({ searchParams }: { searchParams: Promise<Search> }) {
  await requireUser();
  const sp = await searchParams;
  const one = (v: unknown) => (typeof v === "string" && v.length <= 200 ? v : undefined);
  const seg = one(sp.service);
  const key = seg?.includes("~") ? segmentToKey(seg) : undefined;
  return (
    <ConnectionsView
      initial={{ agentId: one(sp.agent), service: key ? `${key.protocol}/${key.address}` : undefined, realServer: one(sp.realServer) ?? "", client: one(sp.client) ?? "" }}
    />
  );
}
