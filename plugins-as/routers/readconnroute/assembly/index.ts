// readconnroute as a wasmscale plugin: balances *connections*, not statements (MaxScale
// semantics). At session start it picks, among the servers matching router_options, the one with
// the fewest connections per unit of weight; the session then stays on it for its whole life.
import {
  Config, RouteDecision, Router, ServerTable, Session, SessionState, SessionTargets, Statement,
  log, metrics, register,
} from "wasmscale-sdk";
import { Options, readOptions } from "./options";
import { selectServers } from "./select";

export * from "wasmscale-sdk/assembly/exports";

const SCHEMA = `{
  "type": "object",
  "properties": {
    "router_options": { "type": ["string", "array"] },
    "master_accept_reads": { "type": "boolean" },
    "max_replication_lag": { "type": ["string", "number"] }
  },
  "additionalProperties": false
}`;

/** The server each session was given first (for diagnostics; the host keeps the session there). */
const chosen = new SessionState<i32>();

class ReadConnRoute extends Router {
  options: Options = new Options();

  configSchema(): string | null { return SCHEMA; }

  // Balances connections, never looks at a statement: no classification needed.
  readsClassification(): bool { return false; }

  configure(config: Config): string | null {
    const err = readOptions(config, this.options);
    if (err === null) log.debug("readconnroute: router_options=" + this.options.text);
    return err;
  }

  onSessionStart(session: Session, servers: ServerTable, targets: SessionTargets): void {
    // Announced again after an instance restart: it already has its server.
    if (session.currentServer >= 0) {
      chosen.set(session.id, session.currentServer);
      return;
    }
    selectServers(servers, this.options, targets);
    if (targets.servers.length > 0) {
      chosen.set(session.id, <i32>targets.servers[0]);
      metrics.add("sessions");
    } else {
      metrics.add("refused");
    }
  }

  route(stmt: Statement, servers: ServerTable, decision: RouteDecision): void {
    // Every statement goes where the session's connection is: the default (keep).
  }
}

register(new ReadConnRoute("readconnroute", "1.0.0"));
