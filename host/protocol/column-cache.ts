// MariaDB metadata caching (MARIADB_CLIENT_CACHE_METADATA, 10.6+) as the proxy needs it: the
// column definitions a prepare reply carries, and an execute reply whose definitions the server
// skipped made whole again. Column definitions are kept as their packets with sequence id 0, so
// two copies compare equal by content whatever position they were sent at.

/** Sequence ids of every physical packet in `bytes[from..]` moved by `shift`, in place. */
function shiftSeqs(bytes: Buffer, from: number, shift: number): void {
  let pos = from;
  while (pos + 4 <= bytes.length) {
    const len = bytes[pos]! | (bytes[pos + 1]! << 8) | (bytes[pos + 2]! << 16);
    bytes[pos + 3] = (bytes[pos + 3]! + shift) & 0xff;
    pos += 4 + len;
  }
}

/** Packets of `bytes[from..]` copied with sequence id 0 (the form definitions are kept in). */
function normalised(bytes: Buffer, from: number, to: number): Buffer {
  const out = Buffer.from(bytes.subarray(from, to));
  let pos = 0;
  while (pos + 4 <= out.length) {
    out[pos + 3] = 0;
    pos += 4 + (out[pos]! | (out[pos + 1]! << 8) | (out[pos + 2]! << 16));
  }
  return out;
}

/** Offset just past `n` packets starting at `pos`, or -1 when the bytes end first. */
function skipPackets(bytes: Buffer, pos: number, n: number): number {
  for (let i = 0; i < n; i++) {
    if (pos + 4 > bytes.length) return -1;
    pos += 4 + (bytes[pos]! | (bytes[pos + 1]! << 8) | (bytes[pos + 2]! << 16));
  }
  return pos <= bytes.length ? pos : -1;
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
  return { id, defs: normalised(reply, pos, end) };
}

/** The number of packets in kept definitions. */
export function countPackets(defs: Buffer): number {
  let n = 0;
  let pos = 0;
  while (pos + 4 <= defs.length) {
    pos += 4 + (defs[pos]! | (defs[pos + 1]! << 8) | (defs[pos + 2]! << 16));
    n++;
  }
  return n;
}

/**
 * Whether a whole execute reply (the server's bytes) starts with a result set whose column
 * definitions were skipped: a column-count packet whose byte after the count is 0.
 */
export function skipsColumns(reply: Buffer): boolean {
  if (reply.length < 6) return false;
  const len = reply[0]! | (reply[1]! << 8) | (reply[2]! << 16);
  const b0 = reply[4]!;
  if (b0 === 0x00 || b0 === 0xff || b0 === 0xfb || b0 === 0xfe) return false;
  const size = b0 < 0xfb ? 1 : b0 === 0xfc ? 3 : b0 === 0xfd ? 4 : 9;
  return len === size + 1 && reply[4 + size] === 0;
}

/**
 * An execute reply whose first result set skipped its column definitions, made whole: the
 * column-count packet says they follow, `defs` are put in after it, and every later packet's
 * sequence id moves up by their number. The reply's bytes are changed in place; a reply that
 * skipped nothing comes back as it is.
 */
export function withColumnDefs(reply: Buffer, defs: Buffer): Buffer {
  if (!skipsColumns(reply)) return reply;
  const countLen = reply[0]! | (reply[1]! << 8) | (reply[2]! << 16);
  const firstSeq = reply[3]!;
  const head = 4 + countLen;
  reply[head - 1] = 1;
  const n = countPackets(defs);
  const put = Buffer.from(defs);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    put[pos + 3] = (firstSeq + 1 + i) & 0xff;
    pos += 4 + (put[pos]! | (put[pos + 1]! << 8) | (put[pos + 2]! << 16));
  }
  shiftSeqs(reply, head, n);
  return Buffer.concat([reply.subarray(0, head), put, reply.subarray(head)]);
}

/**
 * The other form of a whole execute reply whose first result set carried its column
 * definitions: without them, as a server that had them cached would send it (the inverse of
 * withColumnDefs); null when it carried none or is not a result set.
 */
export function withoutColumnDefs(reply: Buffer): Buffer | null {
  if (reply.length < 6) return null;
  const countLen = reply[0]! | (reply[1]! << 8) | (reply[2]! << 16);
  const b0 = reply[4]!;
  if (b0 === 0x00 || b0 === 0xff || b0 === 0xfb || b0 === 0xfe || b0 >= 0xfd) return null;
  const size = b0 < 0xfb ? 1 : 3;
  if (countLen !== size + 1 || reply[4 + size] !== 1) return null;
  const n = size === 1 ? b0 : reply.readUInt16LE(5);
  const head = 4 + countLen;
  const rest = skipPackets(reply, head, n);
  if (rest < 0) return null;
  const out = Buffer.concat([reply.subarray(0, head), reply.subarray(rest)]);
  out[head - 1] = 0;
  shiftSeqs(out, head, -n);
  return out;
}
