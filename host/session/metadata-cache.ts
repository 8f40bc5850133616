// Metadata caching (MARIADB_CLIENT_CACHE_METADATA) through a proxy with several connections per
// session. A server leaves an execute's column definitions out when they equal the ones it last
// sent *on that connection* for the statement; the client then uses the ones it last received
// for it. Directly these are the same; through the proxy the client's may come from another
// connection (readwritesplit moves executes between servers; a reconnection prepares again).
// So the session keeps both sides — BackendLink.meta per connection, PreparedStatement.columnDefs
// for the client — and an execute sent while they differ has its reply collected, the skipped
// definitions put back in, and then forwarded (ReplyMode.Rewrite). While they agree, the reply
// is forwarded untouched: that is every execute of a statement that stays on one server, or
// whose definitions are the same on every server (the same table), which is nearly all of them.
import { skipsColumns, withColumnDefs, withoutColumnDefs } from '../protocol/column-cache.js';
import { Com } from '../protocol/constants.js';
import type { ReplyEnd } from '../protocol/reply-tracker.js';
import { type BackendLink, ReplyMode } from './backend-link.js';
import type { PreparedStatement } from './prepared-statements.js';
import type { SessionCore } from './session-core.js';

/**
 * Whether the client holds the definitions `link` last sent for its statement `backendId`
 * (interning equal copies, so the next check is one comparison).
 */
function inSync(link: BackendLink, ps: PreparedStatement, backendId: number): boolean {
  const linkDefs = link.meta.get(backendId) ?? null;
  const clientDefs = ps.columnDefs;
  if (linkDefs === clientDefs) return true;
  if (linkDefs !== null && clientDefs !== null && linkDefs.equals(clientDefs)) {
    link.meta.set(backendId, clientDefs);
    return true;
  }
  return false;
}

/**
 * A COM_STMT_EXECUTE (`payload` with the client's statement id) for `link` whose reply, should
 * the server skip the column definitions, would leave the client with the wrong ones.
 */
export function needsColumnRewrite(s: SessionCore, link: BackendLink, payload: Buffer): boolean {
  if (!link.cacheMetadata || payload[0] !== Com.STMT_EXECUTE || payload.length < 5) return false;
  const ps = s.stmts.get(payload.readUInt32LE(1));
  if (!ps) return false;
  const backendId = link.statements.get(ps.clientId);
  return backendId !== undefined && !inSync(link, ps, backendId);
}

/** The client statement that is `backendId` on `link`, if it is still open. */
function clientStatement(s: SessionCore, link: BackendLink, backendId: number): PreparedStatement | undefined {
  for (const [clientId, id] of link.statements) if (id === backendId) return s.stmts.get(clientId);
  return undefined;
}

/** An execute's reply on `link` carried column definitions; a forwarded one updates the client's. */
export function columnsSent(s: SessionCore, link: BackendLink, backendId: number, defs: Buffer, mode: ReplyMode): void {
  if (mode !== ReplyMode.Forward) return;
  const ps = clientStatement(s, link, backendId);
  if (!ps) return;
  if (ps.columnDefs !== null && ps.columnDefs.equals(defs)) link.meta.set(backendId, ps.columnDefs);
  else ps.columnDefs = defs;
}

/** A collected execute reply (ReplyMode.Rewrite) goes to the client with its definitions in. */
export function forwardRewritten(s: SessionCore, link: BackendLink, end: ReplyEnd, bytes: Buffer, backendId: number): void {
  const defs = link.meta.get(backendId) ?? null;
  let out = bytes;
  if (!end.error && skipsColumns(bytes)) {
    if (defs !== null) out = withColumnDefs(Buffer.from(bytes), defs);
    else s.logOnce('a server skipped column definitions the proxy never saw; the reply goes to the client as it is', { server: link.name });
  }
  const ps = clientStatement(s, link, backendId);
  if (ps) ps.columnDefs = defs;
  s.linkData(link, out);
  s.linkReplyEnd(link, end, ReplyMode.Forward, null);
}

/** Column definitions a reply that skipped them (ReplyMode.Rewrite or the result tee) lacks. */
export function columnsFor(s: SessionCore, link: BackendLink, payload: Buffer): Buffer | null {
  if (!link.cacheMetadata || payload[0] !== Com.STMT_EXECUTE || payload.length < 5) return null;
  return link.meta.get(payload.readUInt32LE(1)) ?? null;
}

/**
 * transaction_replay: the forms a replayed execute's reply could have had on the lost connection,
 * which may have skipped the definitions this one sent, or sent those this one skipped
 * (`defsBefore`: what this connection had for the statement before the replayed execute).
 */
export function otherReplyForms(reply: Buffer, defsBefore: Buffer | null): Buffer[] {
  const out: Buffer[] = [];
  const stripped = withoutColumnDefs(Buffer.from(reply));
  if (stripped !== null) out.push(stripped);
  if (defsBefore !== null && skipsColumns(reply)) out.push(withColumnDefs(Buffer.from(reply), defsBefore));
  return out;
}
