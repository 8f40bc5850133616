// readwritesplit's settings, with MaxScale's names and defaults.
import { Config } from "wasmscale-sdk";

export namespace Criteria {
  export const LEAST_CURRENT_OPERATIONS: i32 = 0;
  export const LEAST_ROUTER_CONNECTIONS: i32 = 1;
  export const LEAST_BEHIND_MASTER: i32 = 2;
  /** Response time × (operations in progress + 1): the fastest server for its load. */
  export const ADAPTIVE_ROUTING: i32 = 3;
}

export namespace FailureMode {
  /** No primary: the session is refused / statements needing it fail. */
  export const FAIL_INSTANTLY: i32 = 0;
  /** Reads go on on replicas; a write fails. */
  export const FAIL_ON_WRITE: i32 = 1;
  /** Reads go on; a write gets an error and the session stays. */
  export const ERROR_ON_WRITE: i32 = 2;
}

export class Options {
  criteria: i32 = Criteria.LEAST_CURRENT_OPERATIONS;
  /** Replicas lagging this much or more (ms) are not used; 0 = lag is ignored. */
  maxLagMs: f64 = 0;
  failureMode: i32 = FailureMode.FAIL_INSTANTLY;
  masterAcceptReads: bool = false;
  /** After a multi-statement, the session stays on the primary. */
  strictMultiStmt: bool = false;
  /** After a CALL, the session stays on the primary. */
  strictSpCalls: bool = false;
  /** use_sql_variables_in=master: reads of user variables go to the primary too. */
  variablesOnMaster: bool = false;
}

const KNOWN: string[] = [
  "slave_selection_criteria", "max_slave_replication_lag", "max_replication_lag", "master_failure_mode",
  "master_accept_reads", "strict_multi_stmt", "strict_sp_calls", "use_sql_variables_in",
];

export function readOptions(config: Config, o: Options): string | null {
  const keys = config.keys;
  for (let i = 0; i < keys.length; i++) {
    if (!KNOWN.includes(keys[i])) return "unknown setting \"" + keys[i] + "\" (known: " + KNOWN.join(", ") + ")";
  }
  const c = config.getString("slave_selection_criteria", "LEAST_CURRENT_OPERATIONS").toUpperCase();
  if (c == "LEAST_CURRENT_OPERATIONS") o.criteria = Criteria.LEAST_CURRENT_OPERATIONS;
  else if (c == "LEAST_ROUTER_CONNECTIONS" || c == "LEAST_GLOBAL_CONNECTIONS") o.criteria = Criteria.LEAST_ROUTER_CONNECTIONS;
  else if (c == "LEAST_BEHIND_MASTER") o.criteria = Criteria.LEAST_BEHIND_MASTER;
  else if (c == "ADAPTIVE_ROUTING") o.criteria = Criteria.ADAPTIVE_ROUTING;
  else return "slave_selection_criteria: unknown value \"" + c + "\" (expected LEAST_CURRENT_OPERATIONS, LEAST_ROUTER_CONNECTIONS, LEAST_BEHIND_MASTER, ADAPTIVE_ROUTING)";
  const lagKey = config.has("max_slave_replication_lag") ? "max_slave_replication_lag" : "max_replication_lag";
  o.maxLagMs = config.getDurationMs(lagKey, 0);
  const m = config.getString("master_failure_mode", "fail_instantly").toLowerCase();
  if (m == "fail_instantly") o.failureMode = FailureMode.FAIL_INSTANTLY;
  else if (m == "fail_on_write") o.failureMode = FailureMode.FAIL_ON_WRITE;
  else if (m == "error_on_write") o.failureMode = FailureMode.ERROR_ON_WRITE;
  else return "master_failure_mode: unknown value \"" + m + "\" (expected fail_instantly, fail_on_write, error_on_write)";
  o.masterAcceptReads = config.getBool("master_accept_reads", false);
  o.strictMultiStmt = config.getBool("strict_multi_stmt", false);
  o.strictSpCalls = config.getBool("strict_sp_calls", false);
  const v = config.getString("use_sql_variables_in", "all").toLowerCase();
  if (v != "all" && v != "master") return "use_sql_variables_in: expected all or master, got \"" + v + "\"";
  o.variablesOnMaster = v == "master";
  return null;
}
