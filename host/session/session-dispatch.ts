// The command loop's routing: a client command is answered by the proxy, classified, passed
// through the filters, routed, and sent (the hot path: onCommand -> dispatch -> sendTo ->
// writeTo, with no allocation for a forwarded COM_QUERY or COM_STMT_EXECUTE), or run as a proxy
// command when it needs several connections, a new one, or a wait.
import { classifyStatement } from './classify-statement.js';
import { Com, Status } from '../protocol/constants.js';
import { Er } from '../protocol/errors.js';
import type { FramedPacket } from '../protocol/framer.js';
import { mayBeKill, parseKill } from '../protocol/kill.js';
import { encodeErr } from '../protocol/ok-err.js';
import type { ReplyKind } from '../protocol/reply-tracker.js';
import { type BackendLink, ReplyMode } from './backend-link.js';
import { causalTarget, needsCausalWait } from './causal-read-routing.js';
import { replyKindOf } from './command-kind.js';
import { retryRouting } from './delayed-retry.js';
import { mergeFromAll, prepareEverywhere, sessionCommand, statementToAll } from './fan-out.js';
import { FilterAction } from './filter.js';
import { LAST_PREPARED, typesAt, withTypes } from './prepared-statements.js';
import type { RouteDecision } from './router.js';
import { changeUser } from './session-auth.js';
import { CLASSIFIED_READ, CLASSIFIED_SESSION_WRITE, EMPTY, ROUTER_REFUSED, type MutableStatement, type SessionCore } from './session-core.js';
import { kill } from './session-kill.js';
import { connectLink, onlyForwarding, openLink, otherPending } from './session-links.js';
import { columnsFor, needsColumnRewrite } from './metadata-cache.js';
import { copyPacket, rewrittenPacket } from './session-packets.js';
import { recordForReplay } from './trx-replay.js';

const TRX_ACTIVE = 1;
const TRX_READ_ONLY = 2;
const TRX_AUTOCOMMIT = 4;
/** Bits 0-2 are known (the host tracks them): without it, trx = 0 would read as "unknown". */
const TRX_TRACKED = 8;

export function onCommand(s: SessionCore, p: FramedPacket): boolean {
  if (s.failureForNext !== null) {
    s.fail(Er.LOST_CONNECTION, s.failureForNext, (p.lastSeq + 1) & 0xff);
    return false;
  }
  if (s.infile) {
    // LOAD DATA LOCAL INFILE: the file's packets go to the server until the empty one.
    if (s.infileLink) s.writeTo(s.infileLink, p);
    if (p.payload.length === 0) {
      s.infile = false;
      s.infileLink = null;
    }
    return true;
  }
  if (p.seq !== 0) {
    s.logOnce('command with a non-zero sequence id', { seq: p.seq });
    s.fail(Er.NET_PACKETS_OUT_OF_ORDER, 'Got packets out of order', (p.seq + 1) & 0xff);
    return false;
  }
  if (p.payload.length === 0) {
    s.sendPacket(encodeErr(Er.UNKNOWN_COM, 'Unknown command'), 1);
    return true;
  }
  const cmd = p.payload[0]!;
  switch (cmd) {
    case Com.QUIT:
      for (const l of s.links.values()) l.conn.quit();
      s.close();
      return false;
    case Com.CHANGE_USER:
      return s.runProxyCommand(p, (pk) => changeUser(s, copyPacket(pk)));
    case Com.PROCESS_KILL: {
      // MariaDB reads the 4-byte id whatever the length (zeros past the end) and answers 1094
      // for an unknown id; a short packet must not become 1047 here.
      const idBytes = Buffer.alloc(4);
      p.payload.copy(idBytes, 0, 1, 5);
      const killId = idBytes.readUInt32LE(0);
      return s.runProxyCommand(p, () => kill(s, killId, false));
    }
    case Com.QUERY:
      if (mayBeKill(p.payload)) {
        const k = parseKill(p.payload.toString('utf8', 1));
        if (k) return s.runProxyCommand(p, () => kill(s, k.id, k.query));
      }
      break;
  }
  const kind = replyKindOf(cmd);
  if (kind === undefined) {
    s.sendPacket(encodeErr(Er.UNKNOWN_COM, 'Unknown command'), 1);
    return true;
  }
  if (cmd === Com.STMT_CLOSE || cmd === Com.STMT_SEND_LONG_DATA) {
    // No reply: the command goes to every connection that has the statement, id rewritten.
    // A client may pipeline them behind a reply, so keep the order behind pending replies.
    if (s.op || !onlyForwarding(s)) return s.runProxyCommand(p, (pk) => Promise.resolve(statementToAll(s, pk)));
    statementToAll(s, p);
    return true;
  }
  // One reused Statement per session: routing every statement must not allocate.
  const stmt = s.statement;
  stmt.command = cmd;
  stmt.payload = p.payload;
  stmt.trx = trxBits(s);
  stmt.kind = 0;
  stmt.flags = 0;
  stmt.digestLo = 0;
  stmt.digestHi = 0;
  stmt.hint = 0;
  stmt.hintServer = '';
  if ((cmd === Com.QUERY || cmd === Com.STMT_PREPARE) && (s.ctx.classifies || s.ctx.settings.trxReplay !== null)) {
    classifyStatement(stmt, p.payload, s.classified);
  }
  if ((cmd === Com.STMT_EXECUTE || cmd === Com.STMT_BULK_EXECUTE) && p.payload.length >= 5) {
    const ps = s.stmts.get(p.payload.readUInt32LE(1));
    if (ps) {
      stmt.kind = ps.kind;
      stmt.flags = ps.flags;
    }
  }
  if (s.filterSessions.length > 0) {
    const blocked = runFilters(s, stmt, p.lastSeq, kind !== null);
    if (blocked) {
      stmt.payload = EMPTY;
      return true;
    }
    if (stmt.payload !== p.payload) p = rewrittenPacket(stmt.payload);
  }
  const decision = s.routerSession!.route(stmt);
  stmt.payload = EMPTY;
  if (decision.kind === 'error') {
    if (s.ctx.settings.delayedRetryMs > 0) return s.runProxyCommand(p, (pk) => retryRouting(s, pk, cmd, kind, decision.message));
    // A router refusing the statement is ER_UNKNOWN_ERROR (sdk/ABI.md RouteDecision).
    s.sendPacket(encodeErr(ROUTER_REFUSED, decision.message), (p.lastSeq + 1) & 0xff);
    return true;
  }
  return dispatch(s, p, cmd, kind, decision);
}

export function trxBits(s: SessionCore): number {
  const st = s.serverStatus;
  return TRX_TRACKED | (st & Status.IN_TRANS ? TRX_ACTIVE : 0) | (st & Status.IN_TRANS_READONLY ? TRX_READ_ONLY : 0) | (st & Status.AUTOCOMMIT ? TRX_AUTOCOMMIT : 0);
}

/**
 * Sends a routed command. The fast path — the target connection is open and no other connection
 * has replies pending — writes it at once (pipelining stays possible); everything else (a
 * connection to open, a session command for every connection, a prepare, replies pending
 * elsewhere, whose order must be kept) runs as a proxy command after earlier replies.
 */
export function dispatch(s: SessionCore, p: FramedPacket, cmd: number, kind: ReplyKind | null, decision: RouteDecision): boolean {
  const sessionWide = cmd === Com.INIT_DB || cmd === Com.SET_OPTION || cmd === Com.RESET_CONNECTION || cmd === Com.STMT_RESET;
  if (cmd === Com.STMT_PREPARE) {
    const answering = decision.kind === 'server' ? decision.server : s.main?.name ?? s.mainName ?? '';
    const kindOf = s.statement.kind;
    const flags = s.statement.flags;
    return s.runProxyCommand(p, (pk) => prepareEverywhere(s, pk, answering, kindOf, flags));
  }
  if (decision.kind === 'merge') return s.runProxyCommand(p, (pk) => mergeFromAll(s, pk));
  // A statement that only changes session state (the classifier's kind 3: SET, USE, ...) runs
  // on every connection and goes into the history, whatever connection the router named: a
  // connection opened later (lazy connect, transaction replay) must be in the same state.
  // Unless the router said "this server only" for USE / COM_INIT_DB / SET (schemarouter: the
  // database exists on one shard; the other shards keep theirs).
  const only = decision.kind === 'server' && decision.only === true && (cmd === Com.INIT_DB || cmd === Com.QUERY);
  if (!only && (decision.kind === 'all' || sessionWide || s.statement.kind === CLASSIFIED_SESSION_WRITE)) {
    return s.runProxyCommand(p, (pk) => sessionCommand(s, pk, kind!));
  }
  let target = decision.kind === 'server' ? decision.server : '';
  if (cmd === Com.STMT_FETCH && p.payload.length >= 5) {
    // Rows of a cursor come from where it was opened.
    target = s.stmts.get(p.payload.readUInt32LE(1))?.lastServer ?? target;
  }
  if (cmd === Com.STMT_EXECUTE && s.ctx.discoversDatabases === true && p.payload.length >= 5) {
    // Shards hold different tables: a statement runs where it was prepared unless the router's server has it too.
    const ps = s.stmts.get(p.payload.readUInt32LE(1));
    if (ps?.lastServer && !s.links.get(target)?.statements.has(ps.clientId)) target = ps.lastServer;
  }
  const link = s.links.get(target);
  if (needsCausalWait(s, target, cmd)) {
    return s.runProxyCommand(p, async (pk) => {
      const where = await causalTarget(s, target);
      const l = s.links.get(where) ?? (await openLink(s, where));
      if (l && !s.closed) sendTo(s, l, pk, kind);
    });
  }
  // (An execute whose reply must be collected to be completed waits for the replies still coming
  // on its connection; this path looks the connection up again after the wait. Metadata caching.)
  if (link && !s.op && onlyForwarding(s) && !otherPending(s, link) && (link.pending === 0 || !needsColumnRewrite(s, link, p.payload))) {
    return sendTo(s, link, p, kind);
  }
  return s.runProxyCommand(p, async (pk) => {
    let l = s.links.get(target) ?? null;
    if (!l && s.ctx.settings.delayedRetryMs > 0) {
      // delayed_retry covers a server that cannot be reached too: route again until one is.
      try {
        l = await connectLink(s, target);
      } catch (err) {
        if (s.closed) return;
        return retryRouting(s, pk, cmd, kind, (err as Error).message);
      }
    }
    l ??= await openLink(s, target);
    if (l && !s.closed) sendTo(s, l, pk, kind);
  });
}

/** Writes a command to one connection, its reply to be forwarded. */
export function sendTo(s: SessionCore, link: BackendLink, p: FramedPacket, kind: ReplyKind | null): boolean {
  const cmd = p.payload[0];
  // Metadata caching: the client's column definitions for the statement are not the ones this
  // connection would skip, so its reply is collected and completed (host/session/metadata-cache.ts);
  // collected whole, it must not share the connection with replies still coming: it waits for them.
  const rewrite = needsColumnRewrite(s, link, p.payload);
  if (rewrite && link.pending > 0) return s.runProxyCommand(p, async (pk) => void sendTo(s, link, pk, kind));
  if (link !== s.main && kind !== null && s.statement.kind === CLASSIFIED_READ && !(s.serverStatus & Status.IN_TRANS) && link.pending === 0) {
    // A read that may be sent again elsewhere if this connection dies before answering.
    const r = s.retry;
    r.link = link;
    // A copy: the packet may be a view of the socket's reused read buffer.
    r.payload = Buffer.from(p.payload);
    r.clientStmtId = p.payload.length >= 5 && cmd !== Com.QUERY ? p.payload.readUInt32LE(1) : 0;
    r.kind = kind;
    r.seq = p.lastSeq;
  }
  if (s.ctx.settings.trxReplay !== null) recordForReplay(s, link, p.payload, kind);
  if (s.ctx.settings.causalReads !== 'none' && s.statement.kind !== CLASSIFIED_READ && link.server.role === 'primary') s.gtid.wrote();
  if (cmd === Com.STMT_EXECUTE || cmd === Com.STMT_FETCH || cmd === Com.STMT_BULK_EXECUTE) {
    const mapped = mapStatement(s, link, p);
    if (mapped === null) return true;
    p = mapped;
  }
  s.lastCmdSeq = p.lastSeq;
  if (kind !== null) {
    if (s.resultFilters.length > 0 && kind === 1 /* ReplyKind.Result */ && link.pending === 0 && s.teeLink === null) {
      s.teeLink = link;
      s.teeBinary = cmd === Com.STMT_EXECUTE;
      s.teeColumns = columnsFor(s, link, p.payload);
    }
    link.expect(kind, rewrite ? ReplyMode.Rewrite : ReplyMode.Forward, p.payload);
    s.routerSession?.opStarted?.(link.name);
    // Response time of a lone statement (pipelined ones would measure queueing too).
    link.sentAt = link.pending === 1 ? performance.now() : 0;
  }
  s.writeTo(link, p);
  return true;
}

/**
 * The command with the client's statement id replaced by the connection's (in place: the
 * payload is ours), parameter types added if this connection never got them; null (ERR sent)
 * for an unknown statement.
 */
function mapStatement(s: SessionCore, link: BackendLink, p: FramedPacket): FramedPacket | null {
  if (p.payload.length < 5) return p;
  const clientId = p.payload.readUInt32LE(1);
  const ps = s.stmts.get(clientId);
  const backendId = ps ? link.statements.get(ps.clientId) : undefined;
  if (!ps || backendId === undefined) {
    s.sendPacket(encodeErr(Er.UNKNOWN_STMT_HANDLER, `Unknown prepared statement handler (${clientId === LAST_PREPARED ? -1 : clientId}) given to mysqld_stmt_execute`), (p.lastSeq + 1) & 0xff);
    return null;
  }
  p.payload.writeUInt32LE(backendId, 1);
  if (p.payload[0] !== Com.STMT_EXECUTE) return p;
  ps.lastServer = link.name;
  const at = typesAt(p.payload, ps.params);
  if (at > 0) {
    // Kept for connections that never saw them; copied only when they change (compared in
    // place: an execute allocates nothing here).
    const end = at + 2 * ps.params;
    if (ps.types === null || ps.types.compare(p.payload, at, end) !== 0) ps.types = Buffer.from(p.payload.subarray(at, end));
    if (s.links.size > 1) link.typed.add(ps.clientId);
  } else if (ps.params > 0 && ps.types && !link.typed.has(ps.clientId)) {
    link.typed.add(ps.clientId);
    return rewrittenPacket(withTypes(p.payload, ps.params, ps.types));
  }
  return p;
}

/**
 * Passes the statement through the filters in order. A rewrite replaces stmt.payload (later
 * filters and the router see the new SQL); a block answers the client with the filter's ERR
 * (nothing, for a command that has no reply) and returns true.
 */
function runFilters(s: SessionCore, stmt: MutableStatement, lastSeq: number, hasReply: boolean): boolean {
  for (const f of s.filterSessions) {
    const v = f.statement(stmt);
    if (v === null) continue;
    if (v.action === FilterAction.Block) {
      if (hasReply) s.sendPacket(encodeErr({ code: v.errorCode, sqlState: v.sqlState }, v.text), (lastSeq + 1) & 0xff);
      return true;
    }
    if (v.action === FilterAction.Rewrite) {
      const text = Buffer.from(v.text, 'utf8');
      const payload = Buffer.allocUnsafe(1 + text.length);
      payload[0] = stmt.command;
      text.copy(payload, 1);
      stmt.payload = payload;
    }
  }
  return false;
}
