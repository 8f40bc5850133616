// readconnroute's settings, as in MaxScale: router_options (master, slave, running; a comma list
// or a YAML list), master_accept_reads, max_replication_lag.
import { Config } from "wasmscale-sdk";

export class Options {
  master: bool = false;
  slave: bool = false;
  running: bool = true;
  masterAcceptReads: bool = true;
  /** Replicas must lag less than this (ms); 0 = lag is ignored. */
  maxLagMs: f64 = 0;
  /** router_options as configured, for messages. */
  text: string = "running";
}

/** Parses the configuration into `out`; returns an error message or null. */
export function readOptions(config: Config, out: Options): string | null {
  const list = config.getStringList("router_options", ["running"]);
  out.master = false;
  out.slave = false;
  out.running = false;
  for (let i = 0; i < list.length; i++) {
    const o = list[i].toLowerCase();
    if (o == "master") out.master = true;
    else if (o == "slave") out.slave = true;
    else if (o == "running") out.running = true;
    else if (o == "synced") return "router_options: \"synced\" (Galera) is not supported yet";
    else return "router_options: unknown value \"" + list[i] + "\" (expected master, slave or running)";
  }
  if (!out.master && !out.slave && !out.running) out.running = true;
  out.text = list.join(",");
  out.masterAcceptReads = config.getBool("master_accept_reads", true);
  out.maxLagMs = config.getDurationMs("max_replication_lag", 0);
  for (let i = 0; i < config.keys.length; i++) {
    const k = config.keys[i];
    if (k != "router_options" && k != "master_accept_reads" && k != "max_replication_lag") {
      return "unknown setting \"" + k + "\" (known: router_options, master_accept_reads, max_replication_lag)";
    }
  }
  return null;
}
