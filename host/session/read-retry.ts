// retry_failed_reads: an autocommit read lost with its connection (not the main one) before any
// byte of its reply arrived runs again on the main connection.
import type { FramedPacket } from '../protocol/framer.js';
import type { BackendLink } from './backend-link.js';
import { EMPTY, type SessionCore } from './session-core.js';
import { sendTo } from './session-dispatch.js';
import { otherPending } from './session-links.js';

/**
 * retry_failed_reads: an autocommit read whose connection died before any byte of its reply
 * arrived runs again on the main connection; the client never knows.
 */
export function retryRead(s: SessionCore, link: BackendLink, err: Error | undefined): boolean {
  const r = s.retry;
  const main = s.main;
  if (r.link !== link || link.pending !== 1 || link.tracker.midReply || !main || main.conn.isClosed) return false;
  const payload = r.payload;
  r.link = null;
  r.payload = EMPTY;
  if (r.clientStmtId !== 0) payload.writeUInt32LE(r.clientStmtId, 1);
  s.ctx.log.info({ session: s.id, server: link.name, retryOn: main.name, reason: err?.message }, 'read lost with its connection; retried');
  const again: FramedPacket = { seq: 0, lastSeq: r.seq, payload, raw: null };
  if (s.op || otherPending(s, main) || !main.forwardingOnly) {
    s.runProxyCommand(again, async (pk) => void sendTo(s, main, pk, r.kind));
  } else {
    sendTo(s, main, again, r.kind);
  }
  return true;
}
