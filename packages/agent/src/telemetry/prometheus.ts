/**
 * Prometheus exposition (prom-client), read from the service table at scrape time. Names follow Prometheus
 * conventions: `director_` prefix, base units, `_total` for counters. Counters never go backwards: `vsadm -Z`
 * zeroes what vsadm shows, not these.
 */
import { Counter, Gauge, Registry } from "prom-client";
import type { ServiceTable } from "../state/service-table.js";

type Stats = { conns: number; inBytes: number; outBytes: number; inPkts: number; outPkts: number };
type Labels = Record<string, string>;

export function createMetrics(services: ServiceTable): Registry {
  const registry = new Registry();
  const list = () => [...services.services.values()];
  type Rs = ReturnType<typeof list>[number]["realServers"][number];

  /** One metric family whose samples are read from the service table at scrape time. */
  const family = (type: "counter" | "gauge", name: string, help: string, labelNames: string[], each: (emit: (l: Labels, v: number) => void) => void) => {
    if (type === "counter")
      new Counter({ name, help, labelNames, registers: [registry], collect() {
        this.reset();
        each((l, v) => this.inc(l, v));
      } });
    else
      new Gauge({ name, help, labelNames, registers: [registry], collect() {
        this.reset();
        each((l, v) => this.set(l, v));
      } });
  };
  const perService = (type: "counter" | "gauge", name: string, help: string, pick: (vs: ReturnType<typeof list>[number]) => number) =>
    family(type, name, help, ["service"], (emit) => {
      services.table.accountAll();
      for (const vs of list()) emit({ service: vs.key }, pick(vs));
    });
  const perReal = (type: "counter" | "gauge", name: string, help: string, pick: (rs: Rs) => number) =>
    family(type, name, help, ["service", "real"], (emit) => {
      for (const vs of list()) for (const rs of vs.realServers) emit({ service: vs.key, real: rs.address }, pick(rs));
    });
  const stat = (k: keyof Stats) => (x: { counters: { stats: Stats } }) => x.counters.stats[k];

  perService("counter", "director_virtualservice_connections_total", "Connections scheduled by the virtual service.", stat("conns"));
  perService("counter", "director_virtualservice_in_bytes_total", "Bytes from clients to real servers.", stat("inBytes"));
  perService("counter", "director_virtualservice_out_bytes_total", "Bytes from real servers to clients.", stat("outBytes"));
  perService("counter", "director_virtualservice_in_packets_total", "Packets (datagrams) from clients, where the engine sees them.", stat("inPkts"));
  perService("counter", "director_virtualservice_out_packets_total", "Packets (datagrams) to clients, where the engine sees them.", stat("outPkts"));
  perService("gauge", "director_virtualservice_quorum_up", "1 while the virtual service has quorum (keepalived quorum).", (vs) => (vs.quorumUp ? 1 : 0));
  perReal("counter", "director_realserver_connections_total", "Connections scheduled to the real server.", stat("conns"));
  perReal("counter", "director_realserver_in_bytes_total", "Bytes from clients to the real server.", stat("inBytes"));
  perReal("counter", "director_realserver_out_bytes_total", "Bytes from the real server to clients.", stat("outBytes"));
  perReal("gauge", "director_realserver_active_connections", "Active connections (ipvsadm ActiveConn).", (rs) => rs.activeConns);
  perReal("gauge", "director_realserver_inactive_connections", "Inactive connections (ipvsadm InActConn).", (rs) => rs.inactiveConns);
  perReal("gauge", "director_realserver_persistent_connections", "Persistence templates (ipvsadm PersistConn).", (rs) => rs.persistConns);
  perReal("gauge", "director_realserver_weight", "Configured weight.", (rs) => rs.spec.weight);
  perReal("gauge", "director_realserver_effective_weight", "Weight the scheduler uses now (0 while draining).", (rs) => rs.weight);
  perReal("gauge", "director_realserver_available", "1 if the real server is in rotation (not in maintenance, not failed).", (rs) => (rs.available ? 1 : 0));
  perReal("gauge", "director_realserver_overloaded", "1 while the upper connection threshold is reached.", (rs) => (rs.overloaded ? 1 : 0));
  perReal("gauge", "director_realserver_health_up", "1 if the last health verdict is up (1 without a check).", (rs) => (rs.health ? (rs.health.state === "up" ? 1 : 0) : 1));
  family("gauge", "director_connection_table_entries", "Entries in the connection table (live and TIME_WAIT).", [], (emit) => emit({}, services.table.size));
  return registry;
}
