"use client";
/**
 * Choosing an agent and one of its virtual services, for pages that work on one service (the simulator) or
 * optionally narrow to one (the connection explorer). The first agent is chosen when none is; a service that
 * no longer exists falls back to "all" (or the first, when one is required).
 */
import { skipToken, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "~/lib/trpc";
import { Field, selectClass } from "./field";

export const keyOf = (s: { protocol: string; address: string }) => `${s.protocol}/${s.address}`;

export function useAgentService(initial: { agentId?: string | undefined; service?: string | undefined }, requireService: boolean) {
  const trpc = useTRPC();
  const agents = useQuery(trpc.agent.list.queryOptions(undefined, { refetchInterval: 10_000 }));
  const [agentChoice, setAgentChoice] = useState(initial.agentId ?? "");
  const [serviceChoice, setServiceChoice] = useState(initial.service ?? "");
  const list = agents.data ?? [];
  const agentId = list.some((a) => a.id === agentChoice) ? agentChoice : (list[0]?.id ?? "");
  const services = useQuery(trpc.virtualService.list.queryOptions(agentId ? { agentId } : skipToken, { refetchInterval: 5000 }));
  const svcList = services.data ?? [];
  const found = svcList.find((s) => keyOf(s) === serviceChoice);
  const service = found ?? (requireService ? svcList[0] : undefined);
  return {
    agents,
    services,
    agentId,
    agent: list.find((a) => a.id === agentId),
    service,
    serviceKey: service ? keyOf(service) : "",
    setAgentId: (id: string) => {
      setAgentChoice(id);
      setServiceChoice("");
    },
    setService: setServiceChoice,
  };
}

export function AgentServicePicker({ state, allowAll }: { state: ReturnType<typeof useAgentService>; allowAll: boolean }) {
  const { agents, services } = state;
  return (
    <>
      <Field label="Agent" className="min-w-44">
        <select data-testid="pick-agent" className={selectClass} value={state.agentId} onChange={(e) => state.setAgentId(e.target.value)} disabled={!agents.data?.length}>
          {!agents.data?.length && <option value="">{agents.isLoading ? "Loading…" : "No agents"}</option>}
          {agents.data?.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
              {a.stale ? " (stale)" : ""}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Virtual service" className="min-w-64">
        <select data-testid="pick-service" className={selectClass} value={state.serviceKey} onChange={(e) => state.setService(e.target.value)} disabled={!services.data?.length && !allowAll}>
          {allowAll && <option value="">All virtual services</option>}
          {!allowAll && !services.data?.length && <option value="">{services.isLoading ? "Loading…" : "No virtual services"}</option>}
          {services.data?.map((s) => (
            <option key={keyOf(s)} value={keyOf(s)}>
              {s.name ? `${s.name} — ` : ""}
              {keyOf(s)} ({s.scheduler})
            </option>
          ))}
        </select>
      </Field>
    </>
  );
}
