// Response records (ABI.md §6) read from the exchange buffer. A field that would end beyond the
// record's size (the smaller of its size field and the hook's return value) takes its default,
// so responses of plugins built for an older minor decode the same.
import { ExchangeError, type Exchange } from './exchange.js';
import type { RouteDecisionRecord, SessionTargetsRecord, StatementActionRecord } from './records.js';

/** Where a response lies: base address and usable size. Throws if it is not inside memory. */
function span(ex: Exchange, len: number): number {
  ex.sync();
  if (!ex.fits(len)) throw new ExchangeError(`response of ${len} bytes does not fit in the instance's memory`);
  const size = ex.dv.getUint32(ex.ptr, true);
  if (size < 4) throw new ExchangeError(`response record has size ${size}`);
  return size < len ? size : len;
}

function u8(ex: Exchange, size: number, off: number, fallback = 0): number {
  return off + 1 <= size ? ex.dv.getUint8(ex.ptr + off) : fallback;
}

function u16(ex: Exchange, size: number, off: number, fallback = 0): number {
  return off + 2 <= size ? ex.dv.getUint16(ex.ptr + off, true) : fallback;
}

function u32(ex: Exchange, size: number, off: number, fallback = 0): number {
  return off + 4 <= size ? ex.dv.getUint32(ex.ptr + off, true) : fallback;
}

/** A `str` at `off`: [value, offset after it]; clamped to the record. */
function str(ex: Exchange, size: number, off: number, fallback = ''): [string, number] {
  if (off + 4 > size) return [fallback, off];
  const n = Math.min(ex.dv.getUint32(ex.ptr + off, true), size - off - 4);
  if (n === 0) return [fallback, off + 4];
  const start = ex.ptr + off + 4;
  return [ex.bytes.toString('utf8', start, start + n), off + 4 + n];
}

// RouteDecision: size u32 | target u8 | reserved u8 | reserved u16 | server_index u32 | message str |
// (1.2) flags u32.
/** Decodes into `out` (reused by the caller: no allocation unless there is a message). */
export function decodeRouteDecision(ex: Exchange, len: number, out: RouteDecisionRecord): RouteDecisionRecord {
  const size = span(ex, len);
  out.target = u8(ex, size, 4);
  out.serverIndex = u32(ex, size, 8);
  if (out.target === 3) {
    const [message, next] = str(ex, size, 12);
    out.message = message;
    out.flags = u32(ex, size, next);
  } else {
    out.message = '';
    // The message is empty on the hot path: flags at 16 (a non-empty one is skipped).
    const n = u32(ex, size, 12);
    out.flags = n === 0 ? u32(ex, size, 16) : u32(ex, size, 16 + n);
  }
  return out;
}

// SessionTargets: size u32 | action u8 | reserved u8 | reserved u16 | servers list<u32> | message str.
export function decodeSessionTargets(ex: Exchange, len: number): SessionTargetsRecord {
  const size = span(ex, len);
  const action = u8(ex, size, 4);
  const count = Math.min(u32(ex, size, 8), Math.max(0, Math.floor((size - 12) / 4)));
  const servers: number[] = [];
  for (let i = 0; i < count; i++) servers.push(ex.dv.getUint32(ex.ptr + 12 + 4 * i, true));
  const [message] = str(ex, size, 12 + 4 * count);
  return { action, servers, message };
}

// StatementAction: size u32 | action u8 | reserved u8 | error_code u16 | sql_state str | text str.
export function decodeStatementAction(ex: Exchange, len: number): StatementActionRecord {
  const size = span(ex, len);
  const action = u8(ex, size, 4);
  const errorCode = u16(ex, size, 6, 1105) || 1105;
  const [sqlState, next] = str(ex, size, 8, 'HY000');
  const [text] = str(ex, size, next);
  return { action, errorCode, sqlState, text };
}
