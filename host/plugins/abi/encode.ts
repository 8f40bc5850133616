// Request records (ABI.md §6), written straight into the exchange buffer. Each encoder reserves
// room first (which may call wsx_buffer, i.e. plugin code), then writes, and returns the length
// to pass to the hook. Offsets are the spec's; fields are only ever added at the end.
import { MAX_SQL_BYTES, NO_SERVER, ROLE_CODES, STATE_CODES } from './constants.js';
import type { Exchange } from './exchange.js';
import type { DatabaseRecord, ReplyRecord, ServerRecord, SessionRecord, StatementRecord } from './records.js';

const FUTURE_FILL = 0xa5;

function u32OrNone(v: number): number {
  return v < 0 ? NO_SERVER : v;
}

/** Writes `str` (u32 length + UTF-8) at `at`; returns the offset after it. */
function putStr(ex: Exchange, at: number, s: string): number {
  const n = ex.bytes.write(s, at + 4, 'utf8');
  ex.dv.setUint32(at, n, true);
  return at + 4 + n;
}

/** Appends the simulated future fields (conformance tests only). */
function putFuture(ex: Exchange, at: number): number {
  if (ex.futureBytes === 0) return at;
  ex.bytes.fill(FUTURE_FILL, at, at + ex.futureBytes);
  return at + ex.futureBytes;
}

function finish(ex: Exchange, end: number): number {
  const size = end - ex.ptr;
  ex.dv.setUint32(ex.ptr, size, true);
  return size;
}

// ServerTable: size u32 | count u32 | entries. Entry: entry_size u32 | role u8 | state u8 |
// reserved u16 | weight u32 | lag_ms i32 | connections u32 | name str.
export function encodeServerTable(ex: Exchange, servers: readonly ServerRecord[]): number {
  let need = 8;
  for (const s of servers) need += 24 + Buffer.byteLength(s.name) + ex.futureBytes;
  ex.reserve(need + ex.futureBytes);
  const dv = ex.dv;
  dv.setUint32(ex.ptr + 4, servers.length, true);
  let at = ex.ptr + 8;
  for (const s of servers) {
    const e = at;
    dv.setUint8(e + 4, ROLE_CODES[s.role]);
    dv.setUint8(e + 5, STATE_CODES[s.state]);
    dv.setUint16(e + 6, 0, true);
    dv.setUint32(e + 8, s.weight, true);
    dv.setInt32(e + 12, s.lagMs, true);
    dv.setUint32(e + 16, s.connections, true);
    at = putFuture(ex, putStr(ex, e + 20, s.name));
    dv.setUint32(e, at - e, true);
  }
  return finish(ex, putFuture(ex, at));
}

// SessionStart: size u32 | session_id u32 | current_server u32 | user str | database str |
// client_address str | service str | tenant str | server_conns list<u32>.
export function encodeSessionStart(ex: Exchange, s: SessionRecord, conns: ArrayLike<number>, nConns: number): number {
  const need = 12 + 20 + Buffer.byteLength(s.user) + Buffer.byteLength(s.database) + Buffer.byteLength(s.clientAddress)
    + Buffer.byteLength(s.service) + Buffer.byteLength(s.tenant) + 4 + 4 * nConns + ex.futureBytes;
  ex.reserve(need);
  const dv = ex.dv;
  const p = ex.ptr;
  dv.setUint32(p + 4, s.id, true);
  dv.setUint32(p + 8, u32OrNone(s.currentServer), true);
  let at = putStr(ex, p + 12, s.user);
  at = putStr(ex, at, s.database);
  at = putStr(ex, at, s.clientAddress);
  at = putStr(ex, at, s.service);
  at = putStr(ex, at, s.tenant);
  dv.setUint32(at, nConns, true);
  at += 4;
  for (let i = 0; i < nConns; i++, at += 4) dv.setUint32(at, conns[i]!, true);
  return finish(ex, putFuture(ex, at));
}

// SessionEnd: size u32 | session_id u32.
export function encodeSessionEnd(ex: Exchange, sessionId: number): number {
  ex.reserve(8 + ex.futureBytes);
  ex.dv.setUint32(ex.ptr + 4, sessionId, true);
  return finish(ex, putFuture(ex, ex.ptr + 8));
}

// Statement: size u32 | session_id u32 | current_server u32 | command u8 | kind u8 | trx u16 |
// flags u32 | sql_total u32 | digest u64 | sql str | server_ops list<u32> | (1.1) hint u8 | hint_server str.
const NO_TIMES: ArrayLike<number> = new Uint32Array(0);

/** `times`: average response time per server index, µs (1.2; routers only, for adaptive routing). */
export function encodeStatement(ex: Exchange, st: StatementRecord, ops: ArrayLike<number>, nOps: number, times: ArrayLike<number> = NO_TIMES): number {
  const total = st.sqlEnd - st.sqlStart;
  const sqlLen = total <= MAX_SQL_BYTES ? total : MAX_SQL_BYTES;
  // Almost every statement has no hint: skip byteLength for the '' case.
  const hintLen = st.hintServer.length === 0 ? 0 : Buffer.byteLength(st.hintServer);
  const nTimes = times.length;
  ex.reserve(36 + sqlLen + 4 + 4 * nOps + 5 + hintLen + 4 + 4 * nTimes + ex.futureBytes);
  const dv = ex.dv;
  const p = ex.ptr;
  dv.setUint32(p + 4, st.sessionId, true);
  dv.setUint32(p + 8, u32OrNone(st.currentServer), true);
  dv.setUint8(p + 12, st.command);
  dv.setUint8(p + 13, st.kind);
  dv.setUint16(p + 14, st.trx, true);
  dv.setUint32(p + 16, st.flags, true);
  dv.setUint32(p + 20, total, true);
  dv.setUint32(p + 24, st.digestLo, true);
  dv.setUint32(p + 28, st.digestHi, true);
  dv.setUint32(p + 32, sqlLen, true);
  if (sqlLen > 0) st.source.copy(ex.bytes, p + 36, st.sqlStart, st.sqlStart + sqlLen);
  let at = p + 36 + sqlLen;
  dv.setUint32(at, nOps, true);
  at += 4;
  for (let i = 0; i < nOps; i++, at += 4) dv.setUint32(at, ops[i]!, true);
  dv.setUint8(at, st.hint);
  at += 1;
  if (hintLen === 0) {
    dv.setUint32(at, 0, true);
    at += 4;
  } else {
    at = putStr(ex, at, st.hintServer);
  }
  dv.setUint32(at, nTimes, true);
  at += 4;
  for (let i = 0; i < nTimes; i++, at += 4) dv.setUint32(at, times[i]!, true);
  return finish(ex, putFuture(ex, at));
}

// Reply: size u32 | session_id u32 | ok u8 | reserved u8 | error_code u16 | server u32 |
// affected_rows u64 | rows u64.
export function encodeReply(ex: Exchange, r: ReplyRecord): number {
  ex.reserve(32 + ex.futureBytes);
  const dv = ex.dv;
  const p = ex.ptr;
  dv.setUint32(p + 4, r.sessionId, true);
  dv.setUint8(p + 8, r.ok ? 1 : 0);
  dv.setUint8(p + 9, 0);
  dv.setUint16(p + 10, r.errorCode, true);
  dv.setUint32(p + 12, u32OrNone(r.server), true);
  dv.setBigUint64(p + 16, r.affectedRows, true);
  dv.setBigUint64(p + 24, r.rows, true);
  return finish(ex, putFuture(ex, p + 32));
}

// DatabaseTable (1.2): size u32 | count u32 | entries. Entry: entry_size u32 | server u32 |
// databases u32 count + that many str.
export function encodeDatabaseTable(ex: Exchange, entries: readonly DatabaseRecord[]): number {
  let need = 8;
  for (const e of entries) {
    need += 12 + ex.futureBytes;
    for (const d of e.databases) need += 4 + Buffer.byteLength(d);
  }
  ex.reserve(need + ex.futureBytes);
  const dv = ex.dv;
  dv.setUint32(ex.ptr + 4, entries.length, true);
  let at = ex.ptr + 8;
  for (const e of entries) {
    const start = at;
    dv.setUint32(start + 4, u32OrNone(e.server), true);
    dv.setUint32(start + 8, e.databases.length, true);
    at = start + 12;
    for (const d of e.databases) at = putStr(ex, at, d);
    at = putFuture(ex, at);
    dv.setUint32(start, at - start, true);
  }
  return finish(ex, putFuture(ex, at));
}
