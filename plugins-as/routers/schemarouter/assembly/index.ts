// schemarouter as a wasmscale plugin (MaxScale's schemarouter, simplified): each server is a
// shard holding some databases, which the host discovers (ABI 1.2 wsx_databases). USE db and
// COM_INIT_DB go to the shard holding db, and only there (other shards keep their own current
// database); a statement naming `db.table` goes to db's shard; other statements go to the shard
// of the session's current database (or the session's first server when it has none); SHOW
// DATABASES runs on every shard and the client gets the union; other session state (SET ...)
// goes to every shard. A statement whose databases (and the current database, for a table named
// without one) share no shard is refused, as is one using a database found on several shards
// unless allow_duplicates / ignore_tables say it may be (MaxScale refuses both).
// A text PREPARE naming a shard's database is prepared on that shard, and its EXECUTE follows.
import {
  Command, Config, DatabaseTable, RouteDecision, Router, ServerTable, Session, SessionState, SessionTargets, Statement,
  StatementKind, log, metrics, register,
} from "wasmscale-sdk";
import { Prepare, deallocateName, executeName, immediate, isShowDatabases, prepareOf, references, useTarget } from "./scan";

export * from "wasmscale-sdk/assembly/exports";

const SCHEMA = `{
  "type": "object",
  "properties": {
    "ignore_databases": { "type": "string" },
    "allow_duplicates": { "type": "boolean" },
    "ignore_tables": { "type": "string" }
  },
  "additionalProperties": false
}`;

const COM_INIT_DB: u8 = 0x02;
/** Flags of sdk/ABI.md: READ, WRITE (a session write that also reads or writes data). */
const READ_OR_WRITE: u32 = 0x3;

class SessionInfo {
  /** Shard of the session's current database; -1 none known (the session's first server then). */
  server: i32 = -1;
  /** Text prepared statements (PREPARE name FROM '...') prepared on one shard: name (upper case) -> shard. */
  named: Map<string, i32> = new Map<string, i32>();
}

const sessions = new SessionState<SessionInfo>();
/** Database name -> indexes of the servers holding it, ascending (from the host's latest table). */
let locations = new Map<string, i32[]>();
const warned = new Set<string>();
const NONE: i32[] = [];
/** shardOf(): the statement was refused (the decision holds the error); it names no database. */
const REFUSED: i32 = -1;
const NO_NAMES: i32 = -2;

function intersect(a: i32[], b: i32[]): i32[] {
  const out = new Array<i32>();
  for (let i = 0; i < a.length; i++) if (b.includes(a[i])) out.push(a[i]);
  return out;
}

function names(servers: ServerTable, list: i32[]): string {
  let out = "";
  for (let i = 0; i < list.length; i++) {
    if (i > 0) out += ", ";
    out += list[i] < servers.count ? "'" + servers.get(list[i]).name + "'" : list[i].toString();
  }
  return out;
}

function firstUsable(servers: ServerTable): i32 {
  for (let i = 0; i < servers.count; i++) if (servers.get(i).isUsable) return i;
  return servers.count > 0 ? 0 : -1;
}

class SchemaRouter extends Router {
  /** Databases never used for routing (MaxScale's ignore_databases: names in every shard, e.g. system ones). */
  ignored: Set<string> = new Set<string>();
  /** MaxScale's allow_duplicates: a database on several shards may be used (the current shard, else the first holding it). */
  allowDuplicates: bool = false;
  /** MaxScale's ignore_tables, for databases ("db" or "db."): duplicates of these are allowed. */
  dupOk: Set<string> = new Set<string>();

  configSchema(): string | null { return SCHEMA; }

  configure(config: Config): string | null {
    const ignored = new Set<string>();
    const list = config.getString("ignore_databases", "information_schema,mysql,performance_schema,sys").split(",");
    for (let i = 0; i < list.length; i++) {
      const d = list[i].trim();
      if (d.length > 0) ignored.add(d);
    }
    this.ignored = ignored;
    this.allowDuplicates = config.getBool("allow_duplicates", false);
    const dupOk = new Set<string>();
    const tables = config.getStringList("ignore_tables", []);
    for (let i = 0; i < tables.length; i++) {
      const t = tables[i];
      // Only whole databases are sharded here: "db" or MaxScale's database entry "db.".
      dupOk.add(t.endsWith(".") ? t.substring(0, t.length - 1) : t);
    }
    this.dupOk = dupOk;
    return null;
  }

  wantsDatabases(): bool { return true; }

  onDatabases(table: DatabaseTable): void {
    const map = new Map<string, i32[]>();
    for (let server = 0; server < table.lists.length; server++) {
      const list = table.lists[server];
      for (let k = 0; k < list.length; k++) {
        const d = list[k];
        if (!map.has(d)) map.set(d, [server]);
        else map.get(d).push(server);
      }
    }
    locations = map;
    for (let i = 0; i < table.duplicates.length; i++) {
      const d = table.duplicates[i];
      if (this.ignored.has(d) || warned.has(d)) continue;
      warned.add(d);
      const allowed = this.duplicateAllowed(d);
      log.warn("database '" + d + "' found on more than one server (indexes " + map.get(d).join(", ") + "); " +
        (allowed ? "allowed: statements use the current shard if it has it, else the first" : "statements using it are refused (allow_duplicates, ignore_tables)"));
      metrics.add("duplicate_databases");
    }
  }

  duplicateAllowed(db: string): bool { return this.allowDuplicates || this.dupOk.has(db); }

  /** Servers holding `db` (ascending); empty when unknown or ignored (a database every shard has). */
  where(db: string): i32[] {
    if (db.length == 0 || this.ignored.has(db) || !locations.has(db)) return NONE;
    return locations.get(db);
  }

  /** The shard `db` is used on: the current one if it holds db, else the first; -1 unknown, ignored or a refused duplicate. */
  owner(db: string, current: i32): i32 {
    const at = this.where(db);
    if (at.length == 0 || (at.length > 1 && !this.duplicateAllowed(db))) return -1;
    return at.includes(current) ? current : at[0];
  }

  /** The refusal of a database found on several shards, or null when it may be used. */
  duplicateError(db: string, servers: ServerTable): string | null {
    const at = this.where(db);
    if (at.length < 2 || this.duplicateAllowed(db)) return null;
    return "schemarouter: database '" + db + "' found on more than one shard (" + names(servers, at) +
      "): duplicate databases found on different shards (allow_duplicates or ignore_tables to use it)";
  }

  onSessionStart(session: Session, servers: ServerTable, targets: SessionTargets): void {
    const info = sessions.has(session.id) ? sessions.get(session.id) : new SessionInfo();
    sessions.set(session.id, info);
    const owner = this.owner(session.database, -1);
    if (session.currentServer >= 0) {
      // announced again after an instance restart: the current database's shard as far as known
      if (info.server < 0) info.server = owner >= 0 ? owner : session.currentServer;
      return;
    }
    const dup = this.duplicateError(session.database, servers);
    if (dup !== null) {
      // MaxScale closes the session; refusing the login keeps the rule "a duplicate is never used".
      metrics.add("refused_duplicate");
      targets.refuse(dup);
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
    // Not getOr(id, new SessionInfo()): its argument would allocate on every statement.
    const info = sessions.has(stmt.sessionId) ? sessions.get(stmt.sessionId) : new SessionInfo();
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
        const prep = prepareOf(sql);
        if (prep !== null) {
          this.prepare(prep, servers, decision, info);
          return;
        }
        const gone = deallocateName(sql);
        if (gone !== null && info.named.has(gone)) {
          decision.toServerOnly(info.named.get(gone));
          info.named.delete(gone);
          return;
        }
        if ((stmt.flags & READ_OR_WRITE) == 0) {
          decision.toAll();
          return;
        }
      }
      const exec = cmd == Command.QUERY ? executeName(sql) : null;
      if (exec !== null) {
        // EXECUTE s: where s was prepared; EXECUTE IMMEDIATE 'sql': by the names in the SQL
        if (exec.length > 0 && info.named.has(exec)) {
          decision.toServer(info.named.get(exec));
          return;
        }
        if (exec.length == 0 && this.byNames(immediate, servers, decision, info)) return;
      }
      if (cmd == Command.QUERY && isShowDatabases(sql)) {
        metrics.add("merged");
        decision.toMerge();
        return;
      }
      if (this.byNames(sql, servers, decision, info)) return;
    }
    const s = info.server >= 0 ? info.server : stmt.currentServer >= 0 ? stmt.currentServer : firstUsable(servers);
    if (s >= 0) decision.toServer(s);
  }

  /**
   * Routes by the databases the statement names: to a shard holding all of them (the current
   * one if it does, else the first), or an error when none does. False: it names none.
   */
  private byNames(sql: string, servers: ServerTable, decision: RouteDecision, info: SessionInfo): bool {
    const s = this.shardOf(sql, servers, decision, info);
    if (s >= 0) decision.toServer(s);
    return s != NO_NAMES;
  }

  /**
   * PREPARE s FROM '...' naming a shard's database: prepared on that shard only (elsewhere it
   * would fail, and a session command answered differently costs the session that connection);
   * EXECUTE and DEALLOCATE follow it there. Otherwise a session command on every shard.
   */
  private prepare(prep: Prepare, servers: ServerTable, decision: RouteDecision, info: SessionInfo): void {
    info.named.delete(prep.name);
    const text = prep.text;
    if (text === null) {
      decision.toAll();
      return;
    }
    const s = this.shardOf(text, servers, decision, info);
    if (s == NO_NAMES) decision.toAll();
    else if (s >= 0) {
      info.named.set(prep.name, s);
      decision.toServerOnly(s);
    }
  }

  /**
   * The shard holding every database the statement names (the current one if it does, else the
   * first); REFUSED (the decision holds the error) when none does; NO_NAMES when it names none.
   */
  private shardOf(sql: string, servers: ServerTable, decision: RouteDecision, info: SessionInfo): i32 {
    const refs = references(sql);
    let shared: i32[] | null = null;
    let last = -1; // index in refs.dbs of the last database that narrowed the choice (the message is built on refusal only)
    for (let i = 0; i < refs.dbs.length; i++) {
      const db = refs.dbs[i];
      const at = this.where(db);
      if (at.length == 0) continue; // not a database (an alias), unknown, or ignored
      const dup = this.duplicateError(db, servers);
      if (dup !== null) {
        metrics.add("refused_duplicate");
        decision.error(dup);
        return REFUSED;
      }
      const next: i32[] = shared === null ? at : intersect(shared!, at);
      if (next.length == 0) return this.crossShard(decision, this.describe(refs.dbs, i, servers));
      shared = next;
      last = i;
    }
    if (shared === null) return NO_NAMES;
    const s = shared!;
    // A table named without a database is the current database's: it must be on the same shard
    // (on another, the statement would read whatever that connection's own current database is).
    if (refs.unqualified && info.server >= 0 && !s.includes(info.server)) {
      return this.crossShard(decision, this.describe(refs.dbs, last, servers) + ", the current database on " + names(servers, [info.server]));
    }
    return s.includes(info.server) ? info.server : s[0];
  }

  /** "'a' on 'shard1', 'b' on 'shard2'": the known databases of dbs[0..upTo], each once. */
  private describe(dbs: string[], upTo: i32, servers: ServerTable): string {
    let out = "";
    const seen = new Set<string>();
    for (let i = 0; i <= upTo; i++) {
      const at = this.where(dbs[i]);
      if (at.length == 0 || seen.has(dbs[i])) continue;
      seen.add(dbs[i]);
      out += (out.length > 0 ? ", " : "") + "'" + dbs[i] + "' on " + names(servers, at);
    }
    return out;
  }

  private crossShard(decision: RouteDecision, what: string): i32 {
    metrics.add("refused_cross_shard");
    decision.error("schemarouter: the statement uses databases on different shards (" + what + "); a statement runs on one shard");
    return REFUSED;
  }

  /** USE db / COM_INIT_DB: to db's shard only; an unknown db to the current shard (its 1049 makes the host look again). */
  private use(db: string, stmt: Statement, servers: ServerTable, decision: RouteDecision, info: SessionInfo): void {
    const dup = this.duplicateError(db, servers);
    if (dup !== null) {
      metrics.add("refused_duplicate");
      decision.error(dup);
      return;
    }
    const owner = this.owner(db, info.server);
    if (owner >= 0) {
      info.server = owner;
      decision.toServerOnly(owner);
      return;
    }
    const s = info.server >= 0 ? info.server : stmt.currentServer >= 0 ? stmt.currentServer : firstUsable(servers);
    if (s >= 0) decision.toServerOnly(s);
  }
}

register(new SchemaRouter("schemarouter", "1.1.0"));
