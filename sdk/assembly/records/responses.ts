// What hooks answer (ABI.md §6 responses). A hook fills one of these; the SDK writes the record
// into the exchange buffer after the hook returns, so the hook may read its request until then.
// They are reused from call to call: choosing a target allocates nothing.
import { FilterAction, RouteFlag, Target, TargetsAction } from "../abi";
import { exchangeCapacity, exchangePtr } from "../exchange";
import { writer } from "./write";

/** A router's answer to a statement. Default: keep the session's current server. */
export class RouteDecision {
  target: u8 = Target.KEEP;
  serverIndex: u32 = 0;
  message: string = "";
  /** RouteFlag bits (1.2). */
  flags: u32 = 0;

  /** Back to keep. (`message` is only read for ERROR, which sets it: no store needed here.) */
  clear(): void {
    this.target = Target.KEEP;
    this.serverIndex = 0;
    this.flags = 0;
  }

  /** Send to the session's current server (the default). */
  keep(): void { this.target = Target.KEEP; }
  /** Send to the server at this index of the server table. */
  toServer(index: i32): void { this.target = Target.SERVER; this.serverIndex = <u32>index; }
  /** Send to every server the session uses (session commands). */
  toAll(): void { this.target = Target.ALL; }
  /**
   * (1.2) Send a session write (USE, COM_INIT_DB, SET) to this server only, not to every
   * connection and not into the host's session history (a database that lives on one shard).
   */
  toServerOnly(index: i32): void { this.target = Target.SERVER; this.serverIndex = <u32>index; this.flags = RouteFlag.ONLY; }
  /** (1.2) Run on every server of the service and answer with one result set, the union of theirs. */
  toMerge(): void { this.target = Target.MERGE; }
  /** Answer the client with ERR 1105 (HY000) and this message. */
  error(message: string): void { this.target = Target.ERROR; this.message = message; }

  /** Writes the RouteDecision record; 0 (no response) for KEEP. */
  write(): i32 {
    if (this.target == Target.KEEP) return 0;
    if (this.target != Target.ERROR) {
      // The hot path (a server, or all): 16 fixed bytes, written directly; 20 with flags (1.2).
      const n: i32 = this.flags == 0 ? 16 : 20;
      if (exchangeCapacity() < n) return -1;
      const base = exchangePtr();
      store<u32>(base, <u32>n);
      store<u32>(base, <u32>this.target, 4); // target u8 + reserved u8 + reserved u16
      store<u32>(base, this.serverIndex, 8);
      store<u32>(base, 0, 12); // message: empty str
      if (n == 20) store<u32>(base, this.flags, 16);
      return n;
    }
    writer.begin();
    writer.u8(this.target);
    writer.u8(0);
    writer.u16(0);
    writer.u32(this.serverIndex);
    writer.str(this.message);
    writer.u32(this.flags);
    return writer.end();
  }
}

/**
 * A router's answer to a session start: the servers to try, best first, for the session's
 * connection. Default: the host's own order (up servers in configured order).
 */
export class SessionTargets {
  action: u8 = TargetsAction.DEFAULT;
  servers: u32[] = [];
  message: string = "";

  clear(): void {
    this.action = TargetsAction.DEFAULT;
    this.servers.length = 0;
    this.message = "";
  }

  /** Adds a server (by table index) to the list of servers to try, in order. */
  add(index: i32): void {
    this.action = TargetsAction.LIST;
    this.servers.push(<u32>index);
  }

  /** Refuse the session: the client gets an error with this message. */
  refuse(message: string): void {
    this.action = TargetsAction.REFUSE;
    this.message = message;
  }

  write(): i32 {
    if (this.action == TargetsAction.DEFAULT) return 0;
    writer.begin();
    writer.u8(this.action);
    writer.u8(0);
    writer.u16(0);
    const n = this.servers.length;
    writer.u32(<u32>n);
    for (let i = 0; i < n; i++) writer.u32(this.servers[i]);
    writer.str(this.message);
    return writer.end();
  }
}

/** A filter's answer to a statement. Default: continue unchanged. */
export class StatementAction {
  action: u8 = FilterAction.CONTINUE;
  errorCode: u16 = 1105;
  sqlState: string = "HY000";
  text: string = "";

  /** Back to continue. (The other fields are set by rewrite()/block() when used: no stores here.) */
  clear(): void {
    this.action = FilterAction.CONTINUE;
  }

  continue(): void { this.action = FilterAction.CONTINUE; }
  /** Replace the statement's text. */
  rewrite(sql: string): void { this.action = FilterAction.REWRITE; this.text = sql; }
  /** Answer the client with an ERR instead of running the statement. */
  block(message: string, errorCode: u16 = 1105, sqlState: string = "HY000"): void {
    this.action = FilterAction.BLOCK;
    this.text = message;
    this.errorCode = errorCode;
    this.sqlState = sqlState;
  }

  write(): i32 {
    if (this.action == FilterAction.CONTINUE) return 0;
    writer.begin();
    writer.u8(this.action);
    writer.u8(0);
    const block = this.action == FilterAction.BLOCK;
    writer.u16(block ? this.errorCode : 1105);
    writer.str(block ? this.sqlState : "HY000");
    writer.str(this.text);
    return writer.end();
  }
}

export const routeDecision = new RouteDecision();
export const sessionTargets = new SessionTargets();
export const statementAction = new StatementAction();
