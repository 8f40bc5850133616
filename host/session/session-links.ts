// The session's backend connections: opening one (lazy connect, with the session's history
// replayed on it), making it one of the session's, dropping it, and what is pending on them.
import { Com } from '../protocol/constants.js';
import { Er } from '../protocol/errors.js';
import { encodeErr } from '../protocol/ok-err.js';
import { BackendConnection } from './backend-connection.js';
import { BackendLink, ReplyMode } from './backend-link.js';
import { replyKindOf } from './command-kind.js';
import { sendToEach, type Outcome } from './multi-op.js';
import { onLinkClose } from './link-loss.js';
import { readPrepareOk } from './prepared-statements.js';
import { reopenTarget } from './primary-follow.js';
import { HISTORY_LIMIT, ROUTER_REFUSED, type SessionCore } from './session-core.js';
import { rewrittenPacket } from './session-packets.js';
import { commandFor } from './statement-ids.js';
import type { BackendServer } from './service-context.js';

export function pendingReplies(s: SessionCore): number {
  let n = 0;
  for (const l of s.links.values()) n += l.pending;
  return n;
}

/** The connection a reply is being received from (for KILL QUERY and errors), or null. */
export function busyLink(s: SessionCore): BackendLink | null {
  for (const l of s.links.values()) if (l.pending > 0) return l;
  return null;
}

/** True when no connection but the forwarding kind of reply is pending (the fast path may go on). */
export function onlyForwarding(s: SessionCore): boolean {
  for (const l of s.links.values()) if (!l.forwardingOnly) return false;
  return true;
}

export function otherPending(s: SessionCore, link: BackendLink): boolean {
  for (const l of s.links.values()) if (l !== link && l.pending > 0) return true;
  return false;
}

/** Makes `be` one of the session's connections (the main one if it is the first). */
export function attachLink(s: SessionCore, be: BackendConnection, server: BackendServer): BackendLink {
  const link = new BackendLink(be, server, s);
  s.links.set(server.name, link);
  if (!s.main && (s.mainName === null || s.mainName === server.name || mainTarget(s) === server.name)) {
    s.main = link;
    s.mainName = server.name;
    s.mainOnPrimary = server.role === 'primary';
  }
  be.socket.on('drain', () => {
    if (s.clientPausedForBackend) {
      s.clientPausedForBackend = false;
      if (!s.busy) s.socket.resume();
    }
  });
  be.onClose = (_hadError, err) => onLinkClose(s, link, err);
  return link;
}

/** Where the main connection is reopened: its server, or the primary of now if it was on the primary. */
export function mainTarget(s: SessionCore): string | null {
  return s.mainName === null ? null : reopenTarget(s.mainName, s.mainOnPrimary, s.ctx.servers());
}

/** Closes a connection the session can no longer use (a later statement may reopen it). */
export function dropLink(s: SessionCore, link: BackendLink): void {
  if (link === s.main) return;
  s.links.delete(link.name);
  link.conn.quit();
}

/**
 * Opens a connection to `name` while the session waits (lazy connect), replays the session's
 * history on it and checks the outcomes. Answers the client with an ERR and returns null when
 * that fails.
 */
export async function openLink(s: SessionCore, name: string): Promise<BackendLink | null> {
  try {
    return await connectLink(s, name);
  } catch (err) {
    if (s.closed) return null;
    const msg = (err as Error).message;
    s.logOnce('cannot open a connection the router asked for', { server: name, reason: msg });
    const spec = err instanceof NotAServer ? ROUTER_REFUSED : Er.NO_BACKEND;
    s.sendPacket(encodeErr(spec, msg), s.replySeq());
    return null;
  }
}

/**
 * The backend session starts over (COM_RESET_CONNECTION, COM_CHANGE_USER): no session-command
 * history and no prepared statements, in the session and on every open connection.
 */
export function sessionStartsOver(s: SessionCore): void {
  s.history.clear();
  s.stmts.clear();
  for (const l of s.links.values()) {
    l.statements.clear();
    l.typed.clear();
    l.meta.clear();
    l.historyApplied = s.history.end;
  }
}

/** Opens a connection to `name` and brings it to the session's state; throws why it cannot. */
export async function connectLink(s: SessionCore, name: string): Promise<BackendLink> {
  const server = s.ctx.servers().find((sv) => sv.name === name);
  if (!server || !s.login) throw new NotAServer(`router chose server '${name}', which is not a server of service '${s.service}'`);
  let conn: BackendConnection;
  try {
    // A shard without the login database (database discovery says so) is opened without one.
    const database = s.database !== null && s.ctx.databasesOf?.(name)?.includes(s.database) === false ? null : s.database;
    conn = await BackendConnection.connect(server, { ...s.login, user: s.user, stage1: s.stage1, database }, s.ctx.settings.connectTimeoutMs, s.gtid.setup);
  } catch (err) {
    throw new Error(`Could not connect to server '${name}': ${(err as Error).message}`);
  }
  if (s.closed) {
    conn.destroy();
    throw new Error('session closed');
  }
  const link = attachLink(s, conn, server);
  const entries = s.history.since(0);
  if (entries.length === 0) return link;
  if (s.history.overflowed) s.logOnce('session command history was pruned; a new connection misses the oldest session state', { server: name, limit: HISTORY_LIMIT });
  // One at a time: a connection's reply modes must not mix inside one chunk (BackendLink).
  const got: Outcome[] = [];
  for (const e of entries) {
    const mode = e.command === Com.STMT_PREPARE ? ReplyMode.Collect : ReplyMode.Discard;
    // Statement ids as this connection gave them (a prepared SET executed names one).
    const payload = e.statement !== 0 ? commandFor(s, e.payload, link) ?? e.payload : e.payload;
    const outcomes = await sendToEach(s, [link], replyKindOf(e.command) ?? 4, mode, rewrittenPacket(payload));
    if (s.closed) throw new Error('session closed');
    const o = outcomes.get(link)?.[0];
    if (!o) break;
    got.push(o);
    const prepared = e.command === Com.STMT_PREPARE && o.reply ? readPrepareOk(o.reply) : null;
    if (prepared) link.statements.set(e.clientStmtId, prepared.id);
  }
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const o = got[i];
    if (o && e.command === Com.STMT_PREPARE && s.ctx.discoversDatabases === true) continue; // a shard may lack its tables
    if (!o || o.ok !== e.ok || (!o.ok && o.errorCode !== e.errorCode)) {
      s.logOnce('replaying the session history on a new connection gave a different result; not using it', { server: name, entry: i, expected: e.errorCode, got: o?.errorCode });
      dropLink(s, link);
      throw new Error(`Server '${name}' could not be brought to the session's state`);
    }
  }
  link.historyApplied = s.history.end;
  return link;
}

/** The router named a server the service does not have. */
class NotAServer extends Error {}
