// Commands that go to several of the session's connections: session commands (state every
// connection must share, kept in the history), COM_STMT_PREPARE (prepared everywhere, ids mapped),
// COM_STMT_CLOSE / SEND_LONG_DATA (to each connection that has the statement), and merged reads.
import { Cap, Com } from '../protocol/constants.js';
import { Er } from '../protocol/errors.js';
import type { FramedPacket } from '../protocol/framer.js';
import { encodeErr } from '../protocol/ok-err.js';
import type { ReplyKind } from '../protocol/reply-tracker.js';
import { mergeResultSets } from '../protocol/result-merge.js';
import { type BackendLink, ReplyMode } from './backend-link.js';
import { needsColumnRewrite } from './metadata-cache.js';
import { multi, sendToEach } from './multi-op.js';
import { LAST_PREPARED, readPrepareOk, setPrepareOkId } from './prepared-statements.js';
import type { SessionCore } from './session-core.js';
import { dropLink, mainTarget, openLink, sessionStartsOver } from './session-links.js';
import { rewrittenPacket } from './session-packets.js';
import { commandFor, commandForHistory } from './statement-ids.js';

/** COM_STMT_CLOSE / COM_STMT_SEND_LONG_DATA: to every connection that has the statement. */
export function statementToAll(s: SessionCore, p: FramedPacket): void {
  const clientId = p.payload.length >= 5 ? p.payload.readUInt32LE(1) : 0;
  const ps = s.stmts.get(clientId);
  if (!ps) return; // MariaDB ignores both for an unknown id (no reply to send)
  for (const link of s.links.values()) {
    const id = link.statements.get(ps.clientId);
    if (id === undefined) continue;
    const payload = Buffer.from(p.payload);
    payload.writeUInt32LE(id, 1);
    s.writeTo(link, rewrittenPacket(payload));
    if (p.payload[0] === Com.STMT_CLOSE) {
      link.statements.delete(ps.clientId);
      link.typed.delete(ps.clientId);
      link.meta.delete(id);
    }
  }
  if (p.payload[0] === Com.STMT_CLOSE) {
    s.stmts.delete(ps.clientId);
    s.history.removePrepare(ps.clientId);
  }
}

/**
 * A command that changes session state (router said "all", or COM_INIT_DB & co): it runs on
 * every open connection and goes into the history; the client gets the main connection's
 * answer. A connection that answers differently is closed (its state no longer matches).
 */
export async function sessionCommand(s: SessionCore, p: FramedPacket, kind: ReplyKind): Promise<void> {
  // With master_reconnection the main connection may be closed: reopen it first.
  if (!s.main && s.mainName !== null && s.links.size === 0 && !(await openLink(s, mainTarget(s) ?? s.mainName))) return;
  const answering = s.main ?? [...s.links.values()][0];
  if (!answering) return s.sendPacket(encodeErr(Er.NO_BACKEND, 'no backend connection'), 1);
  const cmd = p.payload[0]!;
  s.gtid.sessionCommand(p.payload);
  const recorded = commandForHistory(s, p.payload);
  const entry = cmd === Com.RESET_CONNECTION ? null : s.history.add(recorded.payload, 0, recorded.statement);
  const targets = [...s.links.values()];
  s.lastCmdSeq = p.lastSeq;
  s.routerSession?.opStarted?.(answering.name);
  const outcomes = await multi(s, new Map(targets.map((l) => [l, 1])), () => {
    for (const l of targets) {
      let pk = p;
      // A statement's id is the connection's own (a prepared SET executed, COM_STMT_RESET).
      const mapped = commandFor(s, p.payload, l);
      if (mapped === null) {
        if (l === answering) {
          const clientId = p.payload.readUInt32LE(1);
          const what = cmd === Com.STMT_RESET ? 'mysqld_stmt_reset' : 'mysqld_stmt_execute';
          s.sendPacket(encodeErr(Er.UNKNOWN_STMT_HANDLER, `Unknown prepared statement handler (${clientId === LAST_PREPARED ? -1 : clientId}) given to ${what}`), 1);
        }
        s.op?.waiting.delete(l);
        continue;
      }
      if (mapped !== p.payload) pk = rewrittenPacket(mapped);
      // (The answering reply is completed first if metadata caching left the client's columns stale.)
      const forClient = needsColumnRewrite(s, l, p.payload) ? ReplyMode.Rewrite : ReplyMode.Forward;
      l.expect(kind, l === answering ? forClient : ReplyMode.Discard, pk.payload);
      s.writeTo(l, pk);
    }
  });
  if (s.closed) return;
  const main = outcomes.get(answering)?.[0];
  if (entry && main) {
    entry.ok = main.ok;
    entry.errorCode = main.errorCode;
  }
  for (const l of targets) l.historyApplied = s.history.end;
  if (cmd === Com.RESET_CONNECTION) sessionStartsOver(s);
  for (const [l, list] of outcomes) {
    const o = list[0];
    if (l === answering || !o || !main || (o.ok === main.ok && o.errorCode === main.errorCode)) continue;
    s.logOnce('a server answered a session command differently; its connection is closed', { server: l.name, expected: main.errorCode, got: o.errorCode });
    dropLink(s, l);
  }
}

/**
 * RouteDecision 'merge' (SHOW DATABASES through schemarouter): the statement runs on every
 * server of the service that is not down, and the client gets one result set, the union of
 * theirs (host/protocol/result-merge.ts).
 */
export async function mergeFromAll(s: SessionCore, p: FramedPacket): Promise<void> {
  const links: BackendLink[] = [];
  for (const sv of s.ctx.servers()) {
    if (sv.state === 'down') continue;
    const l = s.links.get(sv.name) ?? (await openLink(s, sv.name));
    if (!l || s.closed) return; // openLink answered the client
    links.push(l);
  }
  if (links.length === 0) return s.sendPacket(encodeErr(Er.NO_BACKEND, 'no backend connection'), (p.lastSeq + 1) & 0xff);
  s.lastCmdSeq = p.lastSeq;
  const outcomes = await sendToEach(s, links, 1 /* ReplyKind.Result */, ReplyMode.Collect, p);
  if (s.closed) return;
  const replies: Buffer[] = [];
  for (const l of links) {
    const r = outcomes.get(l)?.[0]?.reply;
    if (!r) return s.fail(Er.LOST_CONNECTION, `Lost connection to backend server '${l.name}' during query`, s.replySeq());
    replies.push(r);
  }
  const opts = { inDeprecateEof: links[0]!.tracker.deprecateEof, outDeprecateEof: (s.clientCaps & Cap.DEPRECATE_EOF) !== 0, firstSeq: s.replySeq() };
  s.socket.write(mergeResultSets(replies, opts));
}

/**
 * COM_STMT_PREPARE: prepared on every open connection (any of them may run it later), the
 * client gets the answering connection's reply with the proxy's statement id.
 */
export async function prepareEverywhere(s: SessionCore, p: FramedPacket, answeringName: string, kind: number, flags: number): Promise<void> {
  let answering = s.links.get(answeringName);
  if (!answering) answering = (await openLink(s, answeringName)) ?? undefined;
  if (!answering || s.closed) return;
  const targets = [...s.links.values()];
  s.lastCmdSeq = p.lastSeq;
  const outcomes = await sendToEach(s, targets, 2 /* ReplyKind.Prepare */, ReplyMode.Collect, p);
  if (s.closed) return;
  const reply = outcomes.get(answering)?.[0]?.reply;
  if (!reply) return s.fail(Er.LOST_CONNECTION, `Lost connection to backend server '${answering.name}' during query`, s.replySeq());
  const ok = readPrepareOk(reply);
  if (!ok) {
    s.socket.write(reply);
    return;
  }
  const ps = s.stmts.add(ok.params, ok.columns, kind, flags);
  ps.lastServer = answering.name;
  // Metadata caching: the client now holds the answering server's column definitions.
  ps.columnDefs = answering.meta.get(ok.id) ?? null;
  const entry = s.history.add(p.payload, ps.clientId);
  entry.ok = true;
  for (const [l, list] of outcomes) {
    const r = list[0]?.reply ? readPrepareOk(list[0].reply) : null;
    if (r) l.statements.set(ps.clientId, r.id);
    else if (l !== answering && s.ctx.discoversDatabases !== true) {
      // (Shards: a shard without the statement's tables just does not have it.)
      s.logOnce('a server could not prepare a statement the client prepared; its connection is closed', { server: l.name });
      dropLink(s, l);
    }
    l.historyApplied = s.history.end;
  }
  setPrepareOkId(reply, ps.clientId);
  s.socket.write(reply);
}
