// ReplyTracker against REAL replies: a raw TCP client (./raw-mariadb-client.ts) talks to the
// machine's MariaDB on 127.0.0.1:3306 (root, empty password), with and without
// CLIENT_DEPRECATE_EOF, and sends one command at a time. The server's bytes are the oracle: after
// a reply the connection stays silent (the client waits for a quiet period), so the tracker must
// report exactly one end per command, exactly at the last byte received. Replies are also replayed
// byte by byte, in random chunkings and all pipelined into one stream.
// Only read-only statements and session state (temporary tables, session variables) are used.
import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cap, Com, MariaCap, PROXY_MARIA_CAPS, Status } from '../../host/protocol/constants.js';
import { PacketFramer } from '../../host/protocol/framer.js';
import { stage2FromAuthString } from '../../host/protocol/native-password.js';
import { decodeErr, decodeOk } from '../../host/protocol/ok-err.js';
import { ReplyKind, ReplyTracker } from '../../host/protocol/reply-tracker.js';
import { framePacket, PayloadWriter } from '../../host/protocol/writer.js';
import { BASE_CAPS, RawMariadb } from './raw-mariadb-client.js';
import { rng } from '../harness/rng.js';

const HOST = '127.0.0.1';
const PORT = 3306;

const reachable = await new Promise<boolean>((resolve) => {
  const s = net.connect({ host: HOST, port: PORT });
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});
if (!reachable) console.warn(`protocol-reply-tracker-live: no MariaDB on ${HOST}:${PORT}; skipped`);

const tick = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const QUIET_MS = 150;

interface Pkt { seq: number; lastSeq: number; payload: Buffer }
/** Logical packets of a byte stream (reassembled across 16 MiB boundaries). */
function packets(bytes: Buffer): Pkt[] {
  const out: Pkt[] = [];
  const f = new PacketFramer(1 << 30);
  const e = f.push(bytes, (p) => void out.push({ seq: p.seq, lastSeq: p.lastSeq, payload: Buffer.from(p.payload) }));
  if (e || f.hasPartial) throw new Error('server bytes do not frame');
  return out;
}
/** Offsets where physical packets start. */
function boundaries(bytes: Buffer): number[] {
  const out: number[] = [];
  for (let p = 0; p < bytes.length; p += 4 + bytes.readUIntLE(p, 3)) out.push(p);
  return out;
}

type Ev = string;
const endEv = (status: number, error: boolean, code: number): Ev => `end status=0x${status.toString(16)} error=${error} code=${code}`;

/** One command's reply as observed: segments split where the client had to act (LOCAL INFILE). */
interface Observed { name: string; kind: ReplyKind; parts: Buffer[]; events: { ev: Ev; at: number }[] }

function runTracker(kinds: ReplyKind[], dep: boolean, bytes: Buffer, cuts: number[], cache: boolean) {
  const events: { ev: Ev; from: number; to: number }[] = [];
  let from = 0;
  let to = 0;
  const t = new ReplyTracker({
    onReplyEnd: (e) => void events.push({ ev: endEv(e.status, e.error, e.errorCode), from, to }),
    onLocalInfile: () => void events.push({ ev: 'infile', from, to }),
    onUnexpected: (b0) => void events.push({ ev: `unexpected ${b0}`, from, to }),
  });
  t.deprecateEof = dep;
  t.cacheMetadata = cache;
  for (const k of kinds) t.expect(k);
  for (const c of [...cuts, bytes.length]) {
    from = to;
    to = c;
    t.feed(bytes.subarray(from, to));
  }
  return { events, t };
}

function cutsFor(bytes: Buffer, r: () => number): number[][] {
  const len = bytes.length;
  const random = (max: number) => {
    const cuts: number[] = [];
    for (let p = 1 + Math.floor(r() * max); p < len; p += 1 + Math.floor(r() * max)) cuts.push(p);
    return cuts;
  };
  if (len <= 100_000) {
    return [[], Array.from({ length: len - 1 }, (_, i) => i + 1), random(3), random(40), random(1000), random(20000)];
  }
  const fine = new Set<number>();
  for (const b of [...boundaries(bytes), len]) for (let d = -30; d <= 30; d++) if (b + d > 0 && b + d < len) fine.add(b + d);
  return [[], [...fine].sort((a, b) => a - b), random(65536), random(5_000_000)];
}

/** Replays observed replies (pipelined) in many chunkings; events must fire at the same bytes. */
async function replay(obs: Observed[], dep: boolean, seed: number, cache: boolean): Promise<void> {
  const bytes = Buffer.concat(obs.flatMap((o) => o.parts));
  const expected: { ev: Ev; at: number }[] = [];
  let base = 0;
  for (const o of obs) {
    for (const e of o.events) expected.push({ ev: e.ev, at: base + e.at });
    base += o.parts.reduce((n, p) => n + p.length, 0);
  }
  const r = rng(seed);
  for (const cuts of cutsFor(bytes, r)) {
    const { events, t } = runTracker(obs.map((o) => o.kind), dep, bytes, cuts, cache);
    const names = obs.map((o) => o.name).join(' | ');
    expect(events.map((e) => e.ev), names).toEqual(expected.map((e) => e.ev));
    for (let i = 0; i < events.length; i++) {
      const at = expected[i]!.at;
      expect(events[i]!.from < at && at <= events[i]!.to, `${names}: "${events[i]!.ev}" fired in [${events[i]!.from}, ${events[i]!.to}), expected at byte ${at}`).toBe(true);
    }
    expect(t.pending).toBe(0);
    expect(t.midReply).toBe(false);
    await tick();
  }
}

const q = (sql: string) => Buffer.concat([Buffer.from([Com.QUERY]), Buffer.from(sql, 'utf8')]);
const prepare = (sql: string) => Buffer.concat([Buffer.from([Com.STMT_PREPARE]), Buffer.from(sql, 'utf8')]);
/** COM_STMT_EXECUTE with BIGINT parameters; flags 1 = CURSOR_TYPE_READ_ONLY. */
function execute(id: number, params: number[], flags = 0): Buffer {
  const x = new PayloadWriter().u8(Com.STMT_EXECUTE).u32(id).u8(flags).u32(1);
  if (params.length > 0) {
    x.zeros((params.length + 7) >> 3).u8(1);
    for (let i = 0; i < params.length; i++) x.u8(0x08).u8(0);
    for (const v of params) x.u32(v).u32(0);
  }
  return Buffer.from(x.payload());
}
const fetchRows = (id: number, n: number) => Buffer.from(new PayloadWriter().u8(Com.STMT_FETCH).u32(id).u32(n).payload());
const stmtId = (reply: Pkt[]) => reply[0]!.payload.readUInt32LE(1);

// Metadata caching (MARIADB_CLIENT_CACHE_METADATA) changes the column-count packet and lets the
// server skip an execute's column definitions: every case runs with it off and on.
for (const cache of [false, true])
for (const dep of [false, true]) {
  describe.skipIf(!reachable)(`ReplyTracker on real MariaDB replies (DEPRECATE_EOF ${dep ? 'on' : 'off'}, metadata caching ${cache ? 'on' : 'off'})`, () => {
    let c: RawMariadb;
    // One tracker for the whole connection, fed the chunks as the socket delivered them.
    let live: ReplyTracker;
    let liveEvents: Ev[] = [];
    const transcript: Observed[] = [];

    beforeAll(async () => {
      // MariaDB extended capabilities as the proxy offers them (progress reports, bulk, extended metadata).
      c = await RawMariadb.connect({
        host: HOST, port: PORT, database: 'test', caps: BASE_CAPS | (dep ? Cap.DEPRECATE_EOF : 0), mariaCaps: cache ? PROXY_MARIA_CAPS : PROXY_MARIA_CAPS & ~MariaCap.CACHE_METADATA,
      });
      expect(!!(c.caps & Cap.DEPRECATE_EOF)).toBe(dep);
      expect(c.caps & Cap.LONG_PASSWORD).toBe(0); // so the extended capabilities apply
      live = new ReplyTracker({
        onReplyEnd: (e) => void liveEvents.push(endEv(e.status, e.error, e.errorCode)),
        onLocalInfile: () => void liveEvents.push('infile'),
        onUnexpected: (b0) => void liveEvents.push(`unexpected ${b0}`),
      });
      live.deprecateEof = dep;
      live.cacheMetadata = cache;
    });
    afterAll(async () => {
      await c?.close();
    });

    /** Oracle for the end event, from a full decode of the reply's last packet. */
    function oracle(kind: ReplyKind, last: Buffer): Ev | null {
      if (last[0] === 0xff) return endEv(0, true, decodeErr(last).code);
      if (kind === ReplyKind.Prepare) return null; // status of a prepare reply is not meaningful
      if (last[0] === 0x00 || (last[0] === 0xfe && dep)) return endEv(decodeOk(last).status, false, 0);
      if (last[0] === 0xfe) return endEv(last.readUInt16LE(3), false, 0);
      return endEv(0, false, 0); // COM_STATISTICS
    }

    /**
     * Feeds what the socket delivers to the live tracker until `done()`; then waits a quiet period
     * in which the server must send nothing more. Returns the bytes, chunked as they arrived.
     */
    async function pump(name: string, done: () => boolean): Promise<Buffer> {
      const deadline = Date.now() + 60_000;
      const got: Buffer[] = [];
      const extra: Buffer[] = [];
      while (!done()) {
        if (Date.now() > deadline) {
          expect.fail(`${name}: no reply end after ${got.reduce((n, b) => n + b.length, 0)} bytes; events ${JSON.stringify(liveEvents)}`);
        }
        const chunks = c.take();
        if (chunks.length === 0) await sleep(2);
        for (const ch of chunks) {
          if (done()) extra.push(ch);
          else {
            live.feed(ch);
            got.push(ch);
          }
        }
      }
      await sleep(QUIET_MS);
      extra.push(...c.take());
      expect(Buffer.concat(extra).length, `${name}: bytes after the tracker saw the reply end`).toBe(0);
      return Buffer.concat(got);
    }

    /**
     * Sends a command (or several, pipelined) and follows the reply with the live tracker. With
     * `infileData`, the reply must first ask for a LOCAL INFILE upload; the data is then sent.
     */
    async function send(name: string, payloads: Buffer[], kinds: ReplyKind[], infileData?: Buffer[]): Promise<Pkt[]> {
      liveEvents = [];
      const ended = () => liveEvents.filter((e) => e.startsWith('end')).length;
      for (const k of kinds) live.expect(k);
      c.writeRaw(Buffer.concat(payloads.map((p) => framePacket(p, 0).bytes)));
      const parts: Buffer[] = [];
      const events: { ev: Ev; at: number }[] = [];
      let received = 0;
      const part = async (done: () => boolean) => {
        const before = liveEvents.length;
        const b = await pump(name, done);
        parts.push(b);
        received += b.length;
        for (const ev of liveEvents.slice(before)) events.push({ ev, at: received });
      };
      if (infileData) {
        await part(() => liveEvents.length > 0);
        expect(liveEvents, name).toEqual(['infile']);
        // The file: data packets from seq 2 on, then an empty packet.
        let seq = 2;
        const out: Buffer[] = [];
        for (const d of [...infileData, Buffer.alloc(0)]) {
          const f = framePacket(d, seq);
          out.push(f.bytes);
          seq = f.nextSeq;
        }
        c.writeRaw(Buffer.concat(out));
      }
      await part(() => ended() >= kinds.length);
      const all = Buffer.concat(parts);
      const pk = packets(all);
      expect(ended(), name).toBe(kinds.length);
      expect(liveEvents.filter((e) => e.startsWith('unexpected')), name).toEqual([]);
      expect(live.pending, name).toBe(0);
      expect(live.midReply, name).toBe(false);
      expect(live.lastSeq, name).toBe(pk[pk.length - 1]!.lastSeq);
      if (kinds.length === 1) {
        const o = oracle(kinds[0]!, pk[pk.length - 1]!.payload);
        if (o) expect(liveEvents[liveEvents.length - 1], name).toBe(o);
        // Byte-exact: fresh trackers fed one byte at a time / in random chunks end at the last byte.
        const obs: Observed = { name, kind: kinds[0]!, parts, events };
        transcript.push(obs);
        await replay([obs], dep, all.length, cache);
      } else {
        // Pipelined: split the bytes where a byte-by-byte tracker saw each end, check each piece.
        const { events: evs } = runTracker(kinds, dep, all, Array.from({ length: all.length - 1 }, (_, i) => i + 1), cache);
        expect(evs.map((e) => e.ev)).toEqual(liveEvents);
        expect(evs[evs.length - 1]!.to).toBe(all.length);
        let from = 0;
        for (const [i, e] of evs.entries()) {
          const piece = packets(all.subarray(from, e.to));
          const o = oracle(kinds[i]!, piece[piece.length - 1]!.payload);
          if (o) expect(e.ev, `${name} #${i}`).toBe(o);
          transcript.push({ name: `${name} #${i}`, kind: kinds[i]!, parts: [all.subarray(from, e.to)], events: [{ ev: e.ev, at: e.to - from }] });
          from = e.to;
        }
      }
      return pk;
    }

    it('decodes the real greeting', () => {
      expect(c.handshake.serverVersion).toMatch(/MariaDB/);
      expect(c.handshake.scramble.length).toBe(20);
      expect(c.handshake.capabilities & Cap.PROTOCOL_41).toBeTruthy();
      expect(c.handshake.authPlugin).toBe('mysql_native_password');
    });

    it('COM_PING, COM_STATISTICS, COM_INIT_DB, COM_SET_OPTION', async () => {
      expect((await send('ping', [Buffer.from([Com.PING])], [ReplyKind.Single]))[0]!.payload[0]).toBe(0x00);
      const stats = await send('statistics', [Buffer.from([Com.STATISTICS])], [ReplyKind.Single]);
      expect(stats[0]!.payload.toString()).toMatch(/^Uptime: /);
      await send('init db', [Buffer.from('\x02test')], [ReplyKind.Single]);
      await send('init db error', [Buffer.from('\x02no_such_db_wasmscale')], [ReplyKind.Single]);
      // COM_SET_OPTION answers with an EOF packet (an OK with header FE under DEPRECATE_EOF).
      const so = await send('set option', [Buffer.from([Com.SET_OPTION, 0, 0])], [ReplyKind.Single]);
      expect(so[0]!.payload[0]).toBe(0xfe);
      expect(so[0]!.payload.length).toBe(dep ? 7 : 5);
    });

    it('COM_QUERY: OK, ERR, result sets, warnings, big and empty results', async () => {
      await send('select 1', [q('SELECT 1')], [ReplyKind.Result]);
      await send('do', [q('DO 1')], [ReplyKind.Result]);
      await send('error', [q('SELECT * FROM no_such_table_wasmscale')], [ReplyKind.Result]);
      await send('syntax error', [q('SELEC 1')], [ReplyKind.Result]);
      await send('empty', [q('SELECT seq FROM seq_1_to_3 WHERE seq > 5')], [ReplyKind.Result]);
      await send('warnings', [q('SELECT 1/0, CAST("x" AS INT)')], [ReplyKind.Result]);
      await send('nulls and empty strings', [q("SELECT NULL, '', seq FROM seq_1_to_3")], [ReplyKind.Result]);
      await send('many rows', [q("SELECT seq, REPEAT('x', seq) FROM seq_1_to_300")], [ReplyKind.Result]);
      await send('long values', [q("SELECT REPEAT('y', 300), REPEAT('z', 70000)")], [ReplyKind.Result]);
      await send('251 columns', [q('SELECT ' + Array.from({ length: 251 }, (_, i) => `${i} AS c${i}`).join(', '))], [ReplyKind.Result]);
      // The server fails after sending three rows: an ERR ends the result set.
      const pk = await send('error mid rows', [q('SELECT seq, (SELECT 1 UNION SELECT 2 FROM DUAL WHERE seq > 3) FROM seq_1_to_10')], [ReplyKind.Result]);
      expect(pk[pk.length - 1]!.payload[0]).toBe(0xff);
      expect(pk.filter((p) => p.payload[0] === 0x01).length).toBe(3);
    });

    it('multi-statement COM_QUERY (MORE_RESULTS_EXISTS chains)', async () => {
      await send('multi', [q("SELECT 1; DO 2; SELECT 'a', 'b' FROM seq_1_to_3; SET @x = 1")], [ReplyKind.Result]);
      await send('multi ending in result', [q('DO 1; SELECT 2; SELECT seq FROM seq_1_to_2')], [ReplyKind.Result]);
      const pk = await send('multi ending in ERR', [q('SELECT 1; DO 1; SELECT nosuchcol FROM seq_1_to_2; SELECT 3')], [ReplyKind.Result]);
      expect(pk[pk.length - 1]!.payload[0]).toBe(0xff);
      await send('multi with empty results', [q('SELECT 1 FROM seq_1_to_2 WHERE 0; SELECT 2 FROM seq_1_to_2 WHERE 0')], [ReplyKind.Result]);
    });

    it('session tracking: OK packets much longer than 24 bytes', async () => {
      await send('track all', [q("SET SESSION session_track_system_variables='*'")], [ReplyKind.Result]);
      await send('track state', [q('SET SESSION session_track_state_change=1')], [ReplyKind.Result]);
      const names = await send('set names', [q('SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci')], [ReplyKind.Result]);
      expect(names[0]!.payload.length).toBeGreaterThan(24);
      expect(decodeOk(names[0]!.payload).status & Status.SESSION_STATE_CHANGED).toBeTruthy();
      await send('use', [q('USE information_schema')], [ReplyKind.Result]);
      await send('use back', [q('USE test')], [ReplyKind.Result]);
      await send('multi with tracking', [q("SET NAMES latin1; SELECT 1; SET @@session.time_zone = '+01:00'; SELECT 2; SET NAMES utf8mb4")], [ReplyKind.Result]);
      await send('long sql_mode', [q("SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION,ANSI_QUOTES'")], [ReplyKind.Result]);
      await send('tracked var after result', [q("SELECT 1; SET SESSION sql_mode = DEFAULT")], [ReplyKind.Result]);
    });

    it('pipelined commands in one write', async () => {
      await send('pipelined', [Buffer.from([Com.PING]), q('SELECT 1'), q('DO 1'), prepare('SELECT ?')], [ReplyKind.Single, ReplyKind.Result, ReplyKind.Result, ReplyKind.Prepare]);
    });

    it('COM_FIELD_LIST', async () => {
      await send('field list', [Buffer.from('\x04seq_1_to_3\0', 'latin1')], [ReplyKind.Rows]);
      await send('create temp', [q('CREATE TEMPORARY TABLE wasmscale_tmp (a INT, b VARCHAR(10), c TEXT)')], [ReplyKind.Result]);
      await send('field list temp', [Buffer.from('\x04wasmscale_tmp\0', 'latin1')], [ReplyKind.Rows]);
      await send('field list wildcard', [Buffer.from('\x04wasmscale_tmp\0b%', 'latin1')], [ReplyKind.Rows]);
      await send('field list error', [Buffer.from('\x04no_such_table_wasmscale\0', 'latin1')], [ReplyKind.Rows]);
    });

    it('LOAD DATA LOCAL INFILE', async () => {
      await send('create temp', [q('CREATE TEMPORARY TABLE wasmscale_load (a INT, b VARCHAR(10))')], [ReplyKind.Result]);
      const load = "LOAD DATA LOCAL INFILE 'data.csv' INTO TABLE wasmscale_load FIELDS TERMINATED BY ','";
      await send('load', [q(load)], [ReplyKind.Result], [Buffer.from('1,a\n2,b\n'), Buffer.from('3,c\n')]);
      await send('load empty file', [q(load)], [ReplyKind.Result], []);
      await send('load then select', [q(`${load}; SELECT COUNT(*) FROM wasmscale_load`)], [ReplyKind.Result], [Buffer.from('4,d\n')]);
      await send('load bad data', [q(`LOAD DATA LOCAL INFILE 'x' INTO TABLE no_such_table_wasmscale`)], [ReplyKind.Result]);
      const n = await send('count', [q('SELECT COUNT(*) FROM wasmscale_load')], [ReplyKind.Result]);
      expect(n.some((p) => p.payload.equals(Buffer.from('\x014')))).toBe(true);
    });

    it('prepared statements: prepare shapes, execute, reset, close', async () => {
      const both = await send('prepare params+cols', [prepare('SELECT seq, ? AS p, ? AS q FROM seq_1_to_5')], [ReplyKind.Prepare]);
      // Definitions follow the OK; EOF packets only without DEPRECATE_EOF.
      expect(both.length).toBe(1 + 2 + 3 + (dep ? 0 : 2));
      const id = both[0]!.payload.readUInt32LE(1);
      const paramsOnly = await send('prepare params only', [prepare('DO ? + ?')], [ReplyKind.Prepare]);
      expect(paramsOnly.length).toBe(1 + 2 + (dep ? 0 : 1));
      const colsOnly = await send('prepare cols only', [prepare('SELECT 1, 2')], [ReplyKind.Prepare]);
      expect(colsOnly.length).toBe(1 + 2 + (dep ? 0 : 1));
      const none = await send('prepare nothing', [prepare('DO 1')], [ReplyKind.Prepare]);
      expect(none.length).toBe(1);
      await send('prepare error', [prepare('SELECT * FROM no_such_table_wasmscale')], [ReplyKind.Prepare]);

      await send('execute', [execute(id, [7, 8])], [ReplyKind.Result]);
      await send('execute DO', [execute(paramsOnly[0]!.payload.readUInt32LE(1), [1, 2])], [ReplyKind.Result]);
      await send('execute no params', [execute(colsOnly[0]!.payload.readUInt32LE(1), [])], [ReplyKind.Result]);
      await send('execute unknown stmt', [execute(999999, [])], [ReplyKind.Result]);
      await send('reset', [Buffer.from(new PayloadWriter().u8(Com.STMT_RESET).u32(id).payload())], [ReplyKind.Single]);

      // COM_STMT_SEND_LONG_DATA has no reply; the execute that uses it does.
      const longId = stmtId(await send('prepare long', [prepare('SELECT LENGTH(?)')], [ReplyKind.Prepare]));
      c.write(Buffer.concat([Buffer.from(new PayloadWriter().u8(Com.STMT_SEND_LONG_DATA).u32(longId).u16(0).payload()), Buffer.alloc(100_000, 0x41)]));
      await sleep(200);
      expect(c.take()).toEqual([]);
      const x = new PayloadWriter().u8(Com.STMT_EXECUTE).u32(longId).u8(0).u32(1).u8(0).u8(1).u8(0xfc).u8(0);
      const lenRows = await send('execute long data', [Buffer.from(x.payload())], [ReplyKind.Result]);
      // The binary row: 00, NULL bitmap, LENGTH() as a 4-byte integer (MYSQL_TYPE_LONG).
      expect(lenRows.map((p) => p.payload.toString('hex'))).toContain('0000' + 'a0860100');

      // COM_STMT_BULK_EXECUTE (MariaDB): types sent (flag 128), three rows of one BIGINT.
      await send('create bulk temp', [q('CREATE TEMPORARY TABLE wasmscale_bulk (a BIGINT)')], [ReplyKind.Result]);
      const bulkId = stmtId(await send('prepare bulk', [prepare('INSERT INTO wasmscale_bulk VALUES (?)')], [ReplyKind.Prepare]));
      const bulk = new PayloadWriter().u8(Com.STMT_BULK_EXECUTE).u32(bulkId).u16(128).u8(0x08).u8(0);
      for (const v of [1, 2, 3]) bulk.u8(0).u32(v).u32(0);
      const bulkOk = await send('bulk execute', [Buffer.from(bulk.payload())], [ReplyKind.Result]);
      expect(decodeOk(bulkOk[0]!.payload).affectedRows).toBe(3);

      // COM_STMT_CLOSE has no reply at all.
      c.write(Buffer.from(new PayloadWriter().u8(Com.STMT_CLOSE).u32(none[0]!.payload.readUInt32LE(1)).payload()));
      await new Promise((r) => setTimeout(r, 300));
      expect(c.take()).toEqual([]);
      await send('ping after close', [Buffer.from([Com.PING])], [ReplyKind.Single]);
    });

    it('cursors: COM_STMT_EXECUTE with CURSOR_TYPE_READ_ONLY, then COM_STMT_FETCH', async () => {
      const id = stmtId(await send('prepare', [prepare('SELECT seq, ? AS p FROM seq_1_to_5 WHERE seq > ?')], [ReplyKind.Prepare]));

      // The finding: the reply to a cursor-opening execute is the column count, the column
      // definitions and one terminator carrying SERVER_STATUS_CURSOR_EXISTS — an EOF (FE, 5 bytes)
      // without DEPRECATE_EOF, an OK with header FE (7 bytes) with it. No rows follow.
      const open = await send('execute with cursor', [execute(id, [7, 0], 1)], [ReplyKind.Result]);
      expect(open.map((p) => p.payload[0])).toEqual([0x02, 0x03, 0x03, 0xfe]);
      const term = open[3]!.payload;
      expect(term.length).toBe(dep ? 7 : 5);
      const st = dep ? decodeOk(term).status : term.readUInt16LE(3);
      expect(st & Status.CURSOR_EXISTS).toBeTruthy();
      expect(st & Status.LAST_ROW_SENT).toBeFalsy();

      // While the cursor is open, other statements' replies do not carry CURSOR_EXISTS (without
      // DEPRECATE_EOF the tracker would take it on the metadata EOF as the end of the reply).
      await send('text query with open cursor', [q('SELECT seq FROM seq_1_to_2')], [ReplyKind.Result]);
      const other = stmtId(await send('prepare other', [prepare('SELECT seq FROM seq_1_to_3')], [ReplyKind.Prepare]));
      const otherRows = await send('execute other with open cursor', [execute(other, [])], [ReplyKind.Result]);
      expect(otherRows.filter((p) => p.payload[0] === 0x00 && p.payload.length === 10).length).toBe(3);

      const f1 = await send('fetch 2', [fetchRows(id, 2)], [ReplyKind.Rows]);
      expect(f1.map((p) => p.payload[0])).toEqual([0x00, 0x00, 0xfe]);
      await send('fetch 2 more', [fetchRows(id, 2)], [ReplyKind.Rows]);
      const f3 = await send('fetch last', [fetchRows(id, 2)], [ReplyKind.Rows]);
      const lastSt = dep ? decodeOk(f3[f3.length - 1]!.payload).status : f3[f3.length - 1]!.payload.readUInt16LE(3);
      expect(lastSt & Status.LAST_ROW_SENT).toBeTruthy();
      await send('fetch exhausted', [fetchRows(id, 2)], [ReplyKind.Rows]);

      // Re-open, fetch everything at once.
      await send('execute with cursor again', [execute(id, [1, 0], 1)], [ReplyKind.Result]);
      await send('fetch all', [fetchRows(id, 100)], [ReplyKind.Rows]);
      // A cursor over an empty result is still opened; the first fetch returns just the terminator.
      const empty = await send('execute with cursor, no rows', [execute(id, [1, 100], 1)], [ReplyKind.Result]);
      expect(empty[empty.length - 1]!.payload[0]).toBe(0xfe);
      const ef = await send('fetch from empty cursor', [fetchRows(id, 10)], [ReplyKind.Rows]);
      expect(ef.length).toBe(1);
      // The cursor flag on a statement without a result set: a plain OK.
      const doId = stmtId(await send('prepare DO', [prepare('DO ?')], [ReplyKind.Prepare]));
      const ok = await send('execute DO with cursor', [execute(doId, [1], 1)], [ReplyKind.Result]);
      expect(ok.map((p) => p.payload[0])).toEqual([0x00]);
      // Without the flag, the same statement returns its rows.
      const rows = await send('execute without cursor', [execute(id, [7, 0])], [ReplyKind.Result]);
      expect(rows.filter((p) => p.payload[0] === 0x00).length).toBe(5);
    });

    it('progress reports (ERR 0xFFFF) during a long ALTER TABLE are not the end of the reply', async () => {
      await send('progress time', [q('SET SESSION progress_report_time = 1')], [ReplyKind.Result]);
      await send('create big temp', [q("CREATE TEMPORARY TABLE wasmscale_progress ENGINE=Aria AS SELECT seq, 'xxxxxxxxxx' AS v FROM seq_1_to_1000000")], [ReplyKind.Result]);
      // A report is sent once the statement has run for progress_report_time: retry a rebuild
      // until one was seen (each takes a second or more).
      let reports = 0;
      for (let i = 0; i < 5 && reports === 0; i++) {
        const pk = await send(`alter ${i}`, [q('ALTER TABLE wasmscale_progress FORCE')], [ReplyKind.Result]);
        reports = pk.filter((p) => p.payload[0] === 0xff && p.payload.readUInt16LE(1) === 0xffff).length;
        expect(pk[pk.length - 1]!.payload[0]).toBe(0x00);
      }
      expect(reports).toBeGreaterThan(0);
      await send('drop big temp', [q('DROP TEMPORARY TABLE wasmscale_progress')], [ReplyKind.Result]);
    }, 300_000);

    it('COM_RESET_CONNECTION', async () => {
      await send('reset connection', [Buffer.from([Com.RESET_CONNECTION])], [ReplyKind.Single]);
      await send('select after reset', [q('SELECT @@session.session_track_system_variables')], [ReplyKind.Result]);
    });

    it('huge rows: a 16 MiB value (row starts with FE) and a row of exactly 0xffffff bytes', async () => {
      const fe = await send('FE row', [q("SELECT REPEAT('a', 16777216) AS a")], [ReplyKind.Result]);
      const row = fe[dep ? 2 : 3]!;
      expect(row.payload[0]).toBe(0xfe);
      expect(row.lastSeq).not.toBe(row.seq);
      const exact = await send('exact row', [q("SELECT REPEAT('b', 16777211) AS b")], [ReplyKind.Result]);
      expect(exact[dep ? 2 : 3]!.payload.length).toBe(0xffffff);
      await send('two big columns', [q("SELECT REPEAT('c', 10000000) AS c, REPEAT('d', 10000000) AS d")], [ReplyKind.Result]);
      // A row of 0xffffff + 5 bytes whose continuation packet is FE 00 00 02 00: shaped like an EOF.
      const tail = await send('EOF-shaped continuation', [q(`SELECT REPEAT('e', ${0xffffff - 10}) AS e, CONCAT('abcde', UNHEX('FE00000200')) AS f`)], [ReplyKind.Result]);
      const big = tail[dep ? 3 : 4]!;
      expect(big.payload.length).toBe(0xffffff + 5);
      expect(big.payload.subarray(0xffffff).toString('hex')).toBe('fe00000200');
    }, 300_000);

    it('PASSWORD() of the server matches stage2 = SHA1(SHA1(password))', async () => {
      const pk = await send('password', [q("SELECT PASSWORD('wasmscale secret')")], [ReplyKind.Result]);
      const row = pk[dep ? 2 : 3]!.payload;
      const hash = row.subarray(1, 1 + row[0]!).toString();
      const sha1 = (b: Buffer) => createHash('sha1').update(b).digest();
      expect(stage2FromAuthString(hash)).toEqual(sha1(sha1(Buffer.from('wasmscale secret'))));
    });

    it('the whole session replayed as one pipelined stream', async () => {
      const small = transcript.filter((o) => o.parts.reduce((n, p) => n + p.length, 0) < 100_000);
      expect(small.length).toBeGreaterThan(40);
      await replay(small, dep, 99, cache);
    }, 300_000);
  });
}
