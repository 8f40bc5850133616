// The host's codec against sdk/ABI.md §6, byte by byte, over a plain WebAssembly.Memory (no
// plugin): request layouts, response decoding with defaults for short (older-minor) records,
// and the extensibility rule when the host appends fields.
import { describe, expect, it } from 'vitest';
import { MAX_SQL_BYTES, NO_SERVER } from '../../host/plugins/abi/constants.js';
import { decodeRouteDecision, decodeSessionTargets, decodeStatementAction } from '../../host/plugins/abi/decode.js';
import { encodeReply, encodeServerTable, encodeSessionEnd, encodeSessionStart, encodeStatement } from '../../host/plugins/abi/encode.js';
import { Exchange, ExchangeError } from '../../host/plugins/abi/exchange.js';
import type { RouteDecisionRecord, StatementRecord } from '../../host/plugins/abi/records.js';

const BASE = 1024;

/** An exchange over a fresh memory; wsx_buffer grows the memory when asked for more. */
function exchange(): { ex: Exchange; memory: WebAssembly.Memory; asked: number[] } {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 64 });
  const asked: number[] = [];
  const ex = new Exchange(memory, (min) => {
    asked.push(min);
    const need = BASE + min - memory.buffer.byteLength;
    if (need > 0) memory.grow(Math.ceil(need / 65536));
    return BASE;
  });
  ex.init();
  return { ex, memory, asked };
}

function bytes(ex: Exchange, len: number): Buffer {
  return Buffer.from(ex.bytes.subarray(ex.ptr, ex.ptr + len));
}

/** Little-endian builder for expected records. */
class B {
  parts: Buffer[] = [];
  u8(v: number) { this.parts.push(Buffer.from([v])); return this; }
  u16(v: number) { const b = Buffer.alloc(2); b.writeUInt16LE(v); this.parts.push(b); return this; }
  u32(v: number) { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); this.parts.push(b); return this; }
  i32(v: number) { const b = Buffer.alloc(4); b.writeInt32LE(v); this.parts.push(b); return this; }
  u64(v: bigint) { const b = Buffer.alloc(8); b.writeBigUInt64LE(v); this.parts.push(b); return this; }
  str(s: string) { const b = Buffer.from(s, 'utf8'); this.u32(b.length); this.parts.push(b); return this; }
  raw(b: Buffer) { this.parts.push(b); return this; }
  /** The record with its size prefix. */
  record(): Buffer { const body = Buffer.concat(this.parts); const size = Buffer.alloc(4); size.writeUInt32LE(body.length + 4); return Buffer.concat([size, body]); }
  body(): Buffer { return Buffer.concat(this.parts); }
}

function stmt(sql: string, over: Partial<StatementRecord> = {}): StatementRecord {
  const source = Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)]);
  return { sessionId: 7, currentServer: 1, command: 3, kind: 1, trx: 5, flags: 0x10, digestLo: 0x89abcdef, digestHi: 0x01234567, hint: 0, hintServer: '', source, sqlStart: 1, sqlEnd: source.length, ...over };
}

describe('request records (host → plugin)', () => {
  it('ServerTable: count, then sized entries with fixed fields before the name', () => {
    const { ex } = exchange();
    const len = encodeServerTable(ex, [
      { name: 'db1', role: 'primary', state: 'up', weight: 1, lagMs: 0, connections: 3 },
      { name: 'réplica', role: 'replica', state: 'maintenance', weight: 7, lagMs: -1, connections: 0 },
    ]);
    const entry = (role: number, state: number, weight: number, lag: number, conns: number, name: string) =>
      new B().u8(role).u8(state).u16(0).u32(weight).i32(lag).u32(conns).str(name).record();
    const want = new B().u32(2).raw(entry(1, 1, 1, 0, 3, 'db1')).raw(entry(2, 3, 7, -1, 0, 'réplica')).record();
    expect(len).toBe(want.length);
    expect(bytes(ex, len)).toEqual(want);
  });

  it('SessionStart: id, current server (none = 0xFFFFFFFF), five strings, live connection counts', () => {
    const { ex } = exchange();
    const len = encodeSessionStart(ex, { id: 42, currentServer: -1, user: 'app', database: 'test', clientAddress: '10.0.0.9', service: 'main', tenant: '' }, [1, 0, 2], 3);
    const want = new B().u32(42).u32(NO_SERVER).str('app').str('test').str('10.0.0.9').str('main').str('').u32(3).u32(1).u32(0).u32(2).record();
    expect(bytes(ex, len)).toEqual(want);
  });

  it('SessionEnd and Reply', () => {
    const { ex } = exchange();
    expect(bytes(ex, encodeSessionEnd(ex, 9))).toEqual(new B().u32(9).record());
    const len = encodeReply(ex, { sessionId: 9, ok: false, errorCode: 1062, server: 2, affectedRows: 5n, rows: 2n ** 40n });
    expect(bytes(ex, len)).toEqual(new B().u32(9).u8(0).u8(0).u16(1062).u32(2).u64(5n).u64(2n ** 40n).record());
  });

  it('Statement: fixed header at the documented offsets, then the SQL text and per-server operations', () => {
    const { ex } = exchange();
    const sql = 'SELECT * FROM t WHERE id = 1';
    const len = encodeStatement(ex, stmt(sql), [4, 0], 2);
    const want = new B().u32(7).u32(1).u8(3).u8(1).u16(5).u32(0x10).u32(sql.length).u32(0x89abcdef).u32(0x01234567).str(sql).u32(2).u32(4).u32(0).u8(0).str('').u32(0).record();
    expect(bytes(ex, len)).toEqual(want);
    const dv = new DataView(ex.bytes.buffer, ex.bytes.byteOffset + ex.ptr);
    expect(dv.getUint8(12)).toBe(3);
    expect(dv.getUint32(20, true)).toBe(sql.length);
    expect(dv.getBigUint64(24, true)).toBe(0x0123456789abcdefn);
    expect(dv.getUint32(32, true)).toBe(sql.length);
  });

  it('Statement: no text for commands other than COM_QUERY/COM_STMT_PREPARE is an empty str', () => {
    const { ex } = exchange();
    const len = encodeStatement(ex, stmt('', { command: 0x17, sqlStart: 0, sqlEnd: 0, currentServer: -1 }), [], 0);
    const view = new DataView(ex.bytes.buffer, ex.bytes.byteOffset + ex.ptr);
    expect(len).toBe(49); // 1.0's 40 + hint u8 + empty hint_server + empty server_response_us (1.2)
    expect(view.getUint32(8, true)).toBe(NO_SERVER);
    expect(view.getUint32(20, true)).toBe(0);
    expect(view.getUint32(32, true)).toBe(0);
  });

  it('Statement: text beyond 1 MiB is cut; sql_total keeps the full length; the buffer is grown first', () => {
    const { ex, asked } = exchange();
    const sql = 'x'.repeat(MAX_SQL_BYTES + 10);
    const len = encodeStatement(ex, stmt(sql), [], 0);
    const view = new DataView(ex.bytes.buffer, ex.bytes.byteOffset + ex.ptr);
    expect(asked.at(-1)).toBeGreaterThanOrEqual(MAX_SQL_BYTES + 40);
    expect(view.getUint32(20, true)).toBe(sql.length);
    expect(view.getUint32(32, true)).toBe(MAX_SQL_BYTES);
    expect(len).toBe(36 + MAX_SQL_BYTES + 4 + 5 + 4);
  });

  it('Statement (1.2): server_response_us list<u32> after hint_server', () => {
    const { ex } = exchange();
    const sql = 'SELECT 1';
    const len = encodeStatement(ex, stmt(sql), [1, 2], 2, new Uint32Array([250, 1800]));
    const want = new B().u32(7).u32(1).u8(3).u8(1).u16(5).u32(0x10).u32(sql.length).u32(0x89abcdef).u32(0x01234567).str(sql).u32(2).u32(1).u32(2).u8(0).str('').u32(2).u32(250).u32(1800).record();
    expect(bytes(ex, len)).toEqual(want);
  });

  it('Statement (1.1): hint u8 and hint_server str after server_ops; 1.0 fields where they were', () => {
    const { ex } = exchange();
    const sql = 'SELECT 1 -- wasmscale route to server réplica2';
    const len = encodeStatement(ex, stmt(sql, { hint: 3, hintServer: 'réplica2' }), [4, 0], 2);
    const v10 = new B().u32(7).u32(1).u8(3).u8(1).u16(5).u32(0x10).u32(Buffer.byteLength(sql)).u32(0x89abcdef).u32(0x01234567).str(sql).u32(2).u32(4).u32(0).body();
    expect(bytes(ex, len)).toEqual(new B().raw(v10).u8(3).str('réplica2').u32(0).record());
    // The 1.0 prefix is unchanged: a 1.0 reader stops at 4 + v10.length.
    expect(bytes(ex, len).subarray(4, 4 + v10.length)).toEqual(v10);
    for (const [hint, name] of [[1, ''], [2, ''], [4, '']] as const) {
      const n = encodeStatement(ex, stmt('SELECT 1', { hint, hintServer: name }), [], 0);
      expect(bytes(ex, n).subarray(n - 9, n - 4)).toEqual(new B().u8(hint).u32(0).body());
    }
  });

  it('a later-minor host appends fields at the end of every record and server entry (extensibility rule)', () => {
    const { ex } = exchange();
    ex.futureBytes = 8;
    const len = encodeServerTable(ex, [{ name: 'a', role: 'replica', state: 'up', weight: 1, lagMs: 5, connections: 0 }]);
    const future = Buffer.alloc(8, 0xa5);
    const entry = new B().u8(2).u8(1).u16(0).u32(1).i32(5).u32(0).str('a').raw(future).record();
    expect(bytes(ex, len)).toEqual(new B().u32(1).raw(entry).raw(future).record());
    const slen = encodeSessionEnd(ex, 3);
    expect(bytes(ex, slen)).toEqual(new B().u32(3).raw(future).record());
  });

  it('views are re-made when the memory grows (growth detaches the old ArrayBuffer)', () => {
    const { ex, memory } = exchange();
    encodeSessionEnd(ex, 1);
    const before = ex.bytes.buffer;
    memory.grow(1);
    const len = encodeSessionEnd(ex, 2);
    expect(ex.bytes.buffer).not.toBe(before);
    expect(bytes(ex, len).readUInt32LE(4)).toBe(2);
  });
});

describe('response records (plugin → host)', () => {
  function write(ex: Exchange, record: Buffer): number {
    ex.reserve(record.length);
    record.copy(ex.bytes, ex.ptr);
    return record.length;
  }

  it('RouteDecision: target, server index, message (only read for errors)', () => {
    const { ex } = exchange();
    const out: RouteDecisionRecord = { target: 0, serverIndex: 0, message: '' };
    decodeRouteDecision(ex, write(ex, new B().u8(1).u8(0).u16(0).u32(2).str('').record()), out);
    expect(out).toEqual({ target: 1, serverIndex: 2, message: '', flags: 0 });
    decodeRouteDecision(ex, write(ex, new B().u8(3).u8(0).u16(0).u32(0).str('no such shard: é').record()), out);
    expect(out).toEqual({ target: 3, serverIndex: 0, message: 'no such shard: é', flags: 0 });
  });

  it('an older, shorter record decodes with defaults for the missing fields', () => {
    const { ex } = exchange();
    const out: RouteDecisionRecord = { target: 9, serverIndex: 9, message: 'x' };
    // Only size + target: server_index defaults to 0, message to ''.
    decodeRouteDecision(ex, write(ex, new B().u8(2).record()), out);
    expect(out).toEqual({ target: 2, serverIndex: 0, message: '', flags: 0 });
    // StatementAction with only the action: error 1105 / HY000 and no text.
    expect(decodeStatementAction(ex, write(ex, new B().u8(2).record()))).toEqual({ action: 2, errorCode: 1105, sqlState: 'HY000', text: '' });
    // SessionTargets without the message.
    expect(decodeSessionTargets(ex, write(ex, new B().u8(1).u8(0).u16(0).u32(2).u32(1).u32(0).record()))).toEqual({ action: 1, servers: [1, 0], message: '' });
  });

  it('a newer, longer record decodes (unknown trailing fields are ignored)', () => {
    const { ex } = exchange();
    // (1.2 flags u32 after the message, then fields of a later minor)
    const rec = new B().u8(1).u8(0).u16(0).u32(1).str('').u32(0).u64(123n).str('future field').record();
    const out: RouteDecisionRecord = { target: 0, serverIndex: 0, message: '' };
    expect(decodeRouteDecision(ex, write(ex, rec), out)).toEqual({ target: 1, serverIndex: 1, message: '', flags: 0 });
  });

  it('lengths running past the record are cut at its size', () => {
    const { ex } = exchange();
    const rec = new B().u8(1).u8(0).u16(0).u32(1000).u32(1).record(); // claims 1000 servers, holds 1
    expect(decodeSessionTargets(ex, write(ex, rec)).servers).toEqual([1]);
    const strRec = new B().u8(3).u8(0).u16(0).u32(0).u32(50).raw(Buffer.from('abc')).record();
    const out: RouteDecisionRecord = { target: 0, serverIndex: 0, message: '' };
    expect(decodeRouteDecision(ex, write(ex, strRec), out).message).toBe('abc');
  });

  it('the smaller of the size field and the returned length bounds the record', () => {
    const { ex } = exchange();
    const rec = new B().u8(1).u8(0).u16(0).u32(2).record();
    const len = write(ex, rec);
    const out: RouteDecisionRecord = { target: 0, serverIndex: 0, message: '' };
    expect(decodeRouteDecision(ex, 5, out)).toEqual({ target: 1, serverIndex: 0, message: '', flags: 0 });
    expect(decodeRouteDecision(ex, len, out).serverIndex).toBe(2);
  });

  it('a response outside the instance memory, or with a size below 4, is an ExchangeError', () => {
    const { ex, memory } = exchange();
    const out: RouteDecisionRecord = { target: 0, serverIndex: 0, message: '' };
    expect(() => decodeRouteDecision(ex, memory.buffer.byteLength, out)).toThrow(ExchangeError);
    write(ex, Buffer.from([2, 0, 0, 0, 1, 0, 0, 0]));
    expect(() => decodeRouteDecision(ex, 8, out)).toThrow(/size 2/);
  });

  it('wsx_buffer returning an address that cannot hold the request is an ExchangeError', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const ex = new Exchange(memory, () => 65536 - 16);
    expect(() => ex.init()).toThrow(ExchangeError);
  });
});
