/**
 * Prometheus exposition (prom-client), read from the service table at scrape time. Names follow Prometheus
 * conventions: `director_` prefix, base units, `_total` for counters. Counters never go backwards: `vsadm -Z`
 * zeroes what vsadm shows, not these.
 */
import { Counter, Gauge, Registry } from "prom-client";
import type { ServiceTable } from "../state/service-table.js";

export function createMetrics(services: ServiceTable): Registry {
  const registry = new Registry();
  const vsLabels = ["service"] as const;
  const rsLabels = ["service", "real"] as const;
  const eachService = (fn: (vs: ReturnType<typeof list>[number]) => void) => {
    for (const vs of list()) fn(vs);
  };
  const list = () => [...services.services.values()];
  const serviceCounter = (name: string, help: string, pick: (s: { conns: number; inBytes: number; outBytes: number; inPkts: number; outPkts: number }) => number) =>
    new Counter({
      name,
      help,
      labelNames: vsLabels,
      registers: [registry],
      collect() {
        this.reset();
        services.table.accountAll();
        eachService((vs) => this.inc({ service: vs.key }, pick(vs.counters.stats)));
      },
    });
  const realCounter = (name: string, help: string, pick: (s: { conns: number; inBytes: number; outBytes: number; inPkts: number; outPkts: number }) => number) =>
    new Counter({
      name,
      help,
      labelNames: rsLabels,
      registers: [registry],
      collect() {
        this.reset();
        eachService((vs) => {
          for (const rs of vs.realServers) this.inc({ service: vs.key, real: rs.address }, pick(rs.counters.stats));
        });
      },
    });
  const realGauge = (name: string, help: string, pick: (rs: ReturnType<typeof list>[number]["realServers"][number]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: rsLabels,
      registers: [registry],
      collect() {
        this.reset();
        eachService((vs) => {
          for (const rs of vs.realServers) this.set({ service: vs.key, real: rs.address }, pick(rs));
        });
      },
    });

  serviceCounter("director_virtualservice_connections_total", "Connections scheduled by the virtual service.", (s) => s.conns);
  serviceCounter("director_virtualservice_in_bytes_total", "Bytes from clients to real servers.", (s) => s.inBytes);
  serviceCounter("director_virtualservice_out_bytes_total", "Bytes from real servers to clients.", (s) => s.outBytes);
  serviceCounter("director_virtualservice_in_packets_total", "Packets (datagrams) from clients, where the engine sees them.", (s) => s.inPkts);
  serviceCounter("director_virtualservice_out_packets_total", "Packets (datagrams) to clients, where the engine sees them.", (s) => s.outPkts);
  realCounter("director_realserver_connections_total", "Connections scheduled to the real server.", (s) => s.conns);
  realCounter("director_realserver_in_bytes_total", "Bytes from clients to the real server.", (s) => s.inBytes);
  realCounter("director_realserver_out_bytes_total", "Bytes from the real server to clients.", (s) => s.outBytes);
  realGauge("director_realserver_active_connections", "Active connections (ipvsadm ActiveConn).", (rs) => rs.activeConns);
  realGauge("director_realserver_inactive_connections", "Inactive connections (ipvsadm InActConn).", (rs) => rs.inactiveConns);
  realGauge("director_realserver_persistent_connections", "Persistence templates (ipvsadm PersistConn).", (rs) => rs.persistConns);
  realGauge("director_realserver_weight", "Configured weight.", (rs) => rs.spec.weight);
  realGauge("director_realserver_effective_weight", "Weight the scheduler uses now (0 while draining).", (rs) => rs.weight);
  realGauge("director_realserver_available", "1 if the real server is in rotation (not in maintenance, not failed).", (rs) => (rs.available ? 1 : 0));
  realGauge("director_realserver_overloaded", "1 while the upper connection threshold is reached.", (rs) => (rs.overloaded ? 1 : 0));
  realGauge("director_realserver_health_up", "1 if the last health verdict is up (1 without a check).", (rs) => (rs.health ? (rs.health.state === "up" ? 1 : 0) : 1));
  new Gauge({
    name: "director_virtualservice_quorum_up",
    help: "1 while the virtual service has quorum (keepalived quorum).",
    labelNames: vsLabels,
    registers: [registry],
    collect() {
      this.reset();
      eachService((vs) => this.set({ service: vs.key }, vs.quorumUp ? 1 : 0));
    },
  });
  new Gauge({
    name: "director_connection_table_entries",
    help: "Entries in the connection table (live and TIME_WAIT).",
    registers: [registry],
    collect() {
      this.set(services.table.size);
    },
  });
  return registry;
}
