// The ResultSet record (request of wsx_on_result, ABI.md §6): a result set's columns and rows as
// a filter that subscribed to on_result sees them. Values are the text protocol's bytes (binary
// rows converted, see host/protocol/result-set.ts). Rows that do not fit in MAX_RESULT_BYTES are
// left out and flagged, so a huge result never makes a huge record.
//
// size u32 | session_id u32 | server u32 | column_count u32 | row_count u32 | flags u32 |
// total_rows u32 | columns | rows
// column: entry_size u32 | type u8 | decimals u8 | flags u16 | name str | table str | schema str
// row: column_count values, each i32 length (-1 NULL) then the bytes
import type { ResultRows } from '../../protocol/result-set.js';
import { NO_SERVER } from './constants.js';
import type { Exchange } from './exchange.js';

/** Most bytes of rows put in one record. */
export const MAX_RESULT_BYTES = 1024 * 1024;

export const ResultFlag = {
  /** The rows came in the binary protocol (prepared statements) and were converted to text. */
  BINARY: 1,
  /** Rows were left out (row_count < total_rows). */
  TRUNCATED: 2,
} as const;

function strLen(s: string): number {
  return 4 + Buffer.byteLength(s, 'utf8');
}

function putStr(ex: Exchange, at: number, s: string): number {
  const n = ex.bytes.write(s, at + 4, 'utf8');
  ex.dv.setUint32(at, n, true);
  return at + 4 + n;
}

/** `cut`: the host itself saw only part of the result (it keeps a bounded prefix of big results). */
export function encodeResultSet(ex: Exchange, sessionId: number, server: number, r: ResultRows, binary: boolean, cut = false): number {
  let colBytes = 0;
  for (const c of r.columns) colBytes += 8 + strLen(c.name) + strLen(c.table) + strLen(c.schema);
  let rowBytes = 0;
  let rows = 0;
  for (const row of r.rows) {
    let n = 0;
    for (const v of row) n += 4 + (v ? v.length : 0);
    if (rowBytes + n > MAX_RESULT_BYTES) break;
    rowBytes += n;
    rows++;
  }
  const total = 28 + colBytes + rowBytes + ex.futureBytes;
  ex.reserve(total);
  const dv = ex.dv;
  const p = ex.ptr;
  dv.setUint32(p + 4, sessionId, true);
  dv.setUint32(p + 8, server < 0 ? NO_SERVER : server, true);
  dv.setUint32(p + 12, r.columns.length, true);
  dv.setUint32(p + 16, rows, true);
  dv.setUint32(p + 20, (binary ? ResultFlag.BINARY : 0) | (cut || rows < r.rows.length ? ResultFlag.TRUNCATED : 0), true);
  dv.setUint32(p + 24, r.rows.length, true);
  let at = p + 28;
  for (const c of r.columns) {
    const start = at;
    dv.setUint8(at + 4, c.type);
    dv.setUint8(at + 5, c.decimals);
    dv.setUint16(at + 6, c.flags, true);
    at = putStr(ex, at + 8, c.name);
    at = putStr(ex, at, c.table);
    at = putStr(ex, at, c.schema);
    dv.setUint32(start, at - start, true);
  }
  for (let i = 0; i < rows; i++) {
    for (const v of r.rows[i]!) {
      if (v === null) {
        dv.setInt32(at, -1, true);
        at += 4;
      } else {
        dv.setInt32(at, v.length, true);
        v.copy(ex.bytes, at + 4);
        at += 4 + v.length;
      }
    }
  }
  if (ex.futureBytes > 0) {
    ex.bytes.fill(0xa5, at, at + ex.futureBytes);
    at += ex.futureBytes;
  }
  const size = at - p;
  dv.setUint32(p, size, true);
  return size;
}
