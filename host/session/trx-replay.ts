// transaction_replay: recording a transaction's statements, deciding whether a lost connection's
// transaction can be replayed, replaying it on a new connection (comparing each result with what
// the client got), and holding back the ERR a server sends before it closes a connection.
import { Status } from '../protocol/constants.js';
import { Er } from '../protocol/errors.js';
import type { ReplyEnd, ReplyKind } from '../protocol/reply-tracker.js';
import { type BackendLink, ReplyMode } from './backend-link.js';
import { meansConnectionLost } from './connection-errors.js';
import { columnsFor, needsColumnRewrite, otherReplyForms } from './metadata-cache.js';
import { sendToEach, type Outcome } from './multi-op.js';
import { reopenTarget } from './primary-follow.js';
import { CLASSIFIED_BEGIN, CLASSIFIED_COMMIT, RETRY_STEP_MS, type SessionCore } from './session-core.js';
import { connectLink, dropLink } from './session-links.js';
import { commandFor } from './statement-ids.js';
import { rewrittenPacket } from './session-packets.js';
import { fingerprintOf, TrxLog } from './trx-log.js';

/** transaction_replay: keeps `payload` (as the client sent it) if it runs in a transaction on `link`. */
export function recordForReplay(s: SessionCore, link: BackendLink, payload: Buffer, kind: ReplyKind | null): void {
  const limits = s.ctx.settings.trxReplay;
  if (limits === null || kind !== 1 /* ReplyKind.Result */) return;
  const st = s.serverStatus;
  const inTrx = (st & Status.IN_TRANS) !== 0 || (st & Status.AUTOCOMMIT) === 0 || s.statement.kind === CLASSIFIED_BEGIN;
  if (!inTrx) return;
  if (s.trx === null) s.trx = new TrxLog(link.name, limits.maxSize, link.server.role === 'primary');
  if (s.trx.server === link.name) s.trx.add(payload, kind, s.statement.kind === CLASSIFIED_COMMIT);
}

/** Whether the transaction on `link` can be replayed after losing it (transaction_replay). */
export function canReplay(s: SessionCore, link: BackendLink): boolean {
  const trx = s.trx;
  if (!trx || trx.server !== link.name || trx.tooLarge || s.ctx.settings.trxReplay === null) return false;
  if (s.op || s.infile || s.replaying) return false;
  // transaction_replay_safe_commit: the COMMIT may have been applied before the connection went;
  // replaying it could commit the transaction twice. The client gets the error instead.
  if (s.ctx.settings.trxReplay.safeCommit && trx.inFlight?.commit === true) return false;
  // Only at a statement boundary, or before any byte of the in-flight reply reached the client.
  return link.pending === 0 || (link.pending === 1 && !link.tracker.midReply && trx.inFlight !== null);
}

/**
 * transaction_replay: a new connection to the transaction's server, the session state and the
 * transaction's statements replayed on it, each result compared with what the client got; the
 * statement in flight (if any) is then sent again and its reply forwarded as usual.
 */
export async function replayTransaction(s: SessionCore, lost: BackendLink, wasMain: boolean, err: Error | undefined): Promise<void> {
  const limits = s.ctx.settings.trxReplay!;
  const trx = s.trx!;
  const deadline = Date.now() + limits.timeoutMs;
  s.replaying = true;
  s.busy = true;
  s.socket.pause();
  s.ctx.log.info({ session: s.id, server: lost.name, statements: trx.statements.length, reason: err?.message }, 'connection lost in a transaction; replaying it');
  let lastError = 'no attempt made';
  try {
    // An attempt is a replay on an open connection. Finding a server (no primary during a
    // failover, one that refuses connections) is bounded by transaction_replay_timeout only:
    // a failover takes seconds, and counting each try would give up long before it is done.
    for (let attempt = 1; attempt <= limits.attempts && Date.now() < deadline && !s.closed; ) {
      // Asked again each time: after a failover the transaction goes to the new primary.
      const target = reopenTarget(trx.server, trx.onPrimary, s.ctx.servers());
      let link: BackendLink;
      try {
        if (target === null) throw new Error('no primary server available');
        const open = s.links.get(target);
        link = open && open.pending === 0 ? open : await connectLink(s, target);
      } catch (e) {
        lastError = (e as Error).message;
        await new Promise((r) => setTimeout(r, RETRY_STEP_MS));
        continue;
      }
      attempt++;
      const done = trx.statements.filter((x) => x.fingerprint !== null);
      // One statement at a time: each collected reply must hold exactly its own bytes.
      const got: Outcome[] = [];
      // Metadata caching: the definitions this connection held for each execute before it ran.
      const defsBefore: (Buffer | null)[] = [];
      for (const x of done) {
        const payload = forLink(s, x.payload, link);
        defsBefore.push(columnsFor(s, link, payload));
        const outcomes = await sendToEach(s, [link], x.kind, ReplyMode.Collect, rewrittenPacket(payload));
        if (s.closed) return;
        const o = outcomes.get(link)?.[0];
        if (!o) break;
        got.push(o);
      }
      if (link.conn.isClosed) {
        lastError = `connection to '${link.name}' lost during the replay`;
        continue;
      }
      const mismatch = done.findIndex((x, i) => {
        const o = got[i];
        if (!o) return true;
        const facts = { ...o, error: !o.ok };
        if (fingerprintOf(facts, o.reply) === x.fingerprint) return false;
        // The same rows with or without the column definitions a server may skip (metadata caching).
        if (!link.cacheMetadata || o.reply === null || !o.resultSet) return true;
        return !otherReplyForms(o.reply, defsBefore[i] ?? null).some((r) => fingerprintOf(facts, r) === x.fingerprint);
      });
      if (mismatch >= 0) {
        const o = got[mismatch];
        s.logOnce('transaction replay gave different results; the transaction cannot continue', {
          server: lost.name, statement: mismatch, expected: done[mismatch]!.fingerprint, got: o ? fingerprintOf({ ...o, error: !o.ok }, o.reply) : 'no reply',
        });
        dropLink(s, link);
        s.trx = null;
        return replayFailed(s, `Lost connection to backend server '${lost.name}': transaction replay found different results (statement ${mismatch + 1}), the transaction was rolled back`, trx.inFlight !== null);
      }
      if (wasMain) {
        s.main = link;
        s.mainName = link.name;
        s.mainOnPrimary = trx.onPrimary;
      }
      if (link.name !== trx.server) {
        // Moved (failover): the router learns where the session now is.
        s.ctx.log.info({ session: s.id, from: trx.server, to: link.name }, 'transaction moved to the new primary');
        trx.server = link.name;
        if (wasMain) s.routerSession?.connected(link.name);
      }
      const inFlight = trx.inFlight;
      if (inFlight) {
        // (Nothing else is pending on the new connection: a reply to complete may be collected.)
        const mode = needsColumnRewrite(s, link, inFlight.payload) ? ReplyMode.Rewrite : ReplyMode.Forward;
        const payload = forLink(s, inFlight.payload, link);
        link.expect(inFlight.kind, mode, payload);
        s.writeTo(link, rewrittenPacket(payload));
      }
      s.ctx.log.info({ session: s.id, server: lost.name, statements: done.length, attempt }, 'transaction replayed');
      return;
    }
    s.trx = null;
    replayFailed(s, `Lost connection to backend server '${lost.name}' in a transaction; replay failed: ${lastError}`, trx.inFlight !== null);
  } finally {
    s.replaying = false;
    if (!s.closed) {
      s.busy = false;
      s.drainBacklog();
    }
  }
}

/**
 * The client waits for a reply: it gets the error now. An idle client gets it as the answer to
 * its next command (an ERR out of the blue would only make it drop the connection silently).
 */
function replayFailed(s: SessionCore, message: string, clientWaiting: boolean): void {
  if (clientWaiting) return s.fail(Er.LOST_CONNECTION, message, s.replySeq());
  s.failureForNext = message;
}

/** A recorded command (client statement ids) as `link` must get it. */
function forLink(s: SessionCore, payload: Buffer, link: BackendLink): Buffer {
  return commandFor(s, payload, link) ?? payload;
}

/** A forwarded reply that starts with an ERR is held back while a replay could follow it (LinkOwner.linkHoldsError). */
export function holdsError(s: SessionCore, link: BackendLink): boolean {
  const trx = s.trx;
  return trx !== null && trx.server === link.name && trx.inFlight !== null && !trx.tooLarge && s.ctx.settings.trxReplay !== null && s.op === null;
}

/** A held ERR reply ended: a lost connection starts the replay, anything else reaches the client. */
export function heldError(s: SessionCore, link: BackendLink, end: ReplyEnd, bytes: Buffer): void {
  if (end.error && meansConnectionLost(end.errorCode) && s.links.get(link.name) === link) {
    // The server ended the statement because the connection is going away (KILL, shutdown):
    // a lost connection, not a failed statement. The client does not see it; closing the
    // connection now starts the replay, with this statement still in flight.
    s.ctx.log.info({ session: s.id, server: link.name, errorCode: end.errorCode }, 'statement ended by the connection going away; replaying the transaction');
    s.routerSession?.opEnded?.(link.name);
    link.sentAt = 0;
    if (s.teeLink === link) {
      s.teeLink = null;
      s.teeChunks = [];
      s.teeColumns = null;
      s.teeBytes = 0;
    }
    link.conn.destroy();
    return;
  }
  s.linkData(link, bytes);
  s.linkReplyEnd(link, end, ReplyMode.Forward, null);
}
