// Column types over the text and the binary protocol, and prepared statement life cycles, with
// mysql2 and the mariadb connector: every result through the proxy equals the direct one.
import { describe, expect, it } from 'vitest';
import { both, errOf, mariaConn, mysqlConn, stripVolatile, useProxy, type Via } from './clients-helpers.js';

const ports = useProxy();

const TABLE_DDL = (t: string): string => `CREATE OR REPLACE TABLE ${t} (
  id INT PRIMARY KEY,
  ti TINYINT, su SMALLINT UNSIGNED, mi MEDIUMINT, i INT, bi BIGINT, bu BIGINT UNSIGNED,
  de DECIMAL(30,10), f FLOAT, d DOUBLE, bt BIT(10),
  dt DATE, dtm DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(6), yr YEAR,
  vc VARCHAR(100) CHARACTER SET utf8mb4, tx TEXT CHARACTER SET utf8mb4, js JSON, bl BLOB,
  en ENUM('a','b','c'), nul INT NULL
) DEFAULT CHARSET=utf8mb4`;

const ROWS_SQL = (t: string): string => `INSERT INTO ${t} VALUES
  (1, -128, 65535, -8388608, -2147483648, -9223372036854775808, 18446744073709551615,
   '-12345678901234567890.0123456789', 1.5, -2.25e-300, b'1010101010',
   '1000-01-01', '2024-02-29 23:59:59.123456', '2038-01-19 03:14:07.999', '-838:59:59.000000', 1901,
   'héllo wörld 😀 ✓', REPEAT('ü', 3000), '{"a": [1, 2, {"b": null}], "c": "😀"}', x'00ff10e2',
   'b', NULL),
  (2, 127, 0, 8388607, 2147483647, 9223372036854775807, 0,
   '0.0000000001', -3.4e38, 1.7976931348623157e308, b'0',
   '9999-12-31', '1970-01-01 00:00:00.000001', NULL, '12:34:56.789', 2155,
   '', '', '[]', x'', 'c', 7),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL)`;

async function setup(port: number, t: string): Promise<void> {
  const c = await mysqlConn(port, { multipleStatements: true });
  await c.query(`${TABLE_DDL(t)}; ${ROWS_SQL(t)}`);
  await c.end();
}

describe('column types', () => {
  it('mysql2 text and binary protocol read every type identically', async () => {
    const out = await both(ports, async (port, via) => {
      const t = `test.ct_my_${via}`;
      await setup(port, t);
      const res: unknown[] = [];
      for (const opts of [{}, { dateStrings: true, supportBigNumbers: true, bigNumberStrings: true }]) {
        const c = await mysqlConn(port, opts);
        const [text, textFields] = await c.query(`SELECT * FROM ${t} ORDER BY id`);
        const [bin, binFields] = await c.execute(`SELECT * FROM ${t} ORDER BY id`);
        const [binP] = await c.execute(`SELECT * FROM ${t} WHERE id = ? OR bi = ? OR vc = ? ORDER BY id`, [2, '-9223372036854775808', '']);
        res.push(text, bin, binP, (textFields as { name: string; columnType: number }[]).map((f) => [f.name, f.columnType]),
          (binFields as { name: string; columnType: number }[]).map((f) => [f.name, f.columnType]));
        await c.end();
      }
      return stripVolatile(res);
    });
    expect(out.proxy).toEqual(out.direct);
    // Absolute checks (dateStrings/bigNumberStrings run): the data really went through.
    const text = out.proxy[5] as Record<string, unknown>[];
    expect(text).toHaveLength(3);
    expect(text[0]).toMatchObject({ bu: '18446744073709551615', de: '-12345678901234567890.0123456789', vc: 'héllo wörld 😀 ✓', dtm: '2024-02-29 23:59:59.123456', tm: '-838:59:59.000000' });
    expect(text[2]!.nul).toBeNull();
    const bin = out.proxy[6] as Record<string, unknown>[];
    expect(bin[0]).toMatchObject({ bi: '-9223372036854775808', ts: '2038-01-19 03:14:07.999', js: { a: [1, 2, { b: null }], c: '😀' } });
    expect((out.proxy[7] as unknown[]).length).toBe(2);
  });

  it('mariadb connector query and execute read every type identically', async () => {
    const out = await both(ports, async (port, via) => {
      const t = `test.ct_ma_${via}`;
      await setup(port, t);
      const c = await mariaConn(port, { dateStrings: true, bigIntAsNumber: false, decimalAsNumber: false });
      const text = await c.query(`SELECT * FROM ${t} ORDER BY id`);
      const bin = await c.execute(`SELECT * FROM ${t} ORDER BY id`);
      const binP = await c.execute(`SELECT * FROM ${t} WHERE id IN (?, ?) ORDER BY id`, [1, 3]);
      const meta = (text as { meta: { name(): string; type: string }[] }).meta.map((m) => [m.name(), m.type]);
      await c.end();
      return stripVolatile([[...text], [...bin], [...binP], meta]);
    });
    expect(out.proxy).toEqual(out.direct);
    const [text, bin] = out.proxy as Record<string, unknown>[][];
    expect(text![0]).toMatchObject({ bi: '-9223372036854775808n', bu: '18446744073709551615n', tx: 'ü'.repeat(3000) });
    expect(bin![1]).toMatchObject({ i: 2147483647, dtm: '1970-01-01 00:00:00.000001', en: 'c', nul: 7 });
  });

  it('values written through binary parameters read back the same', async () => {
    const out = await both(ports, async (port, via) => {
      const t = `test.ct_params_${via}`;
      const c = await mysqlConn(port, { dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
      await c.query(TABLE_DDL(t));
      const row = [10, -5, 65000, 12345, -1, '9007199254740993', '18446744073709551615', '3.1415926535', 0.5, 1e-10, Buffer.from([0x02, 0x01]),
        '2001-02-03', '2001-02-03 04:05:06.654321', '2001-02-03 04:05:06.5', '-01:02:03.000004', 2000,
        'ça va 🐬', 'x'.repeat(20000), JSON.stringify({ k: 'v' }), Buffer.from('blob\0data'), 'a', null];
      await c.execute(`INSERT INTO ${t} VALUES (${row.map(() => '?').join(',')})`, row);
      const m = await mariaConn(port, { dateStrings: true });
      await m.execute(`INSERT INTO ${t} (id, bi, dtm, vc, bl, nul) VALUES (?, ?, ?, ?, ?, ?)`,
        [11, 123456789012345678n, '1999-12-31 23:59:59.999999', '漢字', Buffer.alloc(300, 7), null]);
      const [rows] = await c.query(`SELECT * FROM ${t} ORDER BY id`);
      await c.end();
      await m.end();
      return stripVolatile(rows);
    });
    expect(out.proxy).toEqual(out.direct);
    const rows = out.proxy as Record<string, unknown>[];
    expect(rows[0]).toMatchObject({ bi: '9007199254740993', dtm: '2001-02-03 04:05:06.654321', tm: '-01:02:03.000004', vc: 'ça va 🐬' });
    expect(rows[1]).toMatchObject({ bi: '123456789012345678', vc: '漢字', dtm: '1999-12-31 23:59:59.999999' });
  });
});

describe('wide results', () => {
  it('300 columns (a 2-byte column count) and 300 parameters, text and binary', async () => {
    const cols = Array.from({ length: 300 }, (_, i) => `${i} * ? AS c${i}`).join(', ');
    const out = await both(ports, async (port) => {
      const c = await mysqlConn(port);
      const [text] = await c.query(`SELECT ${Array.from({ length: 300 }, (_, i) => `${i} AS c${i}`).join(', ')}`);
      const [bin] = await c.execute(`SELECT ${cols}`, Array.from({ length: 300 }, () => 2));
      const m = await mariaConn(port);
      const ma = await m.execute(`SELECT ${cols}`, Array.from({ length: 300 }, () => 3));
      await m.end();
      const [after] = await c.query('SELECT 1 AS ok');
      await c.end();
      return stripVolatile([text, bin, [...ma], after]);
    });
    expect(out.proxy).toEqual(out.direct);
    const [text, bin, ma] = out.proxy as Record<string, unknown>[][];
    expect(Object.keys(text![0]!)).toHaveLength(300);
    expect(bin![0]!.c299).toBe(598);
    expect(ma![0]!.c299).toBe('897n'); // BIGINT from the mariadb connector
  });
});

describe('prepared statements', () => {
  it('mysql2: execute many times, with and without params, close and reuse', async () => {
    const out = await both(ports, async (port) => {
      const c = await mysqlConn(port);
      const res: unknown[] = [];
      for (let i = 0; i < 50; i++) {
        const [r] = await c.execute('SELECT ? AS n, CONCAT(?, ?) AS s, ? IS NULL AS isnull', [i, 'a', i, i % 2 ? null : i]);
        res.push(r);
      }
      const [noParams] = await c.execute('SELECT 1 AS one, @@autocommit AS ac');
      res.push(noParams);
      const stmt = await c.prepare('SELECT ? * 2 AS twice');
      for (const v of [1, 2, 3]) res.push((await stmt.execute([v]))[0]);
      // unprepare = COM_STMT_CLOSE and drop from mysql2's cache (stmt.close() keeps the cache entry).
      c.unprepare('SELECT ? * 2 AS twice');
      const again = await c.prepare('SELECT ? * 2 AS twice');
      res.push((await again.execute([21]))[0]);
      c.unprepare('SELECT ? * 2 AS twice');
      c.unprepare('SELECT ? AS n, CONCAT(?, ?) AS s, ? IS NULL AS isnull');
      res.push((await c.execute('SELECT ? AS n, CONCAT(?, ?) AS s, ? IS NULL AS isnull', [7, 'b', 'c', 1]))[0]);
      res.push(await errOf(c.execute('SELECT * FROM no_such_table_ct WHERE a = ?', [1])));
      res.push(await errOf(c.prepare('SELEC broken ?')));
      res.push((await c.query('SELECT 42 AS after'))[0]);
      await c.end();
      return res;
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy[49]).toEqual([{ n: 49, s: 'a49', isnull: 1 }]);
    expect(out.proxy[53]).toEqual([{ twice: 6 }]);
    expect(out.proxy[54]).toEqual([{ twice: 42 }]);
    expect(out.proxy[56]).toEqual({ errno: 1146, sqlState: '42S02' });
    expect(out.proxy[57]).toEqual({ errno: 1064, sqlState: '42000' });
    expect(out.proxy[58]).toEqual([{ after: 42 }]);
  });

  it('mariadb: prepare, execute, close, pipelined execute, executeBatch', async () => {
    const out = await both(ports, async (port, via: Via) => {
      const t = `test.ps_ma_${via}`;
      const c = await mariaConn(port, { prepareCacheLength: 0 });
      await c.query(`CREATE OR REPLACE TABLE ${t} (id INT PRIMARY KEY, v VARCHAR(20))`);
      const res: unknown[] = [];
      const ins = await c.prepare(`INSERT INTO ${t} VALUES (?, ?)`);
      for (let i = 0; i < 20; i++) res.push(stripVolatile(await ins.execute([i, `v${i}`])));
      ins.close();
      res.push(await errOf(Promise.resolve().then(() => ins.execute([99, 'x']))));
      // Pipelined prepare+execute (statement id -1) from several concurrent calls.
      res.push(stripVolatile(await Promise.all([1, 2, 3].map((i) => c.execute(`SELECT v FROM ${t} WHERE id = ?`, [i])))));
      res.push(stripVolatile(await c.batch(`INSERT INTO ${t} VALUES (?, ?)`, [[100, 'a'], [101, 'b'], [102, null]])));
      const sel = await c.prepare(`SELECT id, v FROM ${t} WHERE id >= ? ORDER BY id`);
      res.push(stripVolatile(await sel.execute([100])), stripVolatile(await sel.execute([19])));
      sel.close();
      res.push(await errOf(c.execute(`SELECT nope FROM ${t} WHERE id = ?`, [1])));
      res.push(stripVolatile(await c.query(`SELECT COUNT(*) AS n FROM ${t}`)));
      await c.end();
      return res;
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy[21]).toEqual([[{ v: 'v1' }], [{ v: 'v2' }], [{ v: 'v3' }]]);
    expect(out.proxy[23]).toEqual([{ id: 100, v: 'a' }, { id: 101, v: 'b' }, { id: 102, v: null }]);
    expect(out.proxy[25]).toEqual({ errno: 1054, sqlState: '42S22' });
    expect(out.proxy[26]).toEqual([{ n: '23n' }]);
  });

  it('COM_STMT_SEND_LONG_DATA (mariadb execute with a stream and a large buffer)', async () => {
    const { Readable } = await import('node:stream');
    const out = await both(ports, async (port, via) => {
      const t = `test.ps_long_${via}`;
      const c = await mariaConn(port);
      await c.query(`CREATE OR REPLACE TABLE ${t} (id INT PRIMARY KEY, b LONGBLOB, s LONGTEXT)`);
      const big = Buffer.alloc(3 * 1024 * 1024 + 17, 0x5a);
      const stream = Readable.from([Buffer.from('chunk-one;'), Buffer.from('chunk-two;'), Buffer.alloc(100_000, 0x61)]);
      const stmt = await c.prepare(`INSERT INTO ${t} VALUES (?, ?, ?)`);
      await stmt.execute([1, big, stream]);
      await stmt.execute([2, Buffer.alloc(20_000, 1), 'short']);
      stmt.close();
      const rows = await c.query(`SELECT id, LENGTH(b) AS lb, SHA1(b) AS hb, LENGTH(s) AS ls, LEFT(s, 20) AS head FROM ${t} ORDER BY id`);
      await c.end();
      return stripVolatile([...rows]);
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy).toMatchObject([{ id: 1, lb: 3 * 1024 * 1024 + 17, ls: 100_020, head: 'chunk-one;chunk-two;' }, { id: 2, lb: 20_000, ls: 5 }]);
  });
});
