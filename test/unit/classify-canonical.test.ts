// host/classify: canonical form and digest. The digest classify() streams must equal FNV-1a 64
// of canonical()'s bytes; statements that differ only in literals or IN-list/VALUES lengths share
// a digest; anything else that changes the statement's shape changes it.
import { describe, expect, it } from 'vitest';
import { canonical, classify, ClassifyResult, digest, digestBigInt, fnv1a64, Fnv64 } from '../../host/classify/index.js';
import { CONNECTORS } from './classify-fixtures/connectors.js';
import { ORMS } from './classify-fixtures/orms.js';
import { DDL, DUMP, SEQUENCES_CALL_PREPARE, SYNTAX, TEMP_AND_LOCKS, TRANSACTIONS, VARIABLES } from './classify-fixtures/statements.js';
import { SYSBENCH } from './classify-fixtures/sysbench.js';

const ALL = [...SYSBENCH, ...CONNECTORS, ...ORMS, ...DDL, ...TEMP_AND_LOCKS, ...SEQUENCES_CALL_PREPARE, ...TRANSACTIONS, ...VARIABLES, ...SYNTAX, ...DUMP].map((c) => c[0]);
const res = new ClassifyResult();

function canon(sql: string): string {
  return canonical(Buffer.from(sql));
}

function classifyDigest(sql: string): bigint {
  const b = Buffer.from(`\x03${sql}`);
  classify(b, 1, b.length, res);
  return digestBigInt(res.digestLo, res.digestHi);
}

describe('FNV-1a 64', () => {
  it('matches the published test vectors', () => {
    expect(fnv1a64(Buffer.from(''))).toBe(0xcbf29ce484222325n);
    expect(fnv1a64(Buffer.from('a'))).toBe(0xaf63dc4c8601ec8cn);
    expect(fnv1a64(Buffer.from('foobar'))).toBe(0x85944171f73967e8n);
  });

  it('the limb implementation equals the BigInt reference', () => {
    const h = new Fnv64();
    for (let n = 0; n < 300; n++) {
      const bytes = Buffer.alloc(n);
      for (let i = 0; i < n; i++) bytes[i] = (i * 131 + n * 7) & 0xff;
      h.reset();
      if (n % 2 === 0) h.range(bytes, 0, n, false);
      else for (const b of bytes) h.byte(b);
      expect(digestBigInt(h.lo, h.hi)).toBe(fnv1a64(bytes));
    }
  });
});

describe('canonical form', () => {
  const CASES: [string, string][] = [
    ['SELECT c FROM sbtest1 WHERE id=5034', 'SELECT c FROM sbtest1 WHERE id = ?'],
    ['select  c\n from\tsbtest1 where id = 1', 'SELECT c FROM sbtest1 WHERE id = ?'],
    ["SELECT * FROM t WHERE a = 'x' AND b = \"y\" AND c = -1.5e3 AND d = 0xFF AND e = X'ab' AND f = b'1'", 'SELECT * FROM t WHERE a = ? AND b = ? AND c = - ? AND d = ? AND e = ? AND f = ?'],
    ['SELECT id FROM t WHERE k IN (1, 2, 3)', 'SELECT id FROM t WHERE k IN (...)'],
    ["SELECT id FROM t WHERE k IN ('a','b')", 'SELECT id FROM t WHERE k IN (...)'],
    ['SELECT id FROM t WHERE k IN (?,?,?,?)', 'SELECT id FROM t WHERE k IN (...)'],
    ['SELECT id FROM t WHERE k NOT IN (-1, NULL, 2)', 'SELECT id FROM t WHERE k NOT IN (...)'],
    ['SELECT id FROM t WHERE k IN (SELECT k FROM u WHERE z = 1)', 'SELECT id FROM t WHERE k IN (SELECT k FROM u WHERE z = ?)'],
    ['SELECT id FROM t WHERE k IN (1, a, 2)', 'SELECT id FROM t WHERE k IN (?, a, ?)'],
    ['SELECT id FROM t WHERE k IN ()', 'SELECT id FROM t WHERE k IN ()'],
    ['SELECT id FROM t WHERE k IN (1, 2', 'SELECT id FROM t WHERE k IN (?, ?'],
    ["INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')", 'INSERT INTO t (a, b) VALUES (?, ?)'],
    ['INSERT INTO t VALUES (1,NOW()),(2,NOW())', 'INSERT INTO t VALUES (?, NOW ())'],
    ["INSERT INTO t (id, v) VALUES (1, 'a') ON DUPLICATE KEY UPDATE v = VALUES(v), w = 2", 'INSERT INTO t (id, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES (v), w = ?'],
    ['SELECT NULL, TRUE, false FROM t WHERE x IS NULL', 'SELECT NULL, TRUE, FALSE FROM t WHERE x IS NULL'],
    ['SELECT 1 -- comment\n/* block */ # hash\n', 'SELECT ?'],
    ['/*!40101 SET NAMES utf8 */;', 'SET NAMES utf8'],
    ['SELECT /*M!100100 1, */ 2', 'SELECT ?, ?'],
    ['SELECT `a`.`b`, t.c, @x, @@session.sql_mode FROM `a`', 'SELECT `a`.`b`, t.c, @x, @@session.sql_mode FROM `a`'],
    ['SELECT COUNT(*) FROM t GROUP BY a ORDER BY b DESC LIMIT 10, 20', 'SELECT COUNT (*) FROM t GROUP BY a ORDER BY b DESC LIMIT ?, ?'],
    ['select 1; select 2;', 'SELECT ?; SELECT ?'],
    ['SELECT 1 ;  ', 'SELECT ?'],
    [';SELECT 1', 'SELECT ?'],
    ['SET autocommit=0', 'SET AUTOCOMMIT = ?'],
    ['SET @x := @y + 1', 'SET @x := @y + ?'],
    ['SELECT a FROM t WHERE b <=> 1 AND c >= 2 AND d != 3 AND e <> 4 OR f || g', 'SELECT a FROM t WHERE b <=> ? AND c >= ? AND d != ? AND e <> ? OR f || g'],
    ["SELECT N'x', _utf8mb4'y'", 'SELECT ?, _utf8mb4 ?'],
    ['SELECT naïve FROM café', 'SELECT naïve FROM café'],
    ['', ''],
    ['-- nothing', ''],
  ];
  it.each(CASES)('%s', (sql, expected) => {
    expect(canon(sql)).toBe(expected);
    expect(classifyDigest(sql)).toBe(fnv1a64(Buffer.from(expected)));
  });
});

describe('digest', () => {
  it('classify() streams the same digest as hashing canonical() for every fixture statement', () => {
    expect(ALL.length).toBeGreaterThanOrEqual(300);
    for (const sql of ALL) {
      const c = canon(sql);
      expect(classifyDigest(sql), sql).toBe(fnv1a64(Buffer.from(c)));
      expect(digest(Buffer.from(sql)), sql).toBe(fnv1a64(Buffer.from(c)));
    }
  });

  const SAME: [string, string][] = [
    ['SELECT c FROM sbtest1 WHERE id=1', 'SELECT c FROM sbtest1 WHERE id = 99999'],
    ['SELECT c FROM sbtest1 WHERE id=1', 'select c from sbtest1 where id=?'],
    ["SELECT * FROM t WHERE a = 'x'", 'SELECT * FROM t WHERE a = "a much longer string with \\" and \'\'"'],
    ['SELECT * FROM t WHERE k IN (1)', 'SELECT * FROM t WHERE k IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40)'],
    ['INSERT INTO t VALUES (1, 2)', 'INSERT INTO t VALUES (3, 4), (5, 6), (7, 8)'],
    ['SELECT 1 /* a comment */', '/* another */ SELECT 2 -- trailing'],
    ['SELECT 0x1F', "SELECT X'ABCD'"],
    ['SELECT 1;', 'SELECT 1'],
  ];
  it.each(SAME)('%s  ==  %s', (a, b) => {
    expect(classifyDigest(a)).toBe(classifyDigest(b));
  });

  const DIFFERENT: [string, string][] = [
    ['SELECT c FROM sbtest1 WHERE id=1', 'SELECT c FROM sbtest2 WHERE id=1'],
    ['SELECT c FROM t WHERE id=1', 'SELECT d FROM t WHERE id=1'],
    ['SELECT * FROM t WHERE a IS NULL', 'SELECT * FROM t WHERE a IS ?'],
    ['SELECT * FROM t WHERE k IN (1, 2)', 'SELECT * FROM t WHERE k IN (a, b)'],
    ['SELECT 1', 'SELECT 1; SELECT 1'],
    ['SELECT a FROM t', 'SELECT `a` FROM t'],
  ];
  it.each(DIFFERENT)('%s  !=  %s', (a, b) => {
    expect(classifyDigest(a)).not.toBe(classifyDigest(b));
  });

  it('a long IN list grows nothing per statement but still collapses', () => {
    const list = Array.from({ length: 5000 }, (_, i) => i).join(', ');
    expect(canon(`SELECT 1 FROM t WHERE a IN (${list})`)).toBe('SELECT ? FROM t WHERE a IN (...)');
    expect(canon(`SELECT 1 FROM t WHERE a IN (${list}, b)`)).toBe(`SELECT ? FROM t WHERE a IN (${Array(5000).fill('?').join(', ')}, b)`);
  });
});
