// MariaDB metadata caching (MARIADB_CLIENT_CACHE_METADATA, 10.6+) as the proxy needs it: the
// column definitions a prepare reply carries, and an execute reply whose definitions the server
// skipped made whole again. Column definitions are kept as their packets with sequence id 0, so
// two copies compare equal by content whatever position they were sent at.
import { peekLenenc } from './reader.js';

/** Offset just past the packet whose header is at `pos`. */
function packetEnd(bytes: Buffer, pos: number): number {
  return pos + 4 + (bytes[pos]! | (bytes[pos + 1]! << 8) | (bytes[pos + 2]! << 16));
}

/** Sequence ids of every physical packet in `bytes[from..]` moved by `shift`, in place. */
function shiftSeqs(bytes: Buffer, from: number, shift: number): void {
  for (let pos = from; pos + 4 <= bytes.length; pos = packetEnd(bytes, pos)) bytes[pos + 3] = (bytes[pos + 3]! + shift) & 0xff;
}

/** Sequence ids of the packets in `bytes` set to first, first + step, ..., in place; returns their number. */
function numberSeqs(bytes: Buffer, first: number, step: number): number {
  let n = 0;
  for (let pos = 0; pos + 4 <= bytes.length; pos = packetEnd(bytes, pos)) bytes[pos + 3] = (first + step * n++) & 0xff;
  return n;
}

/** Offset just past `n` packets starting at `pos`, or -1 when the bytes end first. */
function skipPackets(bytes: Buffer, pos: number, n: number): number {
  for (let i = 0; i < n; i++) {
    if (pos + 4 > bytes.length) return -1;
    pos = packetEnd(bytes, pos);
  }
  return pos <= bytes.length ? pos : -1;
}

/**
 * The column-count packet a whole reply starts with, when it is one with metadata caching's flag
 * byte: the column count and where the flag is; null for an OK, ERR, LOCAL INFILE or anything else.
 */
function columnCount(reply: Buffer): { count: number; flagAt: number } | null {
  if (reply.length < 6) return null;
  const b0 = reply[4]!;
  if (b0 === 0x00 || b0 === 0xfe) return null;
  const end = packetEnd(reply, 0);
  const n = peekLenenc(reply, 4, Math.min(end, reply.length));
  if (n === null || end !== 4 + n.size + 1 || end > reply.length) return null;
  return { count: n.value, flagAt: 4 + n.size };
}

/**
 * A whole PREPARE OK reply: the statement id and its column definitions (null when it has no
 * columns); null when the reply is not a PREPARE OK or is cut short.
 * Layout: OK <id u32> <columns u16> <params u16> ..., params definitions [+ EOF], column
 * definitions [+ EOF] (no EOFs with DEPRECATE_EOF).
 */
export function prepareColumnDefs(reply: Buffer, deprecateEof: boolean): { id: number; defs: Buffer | null } | null {
  if (reply.length < 4 + 9 || reply[4] !== 0x00) return null;
  const id = reply.readUInt32LE(5);
  const columns = reply.readUInt16LE(9);
  const params = reply.readUInt16LE(11);
  let pos = skipPackets(reply, 0, 1);
  if (params > 0) pos = pos < 0 ? -1 : skipPackets(reply, pos, params + (deprecateEof ? 0 : 1));
  if (pos < 0) return null;
  if (columns === 0) return { id, defs: null };
  const end = skipPackets(reply, pos, columns);
  if (end < 0) return null;
  const defs = Buffer.from(reply.subarray(pos, end));
  numberSeqs(defs, 0, 0);
  return { id, defs };
}

/** The number of packets in kept definitions. */
export function countPackets(defs: Buffer): number {
  let n = 0;
  for (let pos = 0; pos + 4 <= defs.length; pos = packetEnd(defs, pos)) n++;
  return n;
}

/**
 * Whether a whole execute reply (the server's bytes) starts with a result set whose column
 * definitions were skipped: a column-count packet whose byte after the count is 0.
 */
export function skipsColumns(reply: Buffer): boolean {
  const c = columnCount(reply);
  return c !== null && reply[c.flagAt] === 0;
}

/**
 * An execute reply whose first result set skipped its column definitions, made whole: the
 * column-count packet says they follow, `defs` are put in after it, and every later packet's
 * sequence id moves up by their number. The reply's bytes are changed in place; a reply that
 * skipped nothing comes back as it is.
 */
export function withColumnDefs(reply: Buffer, defs: Buffer): Buffer {
  const c = columnCount(reply);
  if (c === null || reply[c.flagAt] !== 0) return reply;
  const head = c.flagAt + 1;
  reply[c.flagAt] = 1;
  const put = Buffer.from(defs);
  const n = numberSeqs(put, reply[3]! + 1, 1);
  shiftSeqs(reply, head, n);
  return Buffer.concat([reply.subarray(0, head), put, reply.subarray(head)]);
}

/**
 * The other form of a whole execute reply whose first result set carried its column
 * definitions: without them, as a server that had them cached would send it (the inverse of
 * withColumnDefs); null when it carried none or is not a result set.
 */
export function withoutColumnDefs(reply: Buffer): Buffer | null {
  const c = columnCount(reply);
  if (c === null || reply[c.flagAt] !== 1) return null;
  const head = c.flagAt + 1;
  const rest = skipPackets(reply, head, c.count);
  if (rest < 0) return null;
  const out = Buffer.concat([reply.subarray(0, head), reply.subarray(rest)]);
  out[c.flagAt] = 0;
  shiftSeqs(out, head, -c.count);
  return out;
}
