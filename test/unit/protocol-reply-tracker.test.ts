// ReplyTracker (host/protocol/reply-tracker.ts) on server replies built byte by byte here.
// Packet layouts follow the MariaDB client/server protocol documentation:
//   OK          00 <affected lenenc> <insert id lenenc> <status u16> <warnings u16> [info lenenc] [session state lenenc]
//   OK as EOF   same with header FE (CLIENT_DEPRECATE_EOF ends result sets with it)
//   EOF         FE <warnings u16> <status u16>
//   ERR         FF <code u16> '#' <sqlstate 5> <message>
//   progress    FF FF FF 01 <stage u8> <max stage u8> <progress u24> <stage name lenenc>   (MariaDB;
//               as captured from 10.11: ff ffff 01 01 02 e80300 11 "copy to tmp table")
//   LOCAL INFILE FB <file name>
//   PREPARE OK  00 <stmt id u32> <columns u16> <params u16> 00 <warnings u16>
//   text row    lenenc strings, FB = NULL;  binary row 00 <null bitmap> <values>
// Every reply is checked fed in one piece, byte by byte, at every single split point (small
// replies) and in random chunkings: the events and the byte where each one fires must not change.
import { describe, expect, it } from 'vitest';
import { Status } from '../../host/protocol/constants.js';
import { encodeEof, encodeErr } from '../../host/protocol/ok-err.js';
import { ReplyKind, ReplyTracker, type ReplyEnd } from '../../host/protocol/reply-tracker.js';
import { PayloadWriter } from '../../host/protocol/writer.js';
import { rng } from '../harness/rng.js';

const MAX = 0xffffff;
const AC = Status.AUTOCOMMIT;
const MORE = Status.MORE_RESULTS_EXISTS;
const CURSOR = Status.CURSOR_EXISTS;
const LAST = Status.LAST_ROW_SENT;

// ---- packet payloads --------------------------------------------------------------------------

const w = () => new PayloadWriter(64);
const done = (x: PayloadWriter) => Buffer.from(x.payload());

interface OkOpts { affected?: number; insertId?: number; warnings?: number; info?: string; session?: Buffer }
/** OK (header 00) or, with header FE, the OK that ends a result set under DEPRECATE_EOF. */
function ok(status: number, o: OkOpts = {}, header = 0x00): Buffer {
  const x = w().u8(header).lenenc(o.affected ?? 0).lenenc(o.insertId ?? 0).u16(status).u16(o.warnings ?? 0);
  if (o.info !== undefined || o.session) x.lenencBytes(Buffer.from(o.info ?? ''));
  if (o.session) x.lenencBytes(o.session);
  return done(x);
}
const okEof = (status: number, o: OkOpts = {}) => ok(status, o, 0xfe);
const eof = (status: number, warnings = 0) => encodeEof(status, warnings);
const err = (code: number, msg = 'boom') => encodeErr({ code, sqlState: 'HY000' }, msg);
function progress(stage: number, pct: number): Buffer {
  return done(w().u8(0xff).u16(0xffff).u8(1).u8(stage).u8(3).u24(pct * 1000).lenencBytes(Buffer.from('copy to tmp table')));
}
const infile = (name: string) => done(w().u8(0xfb).str(name));
const colCount = (n: number) => done(w().lenenc(n));
function colDef(name: string, type = 0xfd): Buffer {
  const s = (v: string) => Buffer.from(v);
  return done(w().lenencBytes(s('def')).lenencBytes(s('test')).lenencBytes(s('t')).lenencBytes(s('t'))
    .lenencBytes(s(name)).lenencBytes(s(name)).u8(0x0c).u16(45).u32(1020).u8(type).u16(0).u8(0).u16(0));
}
function textRow(values: (string | Buffer | null)[]): Buffer {
  const x = w();
  for (const v of values) {
    if (v === null) x.u8(0xfb);
    else x.lenencBytes(typeof v === 'string' ? Buffer.from(v) : v);
  }
  return done(x);
}
/** Binary row of BIGINT columns (NULLs in the bitmap, which starts at bit 2). */
function binRow(values: (number | null)[]): Buffer {
  const bitmap = Buffer.alloc((values.length + 7 + 2) >> 3);
  const x = w().u8(0x00);
  const vals = w();
  values.forEach((v, i) => {
    if (v === null) bitmap[(i + 2) >> 3]! |= 1 << ((i + 2) & 7);
    else vals.u32(v).u32(0);
  });
  return done(x.bytes(bitmap).bytes(vals.payload()));
}
function prepOk(stmtId: number, cols: number, params: number, warnings = 0): Buffer {
  return done(w().u8(0).u32(stmtId).u16(cols).u16(params).u8(0).u16(warnings));
}
/** Session-state-change block (SESSION_TRACK) for a system variable, as the server encodes it. */
function sessionVar(name: string, value: string): Buffer {
  const data = done(w().lenencBytes(Buffer.from(name)).lenencBytes(Buffer.from(value)));
  return done(w().u8(0).lenencBytes(data));
}

/** Result set payloads: count, definitions, [EOF], rows, terminator. */
function resultSet(dep: boolean, cols: string[], rows: Buffer[], status: number, metaEofStatus = AC): Buffer[] {
  return [
    colCount(cols.length),
    ...cols.map((c) => colDef(c)),
    ...(dep ? [] : [eof(metaEofStatus)]),
    ...rows,
    dep ? okEof(status) : eof(status),
  ];
}

// ---- streams and expected events --------------------------------------------------------------

type Ev = string;
const end = (status: number, error = false, code = 0): Ev =>
  `end status=0x${status.toString(16)} error=${error} code=${code}`;
const INFILE: Ev = 'infile';
const unexpected = (b0: number): Ev => `unexpected ${b0}`;

/** A stretch of server bytes and the events that must fire exactly when its last byte is fed. */
interface Segment { packets: Buffer[]; events: Ev[] }
interface Scenario { name: string; kinds: ReplyKind[]; segments: Segment[] }

/** Frames payloads from `seq` on, splitting payloads of 16 MiB and more as the server does. */
function frame(payloads: Buffer[], seq: number): { bytes: Buffer; nextSeq: number } {
  const out: Buffer[] = [];
  let s = seq;
  for (const p of payloads) {
    let off = 0;
    for (;;) {
      const n = Math.min(MAX, p.length - off);
      out.push(Buffer.from([n & 0xff, (n >> 8) & 0xff, n >> 16, s & 0xff]), p.subarray(off, off + n));
      s = (s + 1) & 0xff;
      off += n;
      if (n < MAX) break;
    }
  }
  return { bytes: Buffer.concat(out), nextSeq: s };
}

interface Built { bytes: Buffer; expected: { ev: Ev; at: number }[]; lastSeq: number; boundaries: number[] }

/** Each reply's packets are numbered from 1; a segment that does not end a reply continues it. */
function build(s: Scenario): Built {
  const parts: Buffer[] = [];
  const expected: { ev: Ev; at: number }[] = [];
  const boundaries: number[] = [];
  let off = 0;
  let seq = 1;
  let lastSeq = 0;
  for (const seg of s.segments) {
    const f = frame(seg.packets, seq);
    // Record physical-packet boundaries (for fine-grained splitting of huge streams).
    for (let p = 0; p < f.bytes.length;) {
      boundaries.push(off + p);
      p += 4 + f.bytes.readUIntLE(p, 3);
    }
    parts.push(f.bytes);
    off += f.bytes.length;
    lastSeq = (f.nextSeq + 255) & 0xff;
    seq = f.nextSeq;
    for (const ev of seg.events) expected.push({ ev, at: off });
    if (seg.events.some((e) => e.startsWith('end'))) seq = 1;
    else if (seg.events.includes(INFILE)) seq = (seq + 2) & 0xff; // the client sent the file and an empty packet
  }
  return { bytes: Buffer.concat(parts), expected, lastSeq, boundaries };
}

/** Runs the tracker over `bytes` cut at `cuts`; records each event with the chunk it fired in. */
function run(kinds: ReplyKind[], dep: boolean, bytes: Buffer, cuts: number[], mode: 'upfront' | 'on-end' = 'upfront') {
  const events: { ev: Ev; from: number; to: number }[] = [];
  let from = 0;
  let to = 0;
  let next = 0;
  const t: ReplyTracker = new ReplyTracker({
    onReplyEnd(e: ReplyEnd) {
      events.push({ ev: end(e.status, e.error, e.errorCode), from, to });
      if (mode === 'on-end' && next < kinds.length) t.expect(kinds[next++]!);
    },
    onLocalInfile() {
      events.push({ ev: INFILE, from, to });
    },
    onUnexpected(b0: number) {
      events.push({ ev: unexpected(b0), from, to });
    },
  });
  t.deprecateEof = dep;
  if (mode === 'upfront') for (const k of kinds) t.expect(k);
  else if (kinds.length > 0) t.expect(kinds[next++]!);
  for (const c of [...cuts, bytes.length]) {
    from = to;
    to = c;
    t.feed(bytes.subarray(from, to));
  }
  return { events, tracker: t };
}

function check(s: Scenario, dep: boolean, b: Built, cuts: number[], mode: 'upfront' | 'on-end' = 'upfront') {
  const { events, tracker } = run(s.kinds, dep, b.bytes, cuts, mode);
  const where = `${s.name} (dep=${dep}, ${cuts.length + 1} chunks, ${mode})`;
  expect(events.map((e) => e.ev), where).toEqual(b.expected.map((e) => e.ev));
  for (let i = 0; i < events.length; i++) {
    const at = b.expected[i]!.at;
    // The event fired while feeding the chunk that holds the last byte of its packet.
    expect(events[i]!.from < at && at <= events[i]!.to, `${where}: event ${i} "${events[i]!.ev}" fired in [${events[i]!.from}, ${events[i]!.to}), expected at byte ${at}`).toBe(true);
  }
  expect(tracker.pending, where).toBe(0);
  expect(tracker.midReply, where).toBe(false);
  expect(tracker.lastSeq, where).toBe(b.lastSeq);
}

/** Lets vitest's worker breathe between heavy synchronous loops. */
const tick = () => new Promise<void>((r) => setImmediate(r));

function randomCuts(len: number, r: () => number, maxChunk: number): number[] {
  const cuts: number[] = [];
  for (let p = 1 + Math.floor(r() * maxChunk); p < len; p += 1 + Math.floor(r() * maxChunk)) cuts.push(p);
  return cuts;
}

/** All the chunkings a stream is checked with. */
function chunkings(b: Built, seed: number): number[][] {
  const len = b.bytes.length;
  const r = rng(seed);
  const out: number[][] = [[]];
  if (len <= 200_000) {
    out.push(Array.from({ length: len - 1 }, (_, i) => i + 1)); // byte by byte
    if (len <= 3000) for (let i = 1; i < len; i++) out.push([i]); // every single split point
    for (let k = 0; k < 40; k++) out.push(randomCuts(len, r, [3, 17, 200, 5000][k % 4]!));
  } else {
    // Huge streams: byte by byte around every physical-packet boundary, large chunks elsewhere.
    const cuts = new Set<number>();
    for (const at of [...b.boundaries, len]) {
      for (let d = -40; d <= 40; d++) if (at + d > 0 && at + d < len) cuts.add(at + d);
    }
    out.push([...cuts].sort((x, y) => x - y));
    for (let k = 0; k < 4; k++) out.push(randomCuts(len, r, [65536, 1_000_000, 7_000_000, 20_000_000][k]!));
  }
  return out;
}

// ---- scenarios --------------------------------------------------------------------------------

const R = ReplyKind.Result;
const P = ReplyKind.Prepare;
const ROWS = ReplyKind.Rows;
const S = ReplyKind.Single;
const seg = (packets: Buffer[], ...events: Ev[]): Segment => ({ packets, events });

function scenarios(dep: boolean): Scenario[] {
  const rs = (cols: string[], rows: Buffer[], status: number, metaEof = AC) => resultSet(dep, cols, rows, status, metaEof);
  const term = (status: number) => (dep ? okEof(status) : eof(status));
  const longSession = Buffer.concat([
    sessionVar('character_set_client', 'utf8mb4'),
    sessionVar('character_set_connection', 'utf8mb4'),
    sessionVar('sql_mode', 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER'),
  ]);
  const SSC = Status.SESSION_STATE_CHANGED;
  // A row whose first column is a 16 MiB string: it starts with FE and its first physical packet
  // is 0xffffff bytes long, so it is no terminator.
  const hugeFe = textRow([Buffer.alloc(MAX + 10, 0x61)]);
  // A row of exactly 0xffffff bytes: continued by an empty packet.
  const exactMax = textRow([Buffer.alloc(MAX - 4, 0x62)]);
  // A row whose continuation packet is 5 bytes starting with FE, i.e. shaped like an EOF packet.
  // (4 + (MAX - 10) + 1 + 10 = MAX + 5 bytes: the second column's last 5 bytes spill over.)
  const eofLike = Buffer.from([0xfe, 0, 0, 2, 0]);
  const feTail = textRow([Buffer.alloc(MAX - 10, 0x63), Buffer.concat([Buffer.from('abcde'), eofLike])]);
  // Binary-protocol row (00, null bitmap, one string) of MAX + 5 bytes; its continuation starts
  // with FE too.
  const binHuge = done(w().u8(0).u8(0).lenencBytes(Buffer.concat([Buffer.alloc(MAX - 6, 0x64), eofLike])));
  return [
    { name: 'OK', kinds: [R], segments: [seg([ok(AC, { affected: 3, insertId: 7, warnings: 1 })], end(AC))] },
    { name: 'ERR', kinds: [R], segments: [seg([err(1146, "Table 'test.nope' doesn't exist")], end(0, true, 1146))] },
    {
      name: 'text result set',
      kinds: [R],
      segments: [seg(rs(['a', 'b', 'c'], [
        textRow(['1', 'x', null]),
        textRow([null, '', 'y']), // starts with FB
        textRow(['', null, null]), // starts with 00
        textRow(['z'.repeat(300), 'a', 'b']), // starts with FC
        textRow(['q'.repeat(70000), '', '']), // starts with FD
      ], AC | Status.NO_INDEX_USED), end(AC | Status.NO_INDEX_USED))],
    },
    { name: 'empty result set', kinds: [R], segments: [seg(rs(['a'], [], AC), end(AC))] },
    {
      name: '251 columns (column count FC FB 00)',
      kinds: [R],
      segments: [seg(rs(Array.from({ length: 251 }, (_, i) => `c${i}`), [textRow(Array.from({ length: 251 }, () => '1'))], AC), end(AC))],
    },
    {
      name: 'multi-result chain with an OK in the middle',
      kinds: [R],
      segments: [seg([
        ...rs(['a'], [textRow(['1'])], AC | MORE),
        ok(AC | MORE, { affected: 2 }),
        ...rs(['b', 'c'], [textRow(['2', '3']), textRow(['4', '5'])], AC | MORE),
        ok(AC | MORE),
        ok(AC | Status.IN_TRANS, { info: 'Rows matched: 1  Changed: 1  Warnings: 0' }),
      ], end(AC | Status.IN_TRANS))],
    },
    {
      name: 'multi-result chain ended by an ERR after a result set',
      kinds: [R],
      segments: [seg([...rs(['a'], [textRow(['1'])], AC | MORE), ok(AC | MORE), err(1054, "Unknown column 'x'")], end(0, true, 1054))],
    },
    {
      name: 'multi-result chain ended by a result set',
      kinds: [R],
      segments: [seg([ok(AC | MORE), ...rs(['a'], [], AC | MORE), ...rs(['b'], [textRow(['2'])], AC)], end(AC))],
    },
    {
      name: 'ERR in the middle of the rows',
      kinds: [R],
      segments: [seg([colCount(1), colDef('a'), ...(dep ? [] : [eof(AC)]), textRow(['1']), textRow(['2']), err(1242, 'Subquery returns more than 1 row')], end(0, true, 1242))],
    },
    {
      name: 'LOCAL INFILE then OK',
      kinds: [R],
      segments: [seg([infile('/tmp/data.csv')], INFILE), seg([ok(AC, { affected: 2, info: 'Records: 2  Deleted: 0  Skipped: 0  Warnings: 0' })], end(AC))],
    },
    {
      name: 'LOCAL INFILE then ERR',
      kinds: [R],
      segments: [seg([infile('x')], INFILE), seg([err(1366, 'Incorrect integer value')], end(0, true, 1366))],
    },
    {
      name: 'LOCAL INFILE inside a multi-result chain',
      kinds: [R],
      segments: [
        seg([...rs(['a'], [textRow(['1'])], AC | MORE), infile('f.csv')], INFILE),
        seg([ok(AC | MORE, { affected: 1 }), ...rs(['n'], [textRow(['1'])], AC)], end(AC)),
      ],
    },
    {
      name: 'progress packets are not terminal',
      kinds: [R, S],
      segments: [
        seg([progress(1, 10), progress(1, 50), progress(2, 99), ok(AC, { affected: 1000 })], end(AC)),
        seg([progress(1, 1), ok(AC)], end(AC)),
      ],
    },
    {
      name: 'progress before a result set and before rows',
      kinds: [R],
      segments: [seg([progress(1, 5), colCount(1), colDef('a'), ...(dep ? [] : [eof(AC)]), progress(2, 80), textRow(['1']), term(AC)], end(AC))],
    },
    {
      name: 'prepare with params and columns',
      kinds: [P],
      segments: [seg([
        prepOk(1, 3, 2),
        colDef('?'), colDef('?'), ...(dep ? [] : [eof(AC)]),
        colDef('a'), colDef('b'), colDef('c'), ...(dep ? [] : [eof(AC)]),
      ], end(dep ? 0 : AC))],
    },
    {
      name: 'prepare with params only',
      kinds: [P],
      segments: [seg([prepOk(2, 0, 3), colDef('?'), colDef('?'), colDef('?'), ...(dep ? [] : [eof(AC)])], end(0))],
    },
    {
      name: 'prepare with columns only',
      kinds: [P],
      segments: [seg([prepOk(3, 2, 0, 1), colDef('a'), colDef('b'), ...(dep ? [] : [eof(AC)])], end(dep ? 0 : AC))],
    },
    { name: 'prepare with 0 params and 0 columns', kinds: [P], segments: [seg([prepOk(4, 0, 0)], end(0))] },
    { name: 'prepare ERR', kinds: [P], segments: [seg([err(1064, 'You have an error in your SQL syntax')], end(0, true, 1064))] },
    {
      name: 'prepare with 300 params (more than 255)',
      kinds: [P],
      segments: [seg([prepOk(5, 1, 300), ...Array.from({ length: 300 }, () => colDef('?')), ...(dep ? [] : [eof(AC)]), colDef('a'), ...(dep ? [] : [eof(AC)])], end(dep ? 0 : AC))],
    },
    {
      name: 'binary result, no cursor',
      kinds: [R],
      segments: [seg([colCount(2), colDef('a', 8), colDef('b', 8), ...(dep ? [] : [eof(AC)]), binRow([1, 2]), binRow([null, 3]), binRow([null, null]), term(AC)], end(AC))],
    },
    {
      name: 'binary result with a cursor, then COM_STMT_FETCH replies',
      kinds: [R, ROWS, ROWS, ROWS],
      segments: [
        // MariaDB 10.11, observed: without DEPRECATE_EOF the EOF after the column definitions carries
        // CURSOR_EXISTS and ends the reply; with it, an OK with header FE does.
        seg([colCount(2), colDef('a', 8), colDef('b', 8), dep ? okEof(AC | CURSOR | Status.NO_INDEX_USED) : eof(AC | CURSOR | Status.NO_INDEX_USED)], end(AC | CURSOR | Status.NO_INDEX_USED)),
        seg([binRow([1, 2]), binRow([3, null]), term(AC | CURSOR)], end(AC | CURSOR)),
        seg([binRow([5, 6]), term(AC | CURSOR | LAST)], end(AC | CURSOR | LAST)),
        seg([err(1421, 'The statement (1) has no open cursor.')], end(0, true, 1421)),
      ],
    },
    {
      name: 'COM_STMT_FETCH with no rows left',
      kinds: [ROWS],
      segments: [seg([term(AC | CURSOR | LAST)], end(AC | CURSOR | LAST))],
    },
    {
      // Only a Result reply continues after MORE_RESULTS_EXISTS; a Rows reply ends at its terminator.
      name: 'Rows reply whose terminator carries MORE_RESULTS_EXISTS',
      kinds: [ROWS, S],
      segments: [seg([binRow([1]), term(AC | CURSOR | MORE)], end(AC | CURSOR | MORE)), seg([ok(AC)], end(AC))],
    },
    {
      name: 'COM_FIELD_LIST',
      kinds: [ROWS, ROWS],
      segments: [seg([colDef('a'), colDef('b'), term(AC)], end(AC)), seg([err(1146, 'no table')], end(0, true, 1146))],
    },
    {
      name: 'Single: OK, ERR, EOF (COM_SET_OPTION) and a COM_STATISTICS string',
      kinds: [S, S, S, S, S],
      segments: [
        seg([ok(AC)], end(AC)),
        seg([err(1047, 'Unknown command')], end(0, true, 1047)),
        seg([term(AC | Status.IN_TRANS)], end(AC | Status.IN_TRANS)),
        seg([Buffer.from('Uptime: 1234  Threads: 1  Questions: 5  Slow queries: 0  Opens: 1  Open tables: 1  Queries per second avg: 0.004')], end(0)),
        seg([ok(AC, { affected: 300, insertId: 70000, warnings: 2 })], end(AC)),
      ],
    },
    {
      name: 'OK with session-state info far beyond 24 bytes and 9-byte lenencs',
      kinds: [R, R, S],
      segments: [
        seg([ok(AC | SSC, { affected: 2 ** 40, insertId: 2 ** 50 + 3, warnings: 7, info: 'x'.repeat(100), session: longSession })], end(AC | SSC)),
        seg([
          ok(AC | MORE | SSC, { affected: 2 ** 33, insertId: 0xffffff + 1, info: '', session: longSession }),
          ...(dep
            ? [colCount(1), colDef('a'), textRow(['1']), okEof(AC | SSC, { session: longSession })]
            : rs(['a'], [textRow(['1'])], AC | SSC)),
        ], end(AC | SSC)),
        seg([ok(Status.IN_TRANS | SSC, { affected: 0xfffe, insertId: 0x10000, info: 'i', session: longSession })], end(Status.IN_TRANS | SSC)),
      ],
    },
    ...(dep
      ? [{
        // Under DEPRECATE_EOF the terminator is an OK: its MORE_RESULTS flag sits behind lenencs.
        name: 'DEPRECATE_EOF terminator with long lenencs and MORE_RESULTS',
        kinds: [R],
        segments: [seg([
          colCount(1), colDef('a'), textRow(['1']), okEof(AC | MORE, { affected: 2 ** 40, insertId: 2 ** 41, session: longSession }),
          ok(AC),
        ], end(AC))],
      }]
      : []),
    {
      name: 'pipelined: three replies back to back',
      kinds: [R, S, P],
      segments: [
        seg([...rs(['a'], [textRow(['1'])], AC)], end(AC)),
        seg([ok(AC)], end(AC)),
        seg([prepOk(9, 0, 1), colDef('?'), ...(dep ? [] : [eof(AC)])], end(0)),
      ],
    },
    {
      name: 'a packet when no reply is expected',
      kinds: [S],
      segments: [seg([ok(AC)], end(AC)), seg([err(4031, 'The client was disconnected by the server because of inactivity')], unexpected(0xff))],
    },
    {
      name: 'huge row starting with FE is not a terminator',
      kinds: [R, R],
      segments: [
        seg(rs(['a'], [hugeFe, textRow(['x'])], AC), end(AC)),
        seg(rs(['a'], [textRow(['y']), hugeFe], AC | MORE).concat(rs(['b'], [hugeFe], AC)), end(AC)),
      ],
    },
    {
      name: 'rows of exactly 0xffffff bytes and rows whose continuation looks like an EOF',
      kinds: [R, ROWS],
      segments: [
        seg(rs(['a'], [exactMax, feTail, exactMax], AC), end(AC)),
        seg([binHuge, binRow([1]), term(AC | CURSOR | LAST)], end(AC | CURSOR | LAST)),
      ],
    },
  ];
}

for (const dep of [false, true]) {
  describe(`ReplyTracker (DEPRECATE_EOF ${dep ? 'on' : 'off'})`, () => {
    const all = scenarios(dep);
    for (const [i, s] of all.entries()) {
      it(s.name, async () => {
        const b = build(s);
        for (const cuts of chunkings(b, 1000 + i)) {
          check(s, dep, b, cuts);
          await tick();
        }
        // Expectations registered one at a time, when the previous reply ends.
        check(s, dep, b, [], 'on-end');
        check(s, dep, b, b.bytes.length < 200_000 ? Array.from({ length: b.bytes.length - 1 }, (_, k) => k + 1) : [], 'on-end');
      });
    }

    it('all small scenarios pipelined into one stream', async () => {
      const small = all.filter((s) => !s.name.startsWith('huge') && !s.name.startsWith('rows of exactly') && !s.name.startsWith('a packet when'));
      const merged: Scenario = { name: 'merged', kinds: small.flatMap((s) => s.kinds), segments: small.flatMap((s) => s.segments) };
      const b = build(merged);
      const r = rng(7);
      check(merged, dep, b, []);
      check(merged, dep, b, Array.from({ length: b.bytes.length - 1 }, (_, k) => k + 1));
      for (let k = 0; k < 30; k++) {
        check(merged, dep, b, randomCuts(b.bytes.length, r, [5, 100, 3000][k % 3]!));
        await tick();
      }
    });
  });
}

describe('ReplyTracker state', () => {
  const listener = (log: string[]) => ({
    onReplyEnd: (e: ReplyEnd) => void log.push(end(e.status, e.error, e.errorCode)),
    onLocalInfile: () => void log.push(INFILE),
    onUnexpected: (b0: number) => void log.push(unexpected(b0)),
  });

  it('pending and midReply follow the reply', () => {
    const log: string[] = [];
    const t = new ReplyTracker(listener(log));
    expect(t.pending).toBe(0);
    expect(t.midReply).toBe(false);
    t.expect(R);
    t.expect(S);
    expect(t.pending).toBe(2);
    expect(t.midReply).toBe(false);
    const bytes = frame(resultSet(false, ['a'], [textRow(['1'])], AC), 1).bytes;
    t.feed(bytes.subarray(0, 2)); // half a header
    expect(t.midReply).toBe(true);
    t.feed(bytes.subarray(2, 5 + 4)); // column count + part of the next header
    expect(t.midReply).toBe(true);
    t.feed(bytes.subarray(9, bytes.length - 3));
    expect(t.midReply).toBe(true);
    expect(log).toEqual([]);
    t.feed(bytes.subarray(bytes.length - 3));
    expect(log).toEqual([end(AC)]);
    expect(t.pending).toBe(1);
    expect(t.midReply).toBe(false);
    t.feed(frame([ok(AC)], 1).bytes);
    expect(t.pending).toBe(0);
    expect(log).toEqual([end(AC), end(AC)]);
  });

  it('midReply: false before the first byte of a reply, true from then on until it ends', () => {
    // The session uses midReply to number the ERR it sends when the backend is lost: lastSeq + 1
    // inside a reply, 1 before it. A chain of results (MORE_RESULTS_EXISTS), a LOCAL INFILE request
    // and a Rows reply that has not started are the cases where the parser state alone misleads.
    const probe = (kind: ReplyKind, dep: boolean, packets: Buffer[]) => {
      const t = new ReplyTracker({ onReplyEnd: () => {}, onLocalInfile: () => {}, onUnexpected: () => {} });
      t.deprecateEof = dep;
      // A previous reply, so lastSeq is not 0.
      t.expect(S);
      t.feed(frame([ok(AC)], 1).bytes);
      t.expect(kind);
      const seen = [t.midReply];
      let seq = 1;
      for (const p of packets) {
        const f = frame([p], seq);
        seq = f.nextSeq;
        t.feed(f.bytes);
        seen.push(t.midReply);
      }
      return seen;
    };
    for (const kind of [R, P, ROWS, S]) expect(probe(kind, false, [])).toEqual([false]);
    expect(probe(R, false, [ok(AC | MORE), ok(AC | MORE), ok(AC)])).toEqual([false, true, true, false]);
    expect(probe(R, false, [infile('f'), ok(AC)])).toEqual([false, true, false]);
    expect(probe(R, true, [colCount(1), colDef('a'), textRow(['1']), okEof(AC | MORE), colCount(1), colDef('b'), okEof(AC)]))
      .toEqual([false, true, true, true, true, true, true, false]);
    expect(probe(R, false, [colCount(1), colDef('a'), eof(AC), eof(AC | MORE), ok(AC)])).toEqual([false, true, true, true, true, false]);
    expect(probe(ROWS, false, [binRow([1]), eof(AC | CURSOR)])).toEqual([false, true, false]);
    expect(probe(P, true, [prepOk(1, 1, 1), colDef('?'), colDef('a')])).toEqual([false, true, true, false]);
    expect(probe(S, false, [progress(1, 5), ok(AC)])).toEqual([false, true, false]);
  });

  it('lastSeq is the sequence id of the last physical packet, continuations included', () => {
    const t = new ReplyTracker(listener([]));
    t.expect(R);
    const f = frame([colCount(1), colDef('a'), eof(AC), textRow([Buffer.alloc(MAX + 5)])], 250);
    t.feed(f.bytes);
    expect(t.lastSeq).toBe((f.nextSeq + 255) & 0xff);
    expect(t.lastSeq).toBe(254); // 250..253, then the row's continuation
    expect(t.midReply).toBe(true);
  });

  it('reset forgets expectations and partial packets', () => {
    const log: string[] = [];
    const t = new ReplyTracker(listener(log));
    t.expect(R);
    t.feed(frame(resultSet(false, ['a'], [textRow(['1'])], AC), 1).bytes.subarray(0, 20));
    t.reset();
    expect(t.pending).toBe(0);
    expect(t.midReply).toBe(false);
    t.expect(S);
    t.feed(frame([ok(AC)], 1).bytes);
    expect(log).toEqual([end(AC)]);
  });
});

describe('ReplyTracker: affected rows and row counts (what filters see in on_reply)', () => {
  function ends(kind: ReplyKind, dep: boolean, payloads: Buffer[]): { affected: number; rows: number; error: boolean }[] {
    const out: { affected: number; rows: number; error: boolean }[] = [];
    const t = new ReplyTracker({
      onReplyEnd: (e) => void out.push({ affected: e.affectedRows, rows: e.rows, error: e.error }),
      onLocalInfile: () => {},
      onUnexpected: () => {},
    });
    t.deprecateEof = dep;
    t.expect(kind);
    t.feed(frame(payloads, 1).bytes);
    return out;
  }

  for (const dep of [false, true]) {
    it(`counts rows of a text result set and reports an OK's affected rows (deprecateEof=${dep})`, () => {
      const rows = [textRow(['1']), textRow(['2']), textRow([null])];
      expect(ends(R, dep, resultSet(dep, ['a'], rows, AC))).toEqual([{ affected: 0, rows: 3, error: false }]);
      expect(ends(R, dep, [ok(AC, { affected: 300 })])).toEqual([{ affected: 300, rows: 0, error: false }]);
      // 2^40 affected rows: the 9-byte lenenc form.
      expect(ends(R, dep, [ok(AC, { affected: 2 ** 40 })])).toEqual([{ affected: 2 ** 40, rows: 0, error: false }]);
      expect(ends(R, dep, [err(1146)])).toEqual([{ affected: 0, rows: 0, error: true }]);
    });

    it(`sums rows over multi-results and keeps the last OK's affected rows (deprecateEof=${dep})`, () => {
      const payloads = [
        ...resultSet(dep, ['a'], [textRow(['1']), textRow(['2'])], AC | MORE),
        ...resultSet(dep, ['b'], [textRow(['3'])], AC | MORE),
        ok(AC, { affected: 7 }),
      ];
      expect(ends(R, dep, payloads)).toEqual([{ affected: 7, rows: 3, error: false }]);
    });
  }

  it('a binary row starting with 00 is a row, not an OK', () => {
    expect(ends(R, false, [colCount(1), colDef('a'), eof(AC), binRow([1]), binRow([2]), eof(AC)])).toEqual([{ affected: 0, rows: 2, error: false }]);
  });
});
