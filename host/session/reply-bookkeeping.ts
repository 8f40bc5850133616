// What follows a reply the client got: transaction and GTID state, the router's and filters'
// reply hooks, the kept result for filters that read result sets, and a command deferred until
// every earlier reply was forwarded.
import { Status } from '../protocol/constants.js';
import type { ReplyEnd } from '../protocol/reply-tracker.js';
import { withColumnDefs } from '../protocol/column-cache.js';
import { readResultSet } from '../protocol/result-set.js';
import type { BackendLink } from './backend-link.js';
import { EMPTY, ER_BAD_DB, TEE_LIMIT, type SessionCore } from './session-core.js';
import { pendingReplies } from './session-links.js';

/** Bookkeeping after a reply reached the client: filters, transaction state, deferred commands. */
export function afterForwardedReply(s: SessionCore, link: BackendLink, end: ReplyEnd): void {
  if (s.retry.link === link) {
    s.retry.link = null;
    s.retry.payload = EMPTY;
  }
  if (!end.error) s.serverStatus = end.status;
  else if (end.errorCode === ER_BAD_DB) s.ctx.databaseUnknown?.(); // the database map may be stale
  if (s.gtid.dirty) s.gtid.replyEnded(link, end);
  if (s.trx !== null && s.trx.server === link.name) {
    s.trx.replyEnd(end);
    // COMMIT, ROLLBACK, an implicit commit: the transaction is over.
    if (!end.error && !(end.status & Status.IN_TRANS)) s.trx = null;
  }
  s.routerSession?.opEnded?.(link.name, link.sentAt > 0 ? Math.round((performance.now() - link.sentAt) * 1000) : undefined);
  link.sentAt = 0;
  if (s.teeLink === link) resultToFilters(s, link);
  if (s.replyFilters.length > 0) {
    const info = s.replyInfo;
    info.ok = !end.error;
    info.errorCode = end.errorCode;
    info.server = link.name;
    info.affectedRows = end.affectedRows;
    info.rows = end.rows;
    for (const f of s.replyFilters) f.reply(info);
  }
  if (s.deferred && pendingReplies(s) === 0) {
    const d = s.deferred;
    s.deferred = null;
    // We are inside the tracker's feed(): run the deferred command once that returns (the
    // chunk that ended the reply is already written), so its answer (e.g. KILL QUERY of
    // itself, pipelined) cannot overtake the tail of the previous reply. busy stays set.
    queueMicrotask(() => {
      if (s.closed) return;
      s.busy = false;
      s.runProxyCommand(d.packet, d.run);
    });
  }
}

/** The kept reply goes to the filters that read result sets (it already went to the client). */
function resultToFilters(s: SessionCore, link: BackendLink): void {
  let bytes = s.teeChunks.length === 1 ? s.teeChunks[0]! : Buffer.concat(s.teeChunks);
  const cut = s.teeBytes >= TEE_LIMIT;
  const binary = s.teeBinary;
  // Metadata caching: an execute's reply may have skipped the definitions the rows need.
  if (s.teeColumns !== null) bytes = withColumnDefs(Buffer.from(bytes), s.teeColumns);
  s.teeColumns = null;
  s.teeLink = null;
  s.teeChunks = [];
  s.teeBytes = 0;
  let rows;
  try {
    rows = readResultSet(bytes, { deprecateEof: link.tracker.deprecateEof, binary });
  } catch (err) {
    // A result cut at TEE_LIMIT may end inside a row; anything else is a parser gap: log it.
    if (!cut) s.ctx.log.debug({ session: s.id, err: (err as Error).message }, 'result set not readable for filters');
    return;
  }
  if (rows === null) return;
  for (const f of s.resultFilters) f.result(rows, { server: link.name, binary, truncated: cut });
}
