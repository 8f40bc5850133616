// host/classify: the byte lexer, routing hints, name helpers, and robustness on garbage:
// random bytes and truncated statements never throw and never loop.
import { describe, expect, it } from 'vitest';
import {
  canonical, classify, ClassifyResult, digest, fnv1a64, Hint, Kind, Kw, preparedName, preparedText, tableNames, Flag,
} from '../../host/classify/index.js';
import {
  Lexer, T_COMMENT, T_END, T_HEX, T_NUMBER, T_PARAM, T_PUNCT, T_QIDENT, T_STRING, T_SYSVAR, T_VAR, T_WORD,
  SCOPE_GLOBAL, SCOPE_SESSION, P_ASSIGN, P_NULLSAFE,
} from '../../host/classify/lexer.js';
import { CONNECTORS } from './classify-fixtures/connectors.js';
import { ORMS } from './classify-fixtures/orms.js';
import { DDL, DUMP, SEQUENCES_CALL_PREPARE, SYNTAX, TEMP_AND_LOCKS, TRANSACTIONS, VARIABLES } from './classify-fixtures/statements.js';
import { SYSBENCH } from './classify-fixtures/sysbench.js';
import { rng } from '../harness/rng.js';

const ALL = [...SYSBENCH, ...CONNECTORS, ...ORMS, ...DDL, ...TEMP_AND_LOCKS, ...SEQUENCES_CALL_PREPARE, ...TRANSACTIONS, ...VARIABLES, ...SYNTAX, ...DUMP].map((c) => c[0]);
const res = new ClassifyResult();

/** [type, text] of every token. */
function tokens(sql: string): [number, string][] {
  const lx = new Lexer();
  const b = Buffer.from(sql);
  lx.reset(b, 0, b.length);
  const out: [number, string][] = [];
  for (let t = lx.next(); t !== T_END; t = lx.next()) out.push([t, b.subarray(lx.start, lx.stop).toString()]);
  return out;
}

describe('lexer', () => {
  it('splits tokens and keeps quotes, escapes and comments apart', () => {
    expect(tokens("SELECT a,'it''s \\' x',`b``c`, \"d\\\"e\" FROM t -- c\n# h\n/* b */")).toEqual([
      [T_WORD, 'SELECT'], [T_WORD, 'a'], [T_PUNCT, ','], [T_STRING, "'it''s \\' x'"], [T_PUNCT, ','],
      [T_QIDENT, '`b``c`'], [T_PUNCT, ','], [T_STRING, '"d\\"e"'], [T_WORD, 'FROM'], [T_WORD, 't'],
      [T_COMMENT, ' c'], [T_COMMENT, ' h'], [T_COMMENT, ' b '],
    ]);
  });

  it('numbers, hex and bit literals, identifiers that start with digits', () => {
    expect(tokens("1 1.5 .5 1e10 2E-3 0x1f X'0A' x'' b'01' 0b10 123abc 0xzz t.5")).toEqual([
      [T_NUMBER, '1'], [T_NUMBER, '1.5'], [T_NUMBER, '.5'], [T_NUMBER, '1e10'], [T_NUMBER, '2E-3'],
      [T_HEX, '0x1f'], [T_HEX, "X'0A'"], [T_HEX, "x''"], [T_HEX, "b'01'"], [T_HEX, '0b10'],
      [T_WORD, '123abc'], [T_WORD, '0xzz'], [T_WORD, 't'], [T_PUNCT, '.'], [T_NUMBER, '5'],
    ]);
  });

  it('variables, system variables with scope, user@host', () => {
    const lx = new Lexer();
    const b = Buffer.from("@x @`a b` @@version @@GLOBAL.max_connections @@session.autocommit 'u'@'h' u@h");
    lx.reset(b, 0, b.length);
    const seen: [number, string, number][] = [];
    for (let t = lx.next(); t !== T_END; t = lx.next()) seen.push([t, b.subarray(lx.start, lx.stop).toString(), t === T_SYSVAR ? lx.scope : -1]);
    expect(seen).toEqual([
      [T_VAR, '@x', -1], [T_VAR, '@`a b`', -1], [T_SYSVAR, '@@version', 0], [T_SYSVAR, '@@GLOBAL.max_connections', SCOPE_GLOBAL],
      [T_SYSVAR, '@@session.autocommit', SCOPE_SESSION], [T_STRING, "'u'", -1], [T_PUNCT, '@', -1], [T_STRING, "'h'", -1],
      [T_WORD, 'u', -1], [T_PUNCT, '@', -1], [T_WORD, 'h', -1],
    ]);
  });

  it('operators and placeholders', () => {
    const lx = new Lexer();
    const b = Buffer.from('a:=b<=>c ? ->>');
    lx.reset(b, 0, b.length);
    const codes: number[] = [];
    for (let t = lx.next(); t !== T_END; t = lx.next()) codes.push(t === T_PUNCT ? lx.code : -t);
    expect(codes).toEqual([-T_WORD, P_ASSIGN, -T_WORD, P_NULLSAFE, -T_WORD, -T_PARAM, 264]);
  });

  it('executable comments are SQL, their markers vanish', () => {
    expect(tokens('/*!40101 SET x=1 */ /*M!100100 a */ /*!b*/ /*M!c*/').map((t) => t[1])).toEqual(['SET', 'x', '=', '1', 'a', 'b', 'c']);
    expect(tokens('/*!1 */')).toEqual([[T_NUMBER, '1']]);
  });

  it('stops at the given end and never reads beyond it', () => {
    const b = Buffer.from("SELECT 'abc' FROM t");
    const lx = new Lexer();
    lx.reset(b, 0, 10); // cuts the string
    const out: string[] = [];
    for (let t = lx.next(); t !== T_END; t = lx.next()) out.push(b.subarray(lx.start, lx.stop).toString());
    expect(out).toEqual(['SELECT', "'ab"]);
  });
});

describe('keywords', () => {
  const names = Object.keys(Kw).filter((k) => Number.isNaN(Number(k)) && k !== 'NONE');
  const look = (w: string) => {
    const b = Buffer.from(w);
    const lx = new Lexer();
    lx.reset(b, 0, b.length);
    lx.next();
    return lx.stop === b.length ? lx.kw : -1;
  };
  it('every keyword is found in any case', () => {
    for (const n of names) {
      const id = (Kw as unknown as Record<string, number>)[n]!;
      expect(look(n)).toBe(id);
      expect(look(n.toLowerCase())).toBe(id);
      expect(look(n.split('').map((c, i) => (i % 2 ? c.toLowerCase() : c)).join(''))).toBe(id);
    }
  });
  it('near misses are identifiers', () => {
    for (const n of names) {
      for (const w of [n.slice(1), `${n}_`, `${n}1`, `x${n}`, `${n.slice(0, -1)}\u00e9`, n.replace(/[A-Z]/, '0')]) {
        if (names.includes(w.toUpperCase())) continue;
        expect(look(w), w).toBeLessThanOrEqual(0);
      }
    }
  });
});

describe('routing hints', () => {
  const CASES: [string, number, string | null][] = [
    ['SELECT 1 -- wasmscale route to master', Hint.MASTER, null],
    ['SELECT 1 -- wasmscale route to slave', Hint.SLAVE, null],
    ['SELECT 1 /* wasmscale route to server db2 */', Hint.SERVER, 'db2'],
    ['-- maxscale route to server server-3\nSELECT 1', Hint.SERVER, 'server-3'],
    ['SELECT 1 # maxscale route to master', Hint.MASTER, null],
    ['SELECT 1 /*WASMSCALE ROUTE TO REPLICA*/', Hint.SLAVE, null],
    ['SELECT 1 -- maxscale route to primary', Hint.MASTER, null],
    ['SELECT 1 -- maxscale route to last', Hint.LAST, null],
    ['SELECT 1 -- wasmscale route to server', Hint.NONE, null],
    ['SELECT 1 -- wasmscale route to nowhere', Hint.NONE, null],
    ['SELECT 1 -- maxscale routes to master', Hint.NONE, null],
    ['SELECT 1 -- just a comment', Hint.NONE, null],
    ["SELECT '-- wasmscale route to master'", Hint.NONE, null],
    ['SELECT 1 /* wasmscale route to slave */ -- wasmscale route to master', Hint.SLAVE, null],
    ['/*!40101 SELECT 1 */ -- wasmscale route to server db1', Hint.SERVER, 'db1'],
  ];
  it.each(CASES)('%s', (sql, hint, name) => {
    const b = Buffer.from(`\x03${sql}`);
    classify(b, 1, b.length, res);
    expect(res.hint).toBe(hint);
    expect((res.flags & Flag.HINT) !== 0).toBe(hint !== Hint.NONE);
    expect(res.kind).toBe(Kind.READ);
    if (name !== null) expect(b.subarray(res.hintStart, res.hintEnd).toString()).toBe(name);
  });
});

describe('names', () => {
  const TABLES: [string, string[]][] = [
    ['CREATE TEMPORARY TABLE tmp1 (id INT)', ['tmp1']],
    ['CREATE TEMPORARY TABLE IF NOT EXISTS `app`.`tmp 2` AS SELECT * FROM t1', ['app.tmp 2', 't1']],
    ['DROP TEMPORARY TABLE IF EXISTS tmp1, `tmp2`, db.tmp3', ['tmp1', 'tmp2', 'db.tmp3']],
    ['SELECT * FROM tmp1 JOIN t2 ON tmp1.id = t2.id', ['tmp1', 't2']],
    ['SELECT a FROM t1 AS x, t2 y, db.t3 WHERE 1', ['t1', 't2', 'db.t3']],
    ['SELECT * FROM (SELECT * FROM inner_t) AS d', ['inner_t']],
    ['UPDATE LOW_PRIORITY t1 SET a = 1', ['t1']],
    ['INSERT INTO db.t1 (a) SELECT a FROM t2', ['db.t1', 't2']],
    ['DELETE FROM t1 WHERE id IN (SELECT id FROM t2)', ['t1', 't2']],
    ['LOCK TABLES t1 READ, t2 WRITE', ['t1', 't2']],
    ['SELECT * FROM t1 FOR UPDATE', ['t1']],
    ["SELECT * FROM t1 INTO OUTFILE '/tmp/x'", ['t1']],
    ['SELECT 1 FROM DUAL', []],
    ['SELECT @x', []],
    ['TRUNCATE TABLE t9', ['t9']],
    ['DESCRIBE t1', ['t1']],
    ['INSERT INTO t1 VALUES (1) ON DUPLICATE KEY UPDATE a = 2', ['t1']],
    ['WITH c AS (SELECT 1) UPDATE t1 SET a = 1', ['t1']],
  ];
  it.each(TABLES)('tableNames(%s)', (sql, names) => {
    expect(tableNames(Buffer.from(sql))).toEqual(names);
  });

  it('preparedName and preparedText', () => {
    const b = (s: string) => Buffer.from(s);
    expect(preparedName(b("PREPARE Stmt1 FROM 'SELECT 1'"))).toBe('stmt1');
    expect(preparedName(b('EXECUTE stmt1 USING @a'))).toBe('stmt1');
    expect(preparedName(b('DEALLOCATE PREPARE `My Stmt`'))).toBe('my stmt');
    expect(preparedName(b('DROP PREPARE s2'))).toBe('s2');
    expect(preparedName(b("EXECUTE IMMEDIATE 'SELECT 1'"))).toBeNull();
    expect(preparedName(b('DROP TABLE s2'))).toBeNull();
    expect(preparedName(b('SELECT 1'))).toBeNull();
    expect(preparedText(b("PREPARE s FROM 'SELECT * FROM t WHERE a = ''x'' AND b = \\'y\\''"))).toEqual(
      { name: 's', text: "SELECT * FROM t WHERE a = 'x' AND b = 'y'", variable: null });
    expect(preparedText(b('/* c */ PREPARE s FROM @sql'))).toEqual({ name: 's', text: null, variable: 'sql' });
    expect(preparedText(b('EXECUTE s'))).toBeNull();
  });
});

describe('robustness', () => {
  it('empty input is kind 0 with no flags', () => {
    classify(Buffer.alloc(0), 0, 0, res);
    expect([res.kind, res.flags, res.statements]).toEqual([Kind.UNKNOWN, 0, 0]);
    const b = Buffer.from('SELECT 1');
    classify(b, 3, 3, res);
    expect([res.kind, res.flags]).toEqual([0, 0]);
    classify(b, 5, 2, res); // end before start
    expect(res.kind).toBe(0);
    classify(b, 0, 1000, res); // end past the buffer
    expect(res.kind).toBe(Kind.READ);
  });

  it('random bytes never throw or loop', () => {
    const next = rng(42);
    const alphabet = Buffer.from("SELECTFROMWHEREINSETUPDATE@@`'\"\\/*!M-#;(),.=:?0123456789 \n\tabcxyz_\x00\xff\xc3\xa9");
    const lx = new Lexer();
    for (let i = 0; i < 20000; i++) {
      const n = Math.floor(next() * 120);
      const b = Buffer.alloc(n);
      const raw = i % 3 === 0;
      for (let j = 0; j < n; j++) b[j] = raw ? Math.floor(next() * 256) : alphabet[Math.floor(next() * alphabet.length)]!;
      classify(b, 0, n, res);
      expect(res.kind).toBeGreaterThanOrEqual(0);
      expect(res.kind).toBeLessThanOrEqual(7);
      lx.reset(b, 0, n);
      let count = 0;
      while (lx.next() !== T_END) expect(++count).toBeLessThanOrEqual(n);
      canonical(b);
      digest(b);
      tableNames(b);
      preparedName(b);
    }
  });

  it('every prefix of every fixture statement classifies, and its digest matches its canonical form', () => {
    for (const sql of ALL) {
      const b = Buffer.from(sql);
      const ascii = !/[^\x00-\x7f]/.test(sql);
      for (let end = 0; end <= b.length; end++) {
        classify(b, 0, end, res);
        if (ascii) expect(fnv1a64(Buffer.from(canonical(b, 0, end)))).toBe((BigInt(res.digestHi) << 32n) | BigInt(res.digestLo));
      }
    }
  });
});
