// delayed_retry: a statement the router could not place (no primary during a failover, a server
// that cannot be reached) is routed again every RETRY_STEP_MS until delayed_retry_timeout.
import type { FramedPacket } from '../protocol/framer.js';
import { encodeErr } from '../protocol/ok-err.js';
import type { ReplyKind } from '../protocol/reply-tracker.js';
import { EMPTY, RETRY_STEP_MS, ROUTER_REFUSED, type SessionCore } from './session-core.js';
import { dispatch, trxBits } from './session-dispatch.js';
import { connectLink } from './session-links.js';

/**
 * delayed_retry: the router found no server for the statement (no primary during a failover,
 * say); ask it again every RETRY_STEP_MS until it finds one or delayed_retry_timeout passes.
 */
export async function retryRouting(s: SessionCore, p: FramedPacket, cmd: number, kind: ReplyKind | null, firstError: string): Promise<void> {
  // One deadline per statement, even when the retry itself fails to connect and comes back here.
  s.retryDeadline ??= Date.now() + s.ctx.settings.delayedRetryMs;
  const deadline = s.retryDeadline;
  let message = firstError;
  while (Date.now() < deadline && !s.closed) {
    await new Promise((r) => setTimeout(r, RETRY_STEP_MS));
    if (s.closed) return;
    const stmt = s.statement;
    stmt.payload = p.payload;
    stmt.trx = trxBits(s);
    const decision = s.routerSession!.route(stmt);
    stmt.payload = EMPTY;
    if (decision.kind !== 'error') {
      const server = decision.kind === 'server' ? decision.server : null;
      if (server !== null && !s.links.has(server)) {
        try {
          await connectLink(s, server);
        } catch (err) {
          message = (err as Error).message;
          continue;
        }
        if (s.closed) return;
      }
      s.retryDeadline = null;
      s.ctx.log.info({ session: s.id, waitedMs: s.ctx.settings.delayedRetryMs - (deadline - Date.now()) }, 'delayed retry: the statement found a server');
      dispatch(s, p, cmd, kind, decision);
      return;
    }
    message = decision.message;
  }
  s.retryDeadline = null;
  s.sendPacket(encodeErr(ROUTER_REFUSED, message), (p.lastSeq + 1) & 0xff);
}
