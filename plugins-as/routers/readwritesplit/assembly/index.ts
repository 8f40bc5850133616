// readwritesplit as a wasmscale plugin (MaxScale semantics): writes, transactions and anything
// that depends on the primary's state go to the primary; autocommit reads and READ ONLY
// transactions to a replica; session commands (SET, USE, PREPARE) to every connection. The host
// keeps the mechanisms — connections opened when first needed, the session-command history
// replayed on them, prepared statements on every connection — so this file is only policy.
// Routing hints (`-- wasmscale route to ...`, MaxScale's hintfilter spelling too) override the
// read/write decision outside transactions, as in MaxScale 2.0 and later (hints.ts).
import {
  StatementFlag as Flag, StatementKind as Kind,
  Config, RouteDecision, Router, ServerTable, Session, SessionState, SessionTargets, Statement,
  Target, log, metrics, register,
} from "wasmscale-sdk";
import { FailureMode, Options, readOptions } from "./options";
import { hintedTarget } from "./hints";
import { pickReplica } from "./select";

export * from "wasmscale-sdk/assembly/exports";

const SCHEMA = `{
  "type": "object",
  "properties": {
    "slave_selection_criteria": { "type": "string" },
    "max_slave_replication_lag": { "type": ["string", "number"] },
    "max_replication_lag": { "type": ["string", "number"] },
    "master_failure_mode": { "type": "string" },
    "master_accept_reads": { "type": "boolean" },
    "strict_multi_stmt": { "type": "boolean" },
    "strict_sp_calls": { "type": "boolean" },
    "use_sql_variables_in": { "type": "string" }
  },
  "additionalProperties": false
}`;

const COM_QUERY: u8 = 0x03;
const COM_STMT_PREPARE: u8 = 0x16;
const COM_STMT_EXECUTE: u8 = 0x17;
const COM_STMT_BULK_EXECUTE: u8 = 0xfa;

/** Per-session routing state. */
class SessionInfo {
  /** Server of the open transaction (-1 none): every statement of it goes there. */
  trxServer: i32 = -1;
  /** The transaction started on the primary: it follows the primary when the host replays it
   *  on a new one after a failover (transaction_replay). */
  trxOnPrimary: bool = false;
  /** The session stays on the primary for good (strict_multi_stmt, strict_sp_calls, temp tables). */
  locked: bool = false;
  /** The session created temporary tables (they exist on the primary only). */
  tempTables: bool = false;
  /** Server the previous statement went to (-1 none yet): `route to last`, SHOW WARNINGS. */
  last: i32 = -1;
  /** A statement that ran on the primary only used user variables (CALL p(@out), ...): reads
   *  of user variables follow them there. */
  varsOnPrimary: bool = false;
}

const sessions = new SessionState<SessionInfo>();

/** `SELECT @@warning_count` / `@@error_count`: the previous statement's diagnostics (allocates; only for sysvar-only reads). */
function readsDiagnostics(stmt: Statement): bool {
  const sql = stmt.sql.toLowerCase();
  return sql.includes("warning_count") || sql.includes("error_count");
}

/** Flags that make a read depend on the primary's (or this connection's) state. */
const PRIMARY_READ: u32 = Flag.LOCKING_READ | Flag.LAST_INSERT_ID | Flag.NAMED_LOCK | Flag.SEQUENCE | Flag.USERVAR_WRITE | Flag.CALL;

/**
 * Where the open transaction's statements go: its server, unless it began on the primary and
 * another server is the primary now (a failover): the host replayed it there (transaction_replay).
 */
function trxTarget(info: SessionInfo, servers: ServerTable): i32 {
  const t = info.trxServer;
  if (!info.trxOnPrimary || (servers.get(t).isPrimary && servers.get(t).isUsable)) return t;
  const p = servers.primaryIndex();
  if (p >= 0) info.trxServer = p;
  return info.trxServer;
}

class ReadWriteSplit extends Router {
  o: Options = new Options();

  configSchema(): string | null { return SCHEMA; }

  configure(config: Config): string | null {
    this.o = new Options();
    return readOptions(config, this.o);
  }

  onSessionStart(session: Session, servers: ServerTable, targets: SessionTargets): void {
    if (!sessions.has(session.id)) sessions.set(session.id, new SessionInfo());
    if (session.currentServer >= 0) return; // announced again after an instance restart
    // The first connection goes to the primary; without one, per master_failure_mode.
    const p = servers.primaryIndex();
    if (p >= 0 && servers.get(p).isUsable) {
      targets.add(p);
      return;
    }
    if (this.o.failureMode == FailureMode.FAIL_INSTANTLY) {
      targets.refuse("readwritesplit: no primary server available (master_failure_mode=fail_instantly)");
      return;
    }
    const r = pickReplica(servers, null, this.o);
    if (r < 0) targets.refuse("readwritesplit: no primary and no replica available");
    else targets.add(r);
  }

  onSessionEnd(session: Session): void {
    sessions.delete(session.id);
  }

  route(stmt: Statement, servers: ServerTable, decision: RouteDecision): void {
    // Not getOr(id, new SessionInfo()): its argument would allocate on every statement.
    const info = sessions.has(stmt.sessionId) ? sessions.get(stmt.sessionId) : new SessionInfo();
    this.decide(stmt, servers, decision, info);
    // Remember where it went, for `route to last`.
    if (decision.target == Target.SERVER) info.last = <i32>decision.serverIndex;
    else if (decision.target == Target.KEEP && stmt.currentServer >= 0) info.last = stmt.currentServer;
    if ((stmt.flags & (Flag.USERVAR_READ | Flag.USERVAR_WRITE)) != 0 && decision.target == Target.SERVER
      && servers.get(<i32>decision.serverIndex).isPrimary) info.varsOnPrimary = true;
  }

  private decide(stmt: Statement, servers: ServerTable, decision: RouteDecision, info: SessionInfo): void {
    const cmd = stmt.command;
    if (cmd != COM_QUERY && cmd != COM_STMT_PREPARE && cmd != COM_STMT_EXECUTE && cmd != COM_STMT_BULK_EXECUTE) return;
    const kind = stmt.kind;
    const flags = stmt.flags;

    if (cmd == COM_STMT_PREPARE) {
      // Prepared everywhere by the host; the answer comes from where an execute would go.
      this.toReadOrWrite(stmt, servers, decision, info, kind == Kind.READ && (flags & PRIMARY_READ) == 0);
      return;
    }
    // Diagnostics of the previous statement live on the server that ran it (MaxScale does this too).
    if (cmd == COM_QUERY && info.last >= 0 && info.last < servers.count && servers.get(info.last).isUsable
      && (stmt.sqlStartsWith("SHOW WARNINGS") || stmt.sqlStartsWith("SHOW ERRORS") || stmt.sqlStartsWith("SHOW COUNT(")
        || ((flags & Flag.SYSVAR_ONLY) != 0 && readsDiagnostics(stmt)))) {
      decision.toServer(info.last);
      return;
    }
    if ((flags & Flag.CREATE_TEMP) != 0) info.tempTables = true;
    if ((flags & Flag.MULTI_STATEMENT) != 0 && this.o.strictMultiStmt) info.locked = true;
    if ((flags & Flag.CALL) != 0 && this.o.strictSpCalls) info.locked = true;

    // Session state: SET, USE, text PREPARE... on every connection (the host records it).
    if (kind == Kind.SESSION_WRITE && (flags & (Flag.WRITE | Flag.READ)) == 0) {
      decision.toAll();
      return;
    }
    // SELECT ... INTO @var outside a transaction only sets variables: on every connection.
    if (kind == Kind.READ && (flags & Flag.USERVAR_WRITE) != 0 && (flags & (PRIMARY_READ & ~Flag.USERVAR_WRITE)) == 0
      && !stmt.inTransaction && info.trxServer < 0) {
      decision.toAll();
      return;
    }
    const inTrx = stmt.inTransaction;
    if (kind == Kind.BEGIN) {
      // START TRANSACTION READ ONLY may run on a replica; any other transaction on the primary.
      info.trxServer = (flags & Flag.BEGIN_READ_ONLY) != 0 && !info.locked ? pickReplica(servers, stmt, this.o) : -1;
      if (info.trxServer < 0) info.trxServer = servers.primaryIndex();
      info.trxOnPrimary = info.trxServer >= 0 && info.trxServer == servers.primaryIndex();
      this.to(info.trxServer, servers, decision, true);
      return;
    }
    if (kind == Kind.COMMIT || kind == Kind.ROLLBACK) {
      const target = info.trxServer >= 0 ? trxTarget(info, servers) : servers.primaryIndex();
      info.trxServer = -1;
      this.to(target, servers, decision, true);
      return;
    }
    if (inTrx || info.trxServer >= 0) {
      if (info.trxServer < 0) {
        info.trxServer = servers.primaryIndex(); // implicit (autocommit=0)
        info.trxOnPrimary = info.trxServer >= 0;
      }
      this.to(trxTarget(info, servers), servers, decision, true);
      return;
    }
    if (stmt.trxKnown && !stmt.autocommit) {
      // autocommit=0: every statement opens or continues a transaction on the primary.
      this.to(servers.primaryIndex(), servers, decision, true);
      return;
    }
    if (stmt.hint != 0 && cmd == COM_QUERY) {
      // Outside a transaction a hint wins over the read/write rules (MaxScale 2.0+); a session
      // pinned to the primary (temp tables, strict_*) only honours `route to master`.
      const h = hintedTarget(stmt, servers, info.last, this.o, info.locked || info.tempTables);
      if (h >= 0) {
        metrics.add("routed_hint");
        this.to(h, servers, decision, true);
        return;
      }
    }
    let read = kind == Kind.READ && (flags & PRIMARY_READ) == 0 && (flags & Flag.MULTI_STATEMENT) == 0;
    if (read && info.varsOnPrimary && (flags & Flag.USERVAR_READ) != 0) read = false;
    if (read && this.o.variablesOnMaster && (flags & Flag.USERVAR_READ) != 0) read = false;
    this.toReadOrWrite(stmt, servers, decision, info, read);
  }

  private toReadOrWrite(stmt: Statement, servers: ServerTable, decision: RouteDecision, info: SessionInfo, read: bool): void {
    if (read && !info.locked && !info.tempTables) {
      const r = pickReplica(servers, stmt, this.o);
      if (r >= 0) {
        decision.toServer(r);
        return;
      }
    }
    this.to(servers.primaryIndex(), servers, decision, !read);
  }

  /** To server `index` (the primary when it is -1 and one exists), or the master_failure_mode answer. */
  private to(index: i32, servers: ServerTable, decision: RouteDecision, write: bool): void {
    if (index >= 0 && servers.get(index).isUsable) {
      decision.toServer(index);
      return;
    }
    if (!write) {
      // A read with no primary (fail_on_write, error_on_write): any replica will do.
      const r = pickReplica(servers, null, this.o);
      if (r >= 0) {
        decision.toServer(r);
        return;
      }
    }
    metrics.add("no_primary");
    decision.error("readwritesplit: no primary server available for this statement");
  }
}

register(new ReadWriteSplit("readwritesplit", "1.0.0"));
