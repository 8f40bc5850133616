// Merges the replies several servers gave to one statement into the one reply the client gets
// (schemarouter's SHOW DATABASES: the union of every shard's list). Pure: reply bytes in (as
// the servers sent them, packet headers included), reply bytes out, sequence ids renumbered.
import { Status } from './constants.js';
import { encodeEof, encodeOk } from './ok-err.js';
import { framePacket } from './writer.js';
import { packets as splitPackets } from './result-set.js';

const MAX_PAYLOAD = 0xffffff;

/** One text-protocol result set taken apart. */
export interface ResultSet {
  /** The column-count packet and the column definitions. */
  header: Buffer[];
  rows: Buffer[];
  /** Server status and warnings of the terminator. */
  status: number;
  warnings: number;
}

function lenencInt(b: Buffer): number {
  const first = b[0]!;
  if (first < 0xfb) return first;
  if (first === 0xfc) return b.readUInt16LE(1);
  if (first === 0xfd) return b.readUIntLE(1, 3);
  return Number(b.readBigUInt64LE(1));
}

function isTerminator(p: Buffer, deprecateEof: boolean): boolean {
  return p[0] === 0xfe && (deprecateEof ? p.length < MAX_PAYLOAD : p.length < 9);
}

/** Status and warnings of an EOF (0xfe, warnings, status) or an OK-style terminator. */
function terminatorStatus(p: Buffer, deprecateEof: boolean): { status: number; warnings: number } {
  if (!deprecateEof) return { status: p.length >= 5 ? p.readUInt16LE(3) : 0, warnings: p.length >= 3 ? p.readUInt16LE(1) : 0 };
  let at = 1;
  for (let i = 0; i < 2; i++) {
    const f = p[at] ?? 0;
    at += f < 0xfb ? 1 : f === 0xfc ? 3 : f === 0xfd ? 4 : 9;
  }
  return { status: at + 2 <= p.length ? p.readUInt16LE(at) : 0, warnings: at + 4 <= p.length ? p.readUInt16LE(at + 2) : 0 };
}

/**
 * Parses `reply` as a single text result set; null if it is anything else (an OK, an ERR, a
 * truncated reply). Only the first result set of a multi-result reply is read.
 */
export function parseResultSet(reply: Buffer, deprecateEof: boolean): ResultSet | null {
  const packets = splitPackets(reply);
  const first = packets[0];
  if (!first || first.length === 0 || first[0] === 0x00 || first[0] === 0xff || first[0] === 0xfb) return null;
  const columns = lenencInt(first);
  let i = 1 + columns;
  if (packets.length < i) return null;
  const header = packets.slice(0, i);
  if (!deprecateEof) {
    if (!packets[i] || !isTerminator(packets[i]!, false)) return null;
    i++;
  }
  const rows: Buffer[] = [];
  for (; i < packets.length; i++) {
    const p = packets[i]!;
    if (p[0] === 0xff) return null;
    if (isTerminator(p, deprecateEof)) return { header, rows, ...terminatorStatus(p, deprecateEof) };
    rows.push(p);
  }
  return null;
}

/** The first ERR packet's payload among the replies, or null. */
export function firstError(replies: readonly Buffer[]): Buffer | null {
  for (const r of replies) {
    const p = splitPackets(r)[0];
    if (p && p[0] === 0xff) return p;
  }
  return null;
}

export interface MergeOptions {
  /** Whether the servers' replies end result sets with an OK-style 0xfe packet (CLIENT_DEPRECATE_EOF). */
  inDeprecateEof: boolean;
  /** Whether the client negotiated CLIENT_DEPRECATE_EOF. */
  outDeprecateEof: boolean;
  /** Sequence id of the reply's first packet (the command's last sequence id + 1). */
  firstSeq: number;
}

/**
 * One reply for the client: the first reply's column definitions, then the rows of every
 * reply in order, byte-equal rows once. An ERR in any reply is the answer (the first one);
 * replies that are not result sets give the first reply unchanged but renumbered. The
 * terminator carries the first reply's status (without "more results": only the first result
 * set is merged) and the sum of the warnings.
 */
export function mergeResultSets(replies: readonly Buffer[], opts: MergeOptions): Buffer {
  const out: Buffer[] = [];
  let seq = opts.firstSeq;
  const put = (payload: Buffer): void => {
    const f = framePacket(payload, seq);
    out.push(f.bytes);
    seq = f.nextSeq;
  };
  const err = firstError(replies);
  if (err) {
    put(err);
    return Buffer.concat(out);
  }
  const sets = replies.map((r) => parseResultSet(r, opts.inDeprecateEof));
  const base = sets[0];
  if (!base) {
    for (const p of splitPackets(replies[0] ?? Buffer.alloc(0))) put(p);
    return Buffer.concat(out);
  }
  for (const p of base.header) put(p);
  if (!opts.outDeprecateEof) put(encodeEof(base.status & ~Status.MORE_RESULTS_EXISTS, 0));
  const seen = new Set<string>();
  let warnings = 0;
  for (const s of sets) {
    if (!s) continue;
    warnings += s.warnings;
    for (const row of s.rows) {
      // Byte-equal text rows are the same row (binary keys: latin1 maps bytes 1:1).
      const key = row.toString('latin1');
      if (seen.has(key)) continue;
      seen.add(key);
      put(row);
    }
  }
  const status = base.status & ~Status.MORE_RESULTS_EXISTS;
  warnings = Math.min(warnings, 0xffff);
  if (opts.outDeprecateEof) {
    const ok = encodeOk({ status, warnings });
    ok[0] = 0xfe;
    put(ok);
  } else {
    put(encodeEof(status, warnings));
  }
  return Buffer.concat(out);
}
