// hintrouter as a wasmscale plugin (MaxScale's hintrouter): each statement goes where its routing
// hint says (`-- wasmscale route to master|slave|server NAME|last`, or `-- maxscale route to ...`);
// one without a hint, or whose hint cannot be followed, follows `default_action`. Unlike
// readwritesplit it does not look at what the statement does, except to keep a transaction on
// the server that started it and to send session state (SET, USE) to every connection, which
// the host's session-command history needs to stay consistent.
import {
  Config, Hint, RouteDecision, Router, ServerTable, Session, SessionState, SessionTargets, Statement,
  StatementKind, Target, log, metrics, register,
} from "wasmscale-sdk";

export * from "wasmscale-sdk/assembly/exports";

const SCHEMA = `{
  "type": "object",
  "properties": {
    "default_action": { "type": "string" },
    "default_server": { "type": "string" },
    "max_slaves": { "type": "number" }
  },
  "additionalProperties": false
}`;

namespace Action {
  export const MASTER: i32 = 0;
  export const SLAVE: i32 = 1;
  export const NAMED: i32 = 2;
  export const ALL: i32 = 3;
}

const COM_QUERY: u8 = 0x03;
/** Flags of sdk/ABI.md: READ, WRITE (a session write that also reads/writes data is not state only). */
const READ_OR_WRITE: u32 = 0x3;

class SessionInfo {
  /** Server of the open transaction (-1 none). */
  trxServer: i32 = -1;
  /** Server the previous statement went to (-1 none): `route to last`. */
  last: i32 = -1;
}

const sessions = new SessionState<SessionInfo>();
const warned = new Set<string>();

/** The replica with the fewest operations in progress per unit of weight; -1 if none is usable. */
function pickReplica(servers: ServerTable, stmt: Statement | null): i32 {
  let best = -1;
  let bestScore: f64 = 0;
  for (let i = 0; i < servers.count; i++) {
    const s = servers.get(i);
    if (!s.isReplica || !s.isUsable || s.weight == 0) continue;
    const sc = <f64>(stmt === null ? s.connections : stmt.serverOps(i)) / <f64>s.weight;
    if (best < 0 || sc < bestScore) {
      best = i;
      bestScore = sc;
    }
  }
  return best;
}

function byName(servers: ServerTable, name: string): i32 {
  for (let i = 0; i < servers.count; i++) if (servers.get(i).name == name) return i;
  return -1;
}

function usable(servers: ServerTable, i: i32): bool {
  return i >= 0 && i < servers.count && servers.get(i).isUsable;
}

class HintRouter extends Router {
  action: i32 = Action.MASTER;
  defaultServer: string = "";

  configSchema(): string | null { return SCHEMA; }

  configure(config: Config): string | null {
    const a = config.getString("default_action", "master").toLowerCase();
    if (a == "master") this.action = Action.MASTER;
    else if (a == "slave") this.action = Action.SLAVE;
    else if (a == "named") this.action = Action.NAMED;
    else if (a == "all") this.action = Action.ALL;
    else return "default_action: expected master, slave, named or all, got \"" + a + "\"";
    this.defaultServer = config.getString("default_server", "");
    if (this.action == Action.NAMED && this.defaultServer.length == 0) return "default_action=named needs default_server";
    // max_slaves (MaxScale: how many replica connections to open) is accepted for compatibility:
    // the host opens connections lazily, only to the servers statements go to.
    return null;
  }

  onSessionStart(session: Session, servers: ServerTable, targets: SessionTargets): void {
    if (!sessions.has(session.id)) sessions.set(session.id, new SessionInfo());
    if (session.currentServer >= 0) return; // announced again after an instance restart
    const first = this.defaultTarget(servers, null);
    if (first >= 0) targets.add(first); // else the host's order
  }

  onSessionEnd(session: Session): void {
    sessions.delete(session.id);
  }

  route(stmt: Statement, servers: ServerTable, decision: RouteDecision): void {
    // Not getOr(id, new SessionInfo()): its argument would allocate on every statement.
    const info = sessions.has(stmt.sessionId) ? sessions.get(stmt.sessionId) : new SessionInfo();
    this.decide(stmt, servers, decision, info);
    if (decision.target == Target.SERVER) info.last = <i32>decision.serverIndex;
    else if (decision.target == Target.KEEP && stmt.currentServer >= 0) info.last = stmt.currentServer;
  }

  private decide(stmt: Statement, servers: ServerTable, decision: RouteDecision, info: SessionInfo): void {
    const kind = stmt.kind;
    if (kind == StatementKind.SESSION_WRITE && (stmt.flags & READ_OR_WRITE) == 0) {
      decision.toAll();
      return;
    }
    // A transaction stays where it started; hints inside it are ignored (as MaxScale does).
    // The transaction ended without COMMIT/ROLLBACK (a failed BEGIN, an implicit commit).
    if (info.trxServer >= 0 && stmt.trxKnown && !stmt.inTransaction && kind != StatementKind.COMMIT && kind != StatementKind.ROLLBACK) info.trxServer = -1;
    if (kind == StatementKind.COMMIT || kind == StatementKind.ROLLBACK) {
      const t = info.trxServer;
      info.trxServer = -1;
      if (usable(servers, t)) decision.toServer(t);
      return;
    }
    if (info.trxServer >= 0 || (stmt.inTransaction && kind != StatementKind.BEGIN)) {
      if (info.trxServer < 0) info.trxServer = stmt.currentServer >= 0 ? stmt.currentServer : info.last;
      if (usable(servers, info.trxServer)) decision.toServer(info.trxServer);
      return;
    }
    let target = stmt.command == COM_QUERY ? this.hinted(stmt, servers, info) : -1;
    if (target < 0) {
      if (this.action == Action.ALL) {
        decision.toAll();
        return;
      }
      target = this.defaultTarget(servers, stmt);
    } else {
      metrics.add("routed_hint");
    }
    if (target < 0) {
      decision.error("hintrouter: no server available for this statement");
      return;
    }
    decision.toServer(target);
    if (kind == StatementKind.BEGIN) info.trxServer = target;
  }

  /** Where the hint sends the statement; -1: no hint, or one that cannot be followed. */
  private hinted(stmt: Statement, servers: ServerTable, info: SessionInfo): i32 {
    const h = stmt.hint;
    if (h == Hint.MASTER) return servers.primaryIndex();
    if (h == Hint.SLAVE) return pickReplica(servers, stmt);
    if (h == Hint.LAST) return usable(servers, info.last) ? info.last : -1;
    if (h != Hint.SERVER) return -1;
    for (let i = 0; i < servers.count; i++) {
      if (!stmt.hintServerIs(servers.get(i).name)) continue;
      if (servers.get(i).isUsable) return i;
      this.warnOnce(stmt.hintServer, "the server is not usable");
      return -1;
    }
    this.warnOnce(stmt.hintServer, "no such server");
    return -1;
  }

  private defaultTarget(servers: ServerTable, stmt: Statement | null): i32 {
    if (this.action == Action.SLAVE) {
      const r = pickReplica(servers, stmt);
      return r >= 0 ? r : servers.primaryIndex();
    }
    if (this.action == Action.NAMED) {
      const i = byName(servers, this.defaultServer);
      if (usable(servers, i)) return i;
    }
    // master, all (its session's first connection), and named when that server is unusable.
    return servers.primaryIndex();
  }

  private warnOnce(name: string, why: string): void {
    if (warned.has(name) || warned.size >= 64) return;
    warned.add(name);
    log.warn("hintrouter: routing hint \"route to server " + name + "\" ignored: " + why);
  }
}

register(new HintRouter("hintrouter", "1.0.0"));
