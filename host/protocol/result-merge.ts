// Merges the replies several servers gave to one statement into the one reply the client gets
// (schemarouter's SHOW DATABASES: the union of every shard's list). Pure: reply bytes in (as
// the servers sent them, packet headers included), reply bytes out, sequence ids renumbered.
// A multi-result reply (SHOW DATABASES; SELECT ... with multi-statements) is merged result by
// result: the n-th result set of every reply into the client's n-th.
import { Status } from './constants.js';
import { decodeOk, encodeEof, encodeErr, encodeOk } from './ok-err.js';
import { framePacket } from './writer.js';
import { packets as splitPackets } from './result-set.js';

const MAX_PAYLOAD = 0xffffff;
/** ER_UNKNOWN_ERROR: results the proxy cannot merge. */
const UNMERGEABLE = { code: 1105, sqlState: 'HY000' } as const;

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

/** One result of a reply: a text result set, or an OK / ERR packet. */
export type ReplyPart = { set: ResultSet; packet?: undefined } | { set?: undefined; packet: Buffer };

/** Whether a result ends with "more results" (another result of the same reply follows). */
function moreAfter(part: ReplyPart): boolean {
  if (part.set) return (part.set.status & Status.MORE_RESULTS_EXISTS) !== 0;
  return part.packet[0] === 0x00 && (decodeOk(part.packet).status & Status.MORE_RESULTS_EXISTS) !== 0;
}

/**
 * The results of a reply, in order (one unless results are chained by MORE_RESULTS_EXISTS); an
 * ERR ends the reply. Null for anything else: a LOCAL INFILE request, a truncated reply, an ERR
 * among the rows, bytes after the last result.
 */
export function parseReply(reply: Buffer, deprecateEof: boolean): ReplyPart[] | null {
  const packets = splitPackets(reply);
  const parts: ReplyPart[] = [];
  let i = 0;
  while (i < packets.length) {
    const first = packets[i]!;
    if (first.length === 0 || first[0] === 0xfb) return null;
    let part: ReplyPart;
    if (first[0] === 0x00 || first[0] === 0xff) {
      part = { packet: first };
      i++;
    } else {
      const r = readSet(packets, i, deprecateEof);
      if (!r) return null;
      part = { set: r.set };
      i = r.next;
    }
    parts.push(part);
    // A last result still flagged "more results" (a truncated chain) ends the reply here.
    if (part.packet?.[0] === 0xff || !moreAfter(part)) break;
  }
  return parts.length > 0 && i === packets.length ? parts : null;
}

/** The text result set starting at packets[i], and the index after its terminator; null if it is not one. */
function readSet(packets: Buffer[], i: number, deprecateEof: boolean): { set: ResultSet; next: number } | null {
  const columns = lenencInt(packets[i]!);
  let at = i + 1 + columns;
  if (packets.length < at) return null;
  const header = packets.slice(i, at);
  if (!deprecateEof) {
    if (!packets[at] || !isTerminator(packets[at]!, false)) return null;
    at++;
  }
  const rows: Buffer[] = [];
  for (; at < packets.length; at++) {
    const p = packets[at]!;
    if (p[0] === 0xff) return null;
    if (isTerminator(p, deprecateEof)) return { set: { header, rows, ...terminatorStatus(p, deprecateEof) }, next: at + 1 };
    rows.push(p);
  }
  return null;
}

/**
 * Parses `reply` as a text result set; null if it is anything else (an OK, an ERR, a truncated
 * reply). Of a multi-result reply, the first result set.
 */
export function parseResultSet(reply: Buffer, deprecateEof: boolean): ResultSet | null {
  return parseReply(reply, deprecateEof)?.[0]?.set ?? null;
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

/** Why the n-th results cannot be merged (they differ in kind or columns), or null. */
function mismatch(parts: ReplyPart[]): string | null {
  const base = parts[0]!;
  for (const p of parts) {
    if (!p.set !== !base.set) return 'one server answered with a result set, another without';
    if (p.set && base.set && p.set.header.length !== base.set.header.length) return 'the servers answered with different columns';
  }
  return null;
}

/**
 * One reply for the client, result by result: the first reply's column definitions, then the
 * rows of every reply in order, byte-equal rows once; the terminator carries the first reply's
 * status ("more results" when another result follows) and the sum of the warnings. An OK is the
 * first reply's. An ERR in any reply at a result's place is the answer there (the first one in
 * server order) and ends the reply, as a server's ERR ends a multi-statement reply. Replies that
 * are not text results give the first reply unchanged but renumbered; results the servers
 * answered differently (a result set here, an OK there; other columns) end in ERR 1105.
 */
export function mergeResultSets(replies: readonly Buffer[], opts: MergeOptions): Buffer {
  const out: Buffer[] = [];
  let seq = opts.firstSeq;
  const put = (payload: Buffer): void => {
    const f = framePacket(payload, seq);
    out.push(f.bytes);
    seq = f.nextSeq;
  };
  const parsed = replies.map((r) => parseReply(r, opts.inDeprecateEof));
  if (parsed.some((p) => p === null)) {
    const err = firstError(replies);
    for (const p of err ? [err] : splitPackets(replies[0] ?? Buffer.alloc(0))) put(p);
    return Buffer.concat(out);
  }
  const all = parsed as ReplyPart[][];
  const count = Math.max(...all.map((p) => p.length));
  for (let n = 0; n < count; n++) {
    const err = all.map((p) => p[n]?.packet).find((p) => p?.[0] === 0xff);
    if (err) {
      put(err);
      break;
    }
    const parts = all.map((p): ReplyPart | undefined => p[n]);
    const differ = parts.some((p) => p === undefined) ? 'the servers answered with different numbers of results' : mismatch(parts as ReplyPart[]);
    if (differ) {
      put(encodeErr(UNMERGEABLE, `merged statement: ${differ}; result ${n + 1} cannot be merged`));
      break;
    }
    const more = n < count - 1;
    const base = parts[0]!;
    if (!base.set) {
      put(base.packet);
      continue;
    }
    putSet(put, (parts as ReplyPart[]).map((p) => p.set!), more, opts.outDeprecateEof);
  }
  return Buffer.concat(out);
}

/** Writes one merged result set: header, rows (byte-equal ones once), terminator. */
function putSet(put: (payload: Buffer) => void, sets: ResultSet[], more: boolean, outDeprecateEof: boolean): void {
  const base = sets[0]!;
  const status = more ? base.status | Status.MORE_RESULTS_EXISTS : base.status & ~Status.MORE_RESULTS_EXISTS;
  for (const p of base.header) put(p);
  if (!outDeprecateEof) put(encodeEof(status, 0));
  const seen = new Set<string>();
  let warnings = 0;
  for (const s of sets) {
    warnings += s.warnings;
    for (const row of s.rows) {
      // Byte-equal text rows are the same row (binary keys: latin1 maps bytes 1:1).
      const key = row.toString('latin1');
      if (seen.has(key)) continue;
      seen.add(key);
      put(row);
    }
  }
  warnings = Math.min(warnings, 0xffff);
  if (outDeprecateEof) {
    const ok = encodeOk({ status, warnings });
    ok[0] = 0xfe;
    put(ok);
  } else {
    put(encodeEof(status, warnings));
  }
}
