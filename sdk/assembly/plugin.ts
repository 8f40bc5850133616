// The base classes a plugin extends, and register(). A plugin module registers exactly one
// Router or Filter at top level:
//
//   class MyRouter extends Router { ... }
//   register(new MyRouter("my-router", "1.0.0"));
import { Config } from "./config";
import { Reply } from "./records/reply";
import { ResultSet } from "./records/result";
import { RouteDecision, SessionTargets, StatementAction } from "./records/responses";
import { DatabaseTable } from "./records/databases";
import { ServerTable } from "./records/servers";
import { Session } from "./records/session";
import { Statement } from "./records/statement";

/** What Router and Filter have in common: identity, configuration, lifecycle hooks. */
export class Plugin {
  constructor(public readonly name: string, public readonly version: string) {}

  /** "router" or "filter". */
  get kind(): string { return "plugin"; }

  /**
   * Whether the plugin reads the classifier's kind, flags and digest (ABI 1.2). A plugin that
   * does not (a connection-level router) returns false: the host then skips classifying for it.
   */
  readsClassification(): bool { return true; }

  /** Hooks the host should call (ABI.md §5, without the "wsx_" prefix). */
  hooks(): string[] { return ["session_start", "session_end", "servers"]; }

  /**
   * Optional JSON Schema (as JSON text) of the configuration; the host checks the
   * configuration against it before configure(). Null: no schema.
   */
  configSchema(): string | null { return null; }

  /**
   * Called with the plugin's configuration before any other hook, and again on each new
   * instance. Return an error message to refuse it (problems the Config getters found are
   * reported too). Reset every setting here: it may be called more than once.
   */
  configure(config: Config): string | null { return null; }

  /** The server table changed (also called once before the first session). */
  onServers(servers: ServerTable): void {}

  /**
   * A session starts (or is announced again after the instance was recreated: then
   * session.currentServer is already set). A router may fill `targets` with the servers to
   * try for the session's connection; filters leave it alone.
   */
  onSessionStart(session: Session, servers: ServerTable, targets: SessionTargets): void {}

  /** The session ended; its SessionState entries are dropped after this returns. */
  onSessionEnd(session: Session): void {}
}

/** A router decides where statements go. */
export class Router extends Plugin {
  get kind(): string { return "router"; }

  hooks(): string[] {
    const h = ["session_start", "session_end", "servers", "route"];
    if (this.wantsDatabases()) h.push("databases");
    return h;
  }

  /** (1.2) Whether the host should discover each server's databases and call onDatabases. */
  wantsDatabases(): bool { return false; }

  /** (1.2) The databases each server holds (sent before the first session and whenever they change). */
  onDatabases(databases: DatabaseTable): void {}

  /** Where this statement goes. `decision` starts as keep (the session's current server). */
  route(stmt: Statement, servers: ServerTable, decision: RouteDecision): void {}
}

/** A filter decides what happens to statements (continue, rewrite, block) and may watch replies. */
export class Filter extends Plugin {
  get kind(): string { return "filter"; }

  /** Whether onReply should be called (each reply costs a hook call). */
  wantsReplies(): bool { return false; }

  /** Whether onResult should be called: the host then reads every result set (ABI 1.2). */
  wantsResults(): bool { return false; }

  hooks(): string[] {
    const h = ["session_start", "session_end", "servers", "on_statement"];
    if (this.wantsReplies()) h.push("on_reply");
    if (this.wantsResults()) h.push("on_result");
    return h;
  }

  /** `action` starts as continue. */
  onStatement(stmt: Statement, action: StatementAction): void {}

  onReply(reply: Reply): void {}

  /** A result set the client got (read-only): columns and rows as text, bounded in size. */
  onResult(result: ResultSet): void {}
}

let registeredPlugin: Plugin | null = null;

/** Makes `plugin` the one this module serves. Call once, at top level. */
export function register(plugin: Plugin): void {
  registeredPlugin = plugin;
}

export function registered(): Plugin | null {
  return registeredPlugin;
}
