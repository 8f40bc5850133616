// host/protocol/result-merge.ts on replies built byte by byte: the union of several servers'
// text result sets as one reply (schemarouter's SHOW DATABASES), in both EOF styles.
import { describe, expect, it } from 'vitest';
import { decodeErr, encodeEof, encodeErr, encodeOk } from '../../host/protocol/ok-err.js';
import { mergeResultSets, parseReply, parseResultSet } from '../../host/protocol/result-merge.js';
import { packets as splitPackets } from '../../host/protocol/result-set.js';
import { framePacket } from '../../host/protocol/writer.js';

const MORE_RESULTS = 0x0008;
const AUTOCOMMIT = 0x0002;

function frame(payloads: Buffer[], seq = 1): Buffer {
  const out: Buffer[] = [];
  for (const p of payloads) {
    const f = framePacket(p, seq);
    out.push(f.bytes);
    seq = f.nextSeq;
  }
  return Buffer.concat(out);
}

function lenencStr(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length]), b]);
}

/** A column definition packet (catalog def, the rest minimal). */
function colDef(name: string): Buffer {
  return Buffer.concat([lenencStr('def'), lenencStr(''), lenencStr(''), lenencStr(''), lenencStr(name), lenencStr(''),
    Buffer.from([0x0c, 0x21, 0x00, 0x00, 0x01, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00])]);
}

function deprecateEofEnd(status: number, warnings = 0): Buffer {
  const ok = encodeOk({ status, warnings });
  ok[0] = 0xfe;
  return ok;
}

/** A one-column result set reply (SHOW DATABASES). */
function showDatabases(dbs: string[], deprecateEof: boolean, status = AUTOCOMMIT, warnings = 0): Buffer {
  const p = [Buffer.from([1]), colDef('Database')];
  if (!deprecateEof) p.push(encodeEof(status));
  for (const d of dbs) p.push(lenencStr(d));
  p.push(deprecateEof ? deprecateEofEnd(status, warnings) : encodeEof(status, warnings));
  return frame(p);
}

function rowsOf(reply: Buffer, deprecateEof: boolean): string[] {
  const rs = parseResultSet(reply, deprecateEof);
  if (!rs) throw new Error('not a result set');
  return rs.rows.map((r) => r.subarray(1).toString('utf8'));
}

function seqs(reply: Buffer): number[] {
  const out: number[] = [];
  for (let at = 0; at + 4 <= reply.length; at += 4 + reply.readUIntLE(at, 3)) out.push(reply[at + 3]!);
  return out;
}

describe('mergeResultSets', () => {
  for (const eof of [false, true]) {
    it(`unions the rows, each byte-equal row once, first reply's order first (DEPRECATE_EOF ${eof})`, () => {
      const a = showDatabases(['information_schema', 'mysql', 'shard_a', 'test'], eof);
      const b = showDatabases(['information_schema', 'mysql', 'shard_b', 'test'], eof);
      const out = mergeResultSets([a, b], { inDeprecateEof: eof, outDeprecateEof: eof, firstSeq: 1 });
      expect(rowsOf(out, eof)).toEqual(['information_schema', 'mysql', 'shard_a', 'test', 'shard_b']);
      // header (count + 1 column) [+ EOF] + 5 rows + terminator, numbered from 1 without gaps
      const n = 2 + (eof ? 0 : 1) + 5 + 1;
      expect(seqs(out)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      // the header is the first reply's, byte for byte
      expect(splitPackets(out).slice(0, 2)).toEqual(splitPackets(a).slice(0, 2));
    });
  }

  it('converts the terminators when the client and the servers differ in DEPRECATE_EOF', () => {
    const a = showDatabases(['x'], false);
    const b = showDatabases(['y'], false);
    const out = mergeResultSets([a, b], { inDeprecateEof: false, outDeprecateEof: true, firstSeq: 1 });
    const packets = splitPackets(out);
    expect(packets).toHaveLength(2 + 2 + 1); // no EOF after the column definitions
    expect(packets.at(-1)![0]).toBe(0xfe);
    expect(packets.at(-1)!.length).toBeGreaterThanOrEqual(7); // OK-style, not a 5-byte EOF
    expect(rowsOf(out, true)).toEqual(['x', 'y']);
    const back = mergeResultSets([showDatabases(['x'], true), showDatabases(['y'], true)], { inDeprecateEof: true, outDeprecateEof: false, firstSeq: 1 });
    expect(rowsOf(back, false)).toEqual(['x', 'y']);
    expect(splitPackets(back)[2]).toEqual(encodeEof(AUTOCOMMIT, 0));
  });

  it('keeps the first reply\'s status without "more results", and sums warnings', () => {
    const a = showDatabases(['x'], true, AUTOCOMMIT | MORE_RESULTS, 1);
    const b = showDatabases(['y'], true, AUTOCOMMIT, 2);
    const out = mergeResultSets([a, b], { inDeprecateEof: true, outDeprecateEof: true, firstSeq: 1 });
    const rs = parseResultSet(out, true)!;
    expect(rs.status).toBe(AUTOCOMMIT);
    expect(rs.warnings).toBe(3);
  });

  it('an ERR in any reply is the answer, renumbered', () => {
    const err = encodeErr({ code: 1227, sqlState: '42000' }, 'Access denied');
    const out = mergeResultSets([showDatabases(['x'], true), frame([err])], { inDeprecateEof: true, outDeprecateEof: true, firstSeq: 5 });
    expect(out).toEqual(frame([err], 5));
  });

  it('replies that are not result sets: the first one, renumbered', () => {
    const ok = encodeOk({ status: AUTOCOMMIT, affectedRows: 1 });
    expect(mergeResultSets([frame([ok]), frame([ok])], { inDeprecateEof: true, outDeprecateEof: true, firstSeq: 1 })).toEqual(frame([ok]));
  });

  it('a row whose bytes differ (case, trailing byte) is not a duplicate', () => {
    const out = mergeResultSets([showDatabases(['Db'], true), showDatabases(['db', 'Db', 'db '], true)], { inDeprecateEof: true, outDeprecateEof: true, firstSeq: 1 });
    expect(rowsOf(out, true)).toEqual(['Db', 'db', 'db ']);
  });

  it('parseResultSet refuses truncated replies and ERR in the rows', () => {
    const full = showDatabases(['x', 'y'], true);
    expect(parseResultSet(full.subarray(0, full.length - 11), true)).toBeNull();
    const withErr = frame([Buffer.from([1]), colDef('Database'), lenencStr('x'), encodeErr({ code: 1317, sqlState: '70100' }, 'interrupted')]);
    expect(parseResultSet(withErr, true)).toBeNull();
  });

  for (const eof of [false, true]) {
    it(`multi-result replies are merged result by result, chained by "more results" (DEPRECATE_EOF ${eof})`, () => {
      // SHOW DATABASES; SELECT @@server_id; SET @a = 1 on two servers: two result sets and an OK each
      const reply = (dbs: string[], id: string): Buffer => {
        const p = [Buffer.from([1]), colDef('Database')];
        if (!eof) p.push(encodeEof(AUTOCOMMIT | MORE_RESULTS));
        for (const d of dbs) p.push(lenencStr(d));
        p.push(eof ? deprecateEofEnd(AUTOCOMMIT | MORE_RESULTS) : encodeEof(AUTOCOMMIT | MORE_RESULTS));
        p.push(Buffer.from([1]), colDef('@@server_id'));
        if (!eof) p.push(encodeEof(AUTOCOMMIT | MORE_RESULTS));
        p.push(lenencStr(id));
        p.push(eof ? deprecateEofEnd(AUTOCOMMIT | MORE_RESULTS, 1) : encodeEof(AUTOCOMMIT | MORE_RESULTS, 1));
        p.push(encodeOk({ status: AUTOCOMMIT }));
        return frame(p);
      };
      const out = mergeResultSets([reply(['mysql', 'shard_a'], '1'), reply(['mysql', 'shard_b'], '2')], { inDeprecateEof: eof, outDeprecateEof: eof, firstSeq: 1 });
      const parts = parseReply(out, eof)!;
      expect(parts).toHaveLength(3);
      const text = (rows: Buffer[]) => rows.map((r) => r.subarray(1).toString('utf8'));
      expect(text(parts[0]!.set!.rows)).toEqual(['mysql', 'shard_a', 'shard_b']);
      expect(parts[0]!.set!.status).toBe(AUTOCOMMIT | MORE_RESULTS);
      expect(text(parts[1]!.set!.rows)).toEqual(['1', '2']);
      expect(parts[1]!.set!.warnings).toBe(2);
      expect(parts[1]!.set!.status).toBe(AUTOCOMMIT | MORE_RESULTS);
      expect(parts[2]!.packet).toEqual(encodeOk({ status: AUTOCOMMIT }));
      expect(seqs(out)).toEqual(Array.from({ length: seqs(out).length }, (_, i) => i + 1));
    });
  }

  it('an ERR at a later result ends the merged reply there, after the results before it', () => {
    const first = (status: number) => [Buffer.from([1]), colDef('Database'), lenencStr('x'), deprecateEofEnd(status)];
    const err = encodeErr({ code: 1146, sqlState: '42S02' }, "Table 'x.t' doesn't exist");
    const a = frame([...first(AUTOCOMMIT | MORE_RESULTS), Buffer.from([1]), colDef('c'), lenencStr('1'), deprecateEofEnd(AUTOCOMMIT)]);
    const b = frame([...first(AUTOCOMMIT | MORE_RESULTS), err]);
    const out = mergeResultSets([a, b], { inDeprecateEof: true, outDeprecateEof: true, firstSeq: 1 });
    const parts = parseReply(out, true)!;
    expect(parts).toHaveLength(2);
    expect(parts[0]!.set!.status & MORE_RESULTS).toBe(MORE_RESULTS);
    expect(parts[1]!.packet).toEqual(err);
  });

  it('results the servers answered differently end in ERR 1105 instead of a wrong merge', () => {
    const set = (more: boolean) => [Buffer.from([1]), colDef('Database'), lenencStr('x'), deprecateEofEnd(AUTOCOMMIT | (more ? MORE_RESULTS : 0))];
    const a = frame([...set(true), encodeOk({ status: AUTOCOMMIT })]);
    const b = frame(set(false));
    const out = mergeResultSets([a, b], { inDeprecateEof: true, outDeprecateEof: true, firstSeq: 1 });
    const parts = parseReply(out, true)!;
    expect(parts).toHaveLength(2);
    expect(parts[0]!.set!.status & MORE_RESULTS).toBe(MORE_RESULTS);
    const e = decodeErr(parts[1]!.packet!);
    expect(e.code).toBe(1105);
    expect(e.sqlState).toBe('HY000');
    expect(e.message).toMatch(/different numbers of results/);
  });
});
