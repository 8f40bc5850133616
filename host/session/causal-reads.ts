// causal_reads (MaxScale's readwritesplit parameter): a read sent to a replica first waits there
// until the replica has applied the GTID the read must see — the session's own last write
// (`local`; known from session tracking, gtid-tracking.ts, or asked from the primary) or
// everything the primary had committed when the read arrived (`global`: @@gtid_binlog_pos;
// `universal`: @@gtid_current_pos). The wait runs as one statement on the replica that fails when
// the wait times out, so the session can tell the outcome from OK/ERR alone and send the read to
// the primary instead. The `fast` modes never wait: the read goes to a replica the monitor last
// saw at or past that GTID (`fast`: the session's last write; `fast_global`: the primary's
// position as the monitor saw it), else to the primary.

import { gtidContains, parseGtidList } from '../monitor/gtid.js';
import { packets } from '../protocol/result-set.js';
import type { BackendServer } from './service-context.js';

export const CAUSAL_READS = ['none', 'local', 'global', 'fast', 'fast_global', 'universal'] as const;
export type CausalReads = (typeof CAUSAL_READS)[number];

/** The session's last write's GTID on the primary (MariaDB: @@last_gtid). */
export const LOCAL_GTID_QUERY = Buffer.from('\x03SELECT @@last_gtid');
/** Everything the primary has committed. */
export const GLOBAL_GTID_QUERY = Buffer.from('\x03SELECT @@gtid_binlog_pos');
/** universal: the primary's current position. */
export const UNIVERSAL_GTID_QUERY = Buffer.from('\x03SELECT @@gtid_current_pos');

/**
 * fast modes: `preferred` if the monitor last saw it at or past `want`, else another replica that
 * was, else null (the primary). A position the monitor does not know counts as not caught up.
 */
export function caughtUpReplica(servers: readonly BackendServer[], preferred: string, want: string): string | null {
  const wanted = parseGtidList(want);
  if (wanted.size === 0) return null;
  // The router's choice counts whatever its state; another replica only when it is up.
  const ok = (s: BackendServer): boolean =>
    s.role === 'replica' && (s.name === preferred || s.state === 'up') && !!s.gtid && gtidContains(parseGtidList(s.gtid), wanted);
  const first = servers.find((s) => s.name === preferred);
  if (first && ok(first)) return preferred;
  return servers.find(ok)?.name ?? null;
}

const GTID_LIST = /^(\d+-\d+-\d+)(,\d+-\d+-\d+)*$/;

/**
 * COM_QUERY payload that waits up to `timeoutMs` for `gtid` on a replica: OK when it arrived,
 * ERR 1242 (subquery returns more than one row) when it did not. The variable is a side effect
 * MaxScale's implementation has too.
 */
export function gtidWaitPayload(gtid: string, timeoutMs: number): Buffer {
  if (!GTID_LIST.test(gtid)) throw new Error(`not a GTID list: ${JSON.stringify(gtid)}`);
  const seconds = (Math.max(1, timeoutMs) / 1000).toFixed(3);
  return Buffer.from(
    `\x03SET @wsx_causal_read = (SELECT CASE WHEN MASTER_GTID_WAIT('${gtid}', ${seconds}) = 0 THEN 1 ELSE (SELECT 1 UNION SELECT 2) END)`,
  );
}

/**
 * The single value of a collected one-column, one-row text result set (null for NULL, an ERR, or
 * an unexpected shape). Packets: column count, column definition, [EOF], row, EOF or OK.
 */
export function singleValue(reply: Buffer, deprecateEof: boolean): string | null {
  const ps = packets(reply);
  const first = ps[0];
  if (!first || first[0] === 0xff || first[0] !== 1) return null;
  const row = ps[deprecateEof ? 2 : 3];
  if (!row || row.length === 0 || row[0] === 0xfb || row[0] === 0xff) return null;
  if (row[0]! < 0xfb) return row.toString('utf8', 1, 1 + row[0]!);
  if (row[0] === 0xfc && row.length >= 3) return row.toString('utf8', 3, 3 + row.readUInt16LE(1));
  return null;
}
