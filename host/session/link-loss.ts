// What a lost backend connection means for the session: a transaction replay, a read retried
// elsewhere, a connection reopened when needed (master_reconnection), or the client told.
import { Er } from '../protocol/errors.js';
import type { BackendLink } from './backend-link.js';
import { retryRead } from './read-retry.js';
import type { SessionCore } from './session-core.js';
import { canReplay, replayTransaction } from './trx-replay.js';

export function onLinkClose(s: SessionCore, link: BackendLink, err: Error | undefined): void {
  if (s.closed || s.links.get(link.name) !== link) return;
  const replay = canReplay(s, link);
  s.links.delete(link.name);
  if (replay) {
    const wasMain = link === s.main;
    if (wasMain) s.main = null;
    void replayTransaction(s, link, wasMain, err).catch((e: unknown) => s.internalError(e));
    return;
  }
  const pending = link.pending;
  const op = s.op;
  if (op && op.waiting.has(link)) {
    // A connection lost in the middle of a session command or a replay: it no longer counts.
    op.waiting.delete(link);
    op.outcomes.set(link, [...(op.outcomes.get(link) ?? []), { ok: false, errorCode: Er.LOST_CONNECTION.code, reply: null, affectedRows: 0, resultSet: false }]);
    if (op.waiting.size === 0) op.done();
    if (link !== s.main) return;
  }
  if (link !== s.main) {
    if (pending === 0 || !link.forClientOnly) {
      s.ctx.log.info({ session: s.id, server: link.name, reason: err?.message }, 'backend connection closed; it is reopened when needed');
      return;
    }
    if (retryRead(s, link, err)) return;
  } else if (pending === 0 && s.ctx.settings.masterReconnection) {
    // master_reconnection: the session survives; the next statement for it reconnects
    // (the history brings the new connection to the session's state).
    s.main = null;
    s.ctx.log.info({ session: s.id, server: link.name, reason: err?.message }, 'main backend connection closed while idle; it is reopened when needed');
    return;
  }
  s.logOnce('backend connection lost', { server: link.name, pending, reason: err?.message, midPacket: link.tracker.midPacket || undefined });
  // Cut in the middle of a packet, an ERR would be glued into that packet (a row, say) and the
  // client would misread it: only closing is clean then.
  // (A reply collected to be completed first has sent the client nothing yet.)
  const withheld = link.withholding;
  if (pending > 0 && link.tracker.midPacket && !withheld) {
    s.close();
  } else if (pending > 0) {
    const seq = link.tracker.midReply && !withheld ? (link.tracker.lastSeq + 1) & 0xff : s.replySeq();
    s.fail(Er.LOST_CONNECTION, `Lost connection to backend server '${link.name}' during query`, seq);
  } else {
    // An idle session the server reset (MariaDB's wait_timeout does): reset the client too, so
    // it sees ECONNRESET as it does directly, not a clean end (mysql2: PROTOCOL_CONNECTION_LOST).
    if ((err as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET' && !s.socket.destroyed) s.socket.resetAndDestroy();
    s.close();
  }
}
