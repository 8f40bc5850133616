// causal_reads in routing: whether a read routed to a replica must first see the session's (or
// the cluster's) last write, and where it then goes (the replica once caught up, else the primary).
import { Flag } from '../classify/index.js';
import { Com } from '../protocol/constants.js';
import { ReplyMode } from './backend-link.js';
import { caughtUpReplica, GLOBAL_GTID_QUERY, gtidWaitPayload, LOCAL_GTID_QUERY, singleValue, UNIVERSAL_GTID_QUERY } from './causal-reads.js';
import { sendToEach } from './multi-op.js';
import { CLASSIFIED_READ, type SessionCore } from './session-core.js';
import { connectLink } from './session-links.js';
import { rewrittenPacket } from './session-packets.js';

/** A read for a replica that must first wait for a GTID there, or be placed by one (causal_reads). */
export function needsCausalWait(s: SessionCore, target: string, cmd: number): boolean {
  const mode = s.ctx.settings.causalReads;
  if (mode === 'none' || (cmd !== Com.QUERY && cmd !== Com.STMT_EXECUTE) || s.statement.kind !== CLASSIFIED_READ) return false;
  // Diagnostics of the previous statement (SHOW WARNINGS, @@warning_count, FOUND_ROWS()) and
  // reads of variables only: no data to be consistent with, and the wait itself would reset
  // the server's diagnostics area.
  if ((s.statement.flags & (Flag.LAST_INSERT_ID | Flag.SYSVAR_ONLY)) !== 0) return false;
  if ((mode === 'local' || mode === 'fast') && !s.gtid.dirty && s.gtid.last === null) return false;
  return s.ctx.servers().find((sv) => sv.name === target)?.role === 'replica';
}

/**
 * Where a causal read goes: `replica` once it has caught up with the GTID the read must see
 * (waited for, or for the fast modes known from the monitor), else (timeout, no connection,
 * not caught up) the primary.
 */
export async function causalTarget(s: SessionCore, replica: string): Promise<string> {
  const mode = s.ctx.settings.causalReads;
  const servers = s.ctx.servers();
  const primary = servers.find((sv) => sv.role === 'primary');
  if (!primary) return replica;
  if (mode === 'fast_global') return caughtUpReplica(servers, replica, primary.gtid ?? '') ?? primary.name;
  let gtid: string | null;
  if (mode === 'local' || mode === 'fast') {
    // With session tracking the GTID came with the write's OK; otherwise ask the primary.
    if (s.gtid.dirty) s.gtid.queried(await primaryValue(s, primary.name, LOCAL_GTID_QUERY));
    gtid = s.gtid.last;
  } else {
    gtid = await primaryValue(s, primary.name, mode === 'universal' ? UNIVERSAL_GTID_QUERY : GLOBAL_GTID_QUERY);
  }
  if (!gtid || s.closed) return replica;
  if (mode === 'fast') return caughtUpReplica(servers, replica, gtid) ?? primary.name;
  const rl = s.links.get(replica) ?? (await connectLink(s, replica).catch(() => null));
  if (!rl || s.closed) return primary.name;
  let wait: Buffer;
  try {
    wait = gtidWaitPayload(gtid, s.ctx.settings.causalReadsTimeoutMs);
  } catch {
    return primary.name;
  }
  const res = await sendToEach(s, [rl], 1 /* ReplyKind.Result */, ReplyMode.Discard, rewrittenPacket(wait));
  if (res.get(rl)?.[0]?.ok) return replica;
  s.ctx.log.info({ session: s.id, server: replica, gtid }, 'causal read: the replica did not catch up in time; the read goes to the primary');
  return primary.name;
}

/** The one value `query` (a COM_QUERY payload) returns on the primary; null if it cannot be had. */
async function primaryValue(s: SessionCore, primary: string, query: Buffer): Promise<string | null> {
  const link = s.links.get(primary) ?? (await connectLink(s, primary).catch(() => null));
  if (!link || s.closed) return null;
  const out = await sendToEach(s, [link], 1 /* ReplyKind.Result */, ReplyMode.Collect, rewrittenPacket(query));
  const reply = out.get(link)?.[0]?.reply;
  return reply ? singleValue(reply, link.tracker.deprecateEof) : null;
}
