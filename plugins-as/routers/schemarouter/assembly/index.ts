// schemarouter as a wasmscale plugin (MaxScale's schemarouter, simplified): each server is a
// shard holding some databases, which the host discovers (ABI 1.2 wsx_databases). USE db and
// COM_INIT_DB go to the shard holding db, and only there (other shards keep their own current
// database); a statement naming `db.table` goes to db's shard; other statements go to the shard
// of the session's current database (or the session's first server when it has none); SHOW
// DATABASES runs on every shard and the client gets the union; other session state (SET ...)
// goes to every shard. A database found on several shards is logged once and the first shard in
// the server list is used (as MaxScale does).
import {
  Command, Config, DatabaseTable, RouteDecision, Router, ServerTable, Session, SessionState, SessionTargets, Statement,
  StatementKind, log, metrics, register,
} from "wasmscale-sdk";
import { isShowDatabases, qualifiers, useTarget } from "./scan";

export * from "wasmscale-sdk/assembly/exports";

const SCHEMA = `{
  "type": "object",
  "properties": {
    "ignore_databases": { "type": "string" }
  },
  "additionalProperties": false
}`;

const COM_INIT_DB: u8 = 0x02;
/** Flags of sdk/ABI.md: READ, WRITE (a session write that also reads or writes data). */
const READ_OR_WRITE: u32 = 0x3;

class SessionInfo {
  /** Shard of the session's current database; -1 none known (the session's first server then). */
  server: i32 = -1;
}

const sessions = new SessionState<SessionInfo>();
/** The host's latest database table. */
let shards: DatabaseTable = new DatabaseTable();
const warned = new Set<string>();

function firstUsable(servers: ServerTable): i32 {
  for (let i = 0; i < servers.count; i++) if (servers.get(i).isUsable) return i;
  return servers.count > 0 ? 0 : -1;
}

class SchemaRouter extends Router {
  /** Databases never used for routing (MaxScale's ignore_databases: names in every shard, e.g. system ones). */
  ignored: Set<string> = new Set<string>();

  configSchema(): string | null { return SCHEMA; }

  configure(config: Config): string | null {
    const ignored = new Set<string>();
    const list = config.getString("ignore_databases", "information_schema,mysql,performance_schema,sys").split(",");
    for (let i = 0; i < list.length; i++) {
      const d = list[i].trim();
      if (d.length > 0) ignored.add(d);
    }
    this.ignored = ignored;
    return null;
  }

  wantsDatabases(): bool { return true; }

  onDatabases(table: DatabaseTable): void {
    shards = table;
    for (let i = 0; i < table.duplicates.length; i++) {
      const d = table.duplicates[i];
      if (this.ignored.has(d) || warned.has(d)) continue;
      warned.add(d);
      log.warn("database '" + d + "' found on more than one server; using the first one (server index " + table.serverFor(d).toString() + ")");
      metrics.add("duplicate_databases");
    }
  }

  /** The shard holding `db`, or -1 (unknown, or a database every shard has). */
  owner(db: string): i32 {
    if (db.length == 0 || this.ignored.has(db)) return -1;
    return shards.serverFor(db);
  }

  onSessionStart(session: Session, servers: ServerTable, targets: SessionTargets): void {
    const info = sessions.has(session.id) ? sessions.get(session.id) : new SessionInfo();
    sessions.set(session.id, info);
    const owner = this.owner(session.database);
    if (session.currentServer >= 0) {
      // announced again after an instance restart: the current database's shard as far as known
      if (info.server < 0) info.server = owner >= 0 ? owner : session.currentServer;
      return;
    }
    info.server = owner;
    if (owner < 0) return; // host's order: the login database (if any) is unknown or everywhere
    // The login database's shard first (the connection is opened with that database).
    targets.add(owner);
    for (let i = 0; i < servers.count; i++) if (i != owner && servers.get(i).isUsable) targets.add(i);
  }

  onSessionEnd(session: Session): void {
    sessions.delete(session.id);
  }

  route(stmt: Statement, servers: ServerTable, decision: RouteDecision): void {
    const info = sessions.getOr(stmt.sessionId, new SessionInfo());
    const cmd = stmt.command;
    if (cmd == COM_INIT_DB) {
      this.use(stmt.sql, stmt, servers, decision, info);
      return;
    }
    if (cmd == Command.QUERY || cmd == Command.STMT_PREPARE) {
      const sql = stmt.sql;
      if (stmt.kind == StatementKind.SESSION_WRITE) {
        const db = useTarget(sql);
        if (db !== null) {
          this.use(db, stmt, servers, decision, info);
          return;
        }
        if ((stmt.flags & READ_OR_WRITE) == 0) {
          decision.toAll();
          return;
        }
      }
      if (cmd == Command.QUERY && isShowDatabases(sql)) {
        metrics.add("merged");
        decision.toMerge();
        return;
      }
      const q = qualifiers(sql);
      for (let i = 0; i < q.length; i++) {
        const s = this.owner(q[i]);
        if (s >= 0) {
          // The first database named decides (MaxScale refuses statements spanning shards; this routes them to the first).
          decision.toServer(s);
          return;
        }
      }
    }
    const s = info.server >= 0 ? info.server : stmt.currentServer >= 0 ? stmt.currentServer : firstUsable(servers);
    if (s >= 0) decision.toServer(s);
  }

  /** USE db / COM_INIT_DB: to db's shard only; an unknown db to the current shard (its 1049 makes the host look again). */
  private use(db: string, stmt: Statement, servers: ServerTable, decision: RouteDecision, info: SessionInfo): void {
    const owner = this.owner(db);
    if (owner >= 0) {
      info.server = owner;
      decision.toServerOnly(owner);
      return;
    }
    const s = info.server >= 0 ? info.server : stmt.currentServer >= 0 ? stmt.currentServer : firstUsable(servers);
    if (s >= 0) decision.toServerOnly(s);
  }
}

register(new SchemaRouter("schemarouter", "1.0.0"));
