// Multi-statements, multi-result sets, stored procedures, empty and huge result sets, OK packet
// contents (affected rows, insert id, info, warnings): proxy results equal direct ones.
import { describe, expect, it } from 'vitest';
import { both, errOf, mariaConn, mysqlConn, stripVolatile, useProxy } from './clients-helpers.js';

const ports = useProxy();
/** The callback connection under mysql2's promise wrapper (it has .stream()); untyped there. */
const core = (c: unknown): import('mysql2').Connection => (c as { connection: import('mysql2').Connection }).connection;

describe('multi-statements and multi-result sets', () => {
  it('mysql2 multipleStatements: mixed OK, result sets, empty sets, error in the middle', async () => {
    const out = await both(ports, async (port, via) => {
      const t = `test.mr_${via}`;
      const c = await mysqlConn(port, { multipleStatements: true });
      const res: unknown[] = [];
      res.push((await c.query(`CREATE OR REPLACE TABLE ${t} (id INT AUTO_INCREMENT PRIMARY KEY, v INT);
        INSERT INTO ${t} (v) VALUES (1),(2),(3); SELECT * FROM ${t} WHERE v > 10; SELECT id, v FROM ${t} ORDER BY id;
        UPDATE ${t} SET v = v + 1 WHERE v >= 2; SELECT 'x' AS a, NULL AS b; DO 1`))[0]);
      res.push(await errOf(c.query(`SELECT 1; SELECT * FROM no_such_table_mr; SELECT 3`)));
      // The connection is usable and in sync after the error that cut the batch short.
      res.push((await c.query('SELECT 4 AS four; SELECT 5 AS five'))[0]);
      await c.end();
      return stripVolatile(res);
    });
    expect(out.proxy).toEqual(out.direct);
    const first = out.proxy[0] as unknown[];
    expect(first).toHaveLength(7);
    expect(first[1]).toMatchObject({ affectedRows: 3, insertId: 1, info: 'Records: 3  Duplicates: 0  Warnings: 0' });
    expect(first[2]).toEqual([]);
    expect(first[4]).toMatchObject({ affectedRows: 2, changedRows: 2 });
    expect(out.proxy[1]).toEqual({ errno: 1146, sqlState: '42S02' });
    expect(out.proxy[2]).toEqual([[{ four: 4 }], [{ five: 5 }]]);
  });

  it('without the multi-statements capability a batch is a syntax error, as directly', async () => {
    const out = await both(ports, async (port) => {
      const c = await mysqlConn(port, { multipleStatements: false });
      const res = [await errOf(c.query('SELECT 1; SELECT 2')), (await c.query('SELECT 3 AS three'))[0]];
      await c.end();
      return res;
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy).toEqual([{ errno: 1064, sqlState: '42000' }, [{ three: 3 }]]);
  });

  it('mariadb connector multipleStatements', async () => {
    const out = await both(ports, async (port) => {
      const c = await mariaConn(port, { multipleStatements: true });
      const r = await c.query(`SELECT 1 AS a; SET @x = 5; SELECT @x AS x, 'é' AS e; SELECT 1 FROM DUAL WHERE 0`);
      const e = await errOf(c.query('SELECT 1; SELEC 2'));
      const after = await c.query('SELECT 6 AS six');
      await c.end();
      return stripVolatile([r, e, after]);
    });
    expect(out.proxy).toEqual(out.direct);
    expect((out.proxy[0] as unknown[])[2]).toEqual([{ x: '5n', e: 'é' }]);
    expect(out.proxy[1]).toEqual({ errno: 1064, sqlState: '42000' });
  });

  it('stored procedure returning several result sets, text and prepared', async () => {
    const setup = await mysqlConn(ports.direct);
    await setup.query('DROP PROCEDURE IF EXISTS test.mr_proc');
    await setup.query(`CREATE PROCEDURE test.mr_proc(IN n INT, OUT total INT)
      BEGIN
        SELECT n AS n_in;
        SELECT seq AS s, seq * n AS m FROM seq_1_to_5;
        SELECT 1 FROM DUAL WHERE 0;
        SET total = n * 10;
      END`);
    await setup.end();
    const out = await both(ports, async (port) => {
      const res: unknown[] = [];
      const c = await mysqlConn(port);
      res.push((await c.query('CALL test.mr_proc(3, @t)'))[0]);
      res.push((await c.query('SELECT @t AS t'))[0]);
      res.push((await c.execute('CALL test.mr_proc(?, @t)', [4]))[0]);
      res.push((await c.execute('CALL test.mr_proc(?, @t)', [5]))[0]);
      res.push(await errOf(c.query('CALL test.mr_no_such_proc()')));
      await c.end();
      const m = await mariaConn(port);
      res.push(await m.query('CALL test.mr_proc(6, @t)'));
      res.push(await m.execute('CALL test.mr_proc(?, ?)', [7, null]));
      res.push(await m.query('SELECT @t AS t'));
      await m.end();
      return stripVolatile(res);
    });
    expect(out.proxy).toEqual(out.direct);
    const text = out.proxy[0] as unknown[];
    expect(text[0]).toEqual([{ n_in: 3 }]);
    expect(text[1]).toHaveLength(5);
    expect(text[2]).toEqual([]);
    expect(out.proxy[1]).toEqual([{ t: 30 }]);
    expect((out.proxy[3] as unknown[][])[1]![4]).toEqual({ s: 5, m: 25 });
    expect(out.proxy[4]).toEqual({ errno: 1305, sqlState: '42000' });
  });

  it('warnings, info, affected rows and insert ids', async () => {
    const out = await both(ports, async (port, via) => {
      const t = `test.ok_${via}`;
      const res: unknown[] = [];
      const c = await mysqlConn(port);
      await c.query(`CREATE OR REPLACE TABLE ${t} (id BIGINT AUTO_INCREMENT PRIMARY KEY, v TINYINT, s VARCHAR(3)) AUTO_INCREMENT = 5000000000`);
      res.push((await c.query({ sql: `INSERT IGNORE INTO ${t} (v, s) VALUES (300, 'abcdef'), (1, 'a')` }))[0]);
      res.push((await c.query('SHOW WARNINGS'))[0]);
      res.push((await c.execute(`INSERT INTO ${t} (v, s) VALUES (?, ?)`, [2, 'b']))[0]);
      res.push((await c.query(`UPDATE ${t} SET v = 3 WHERE v < 5`))[0]);
      res.push((await c.query(`DELETE FROM ${t} WHERE id > 0`))[0]);
      res.push((await c.query('SELECT 1 + "x" AS w'))[0], (await c.query('SELECT @@warning_count AS wc'))[0]);
      await c.end();
      const m = await mariaConn(port);
      res.push(await m.query(`INSERT INTO ${t} (v) VALUES (9)`));
      res.push(await m.query('SELECT CAST("12abc" AS INT) AS ci'));
      res.push(await m.query('SHOW WARNINGS'));
      res.push(await m.query(`SELECT * FROM ${t} WHERE id < 0`));
      await m.end();
      return stripVolatile(res);
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy[0]).toMatchObject({ affectedRows: 2, insertId: 5000000000, warningStatus: 2 });
    expect(out.proxy[1]).toHaveLength(2);
    expect(out.proxy[2]).toMatchObject({ affectedRows: 1, insertId: 5000000002 });
    expect(out.proxy[3]).toMatchObject({ affectedRows: 2, info: 'Rows matched: 2  Changed: 2  Warnings: 0' });
    expect(out.proxy[4]).toMatchObject({ affectedRows: 3 });
    expect(out.proxy[7]).toMatchObject({ affectedRows: 1, insertId: '5000000003n' });
    expect(out.proxy[10]).toEqual([]);
  });
});

describe('large result sets', () => {
  const N = 100_000;
  const SQL = `SELECT seq AS id, CONCAT('row-', seq) AS label, seq * 1.5 AS f, IF(seq % 7 = 0, NULL, seq) AS maybe FROM seq_1_to_${N}`;

  it('100k rows streamed with mysql2 .stream() and mariadb queryStream', async () => {
    const digest = async (rows: AsyncIterable<Record<string, unknown>>): Promise<{ n: number; sum: number; nulls: number; last: unknown }> => {
      let n = 0, sum = 0, nulls = 0;
      let last: unknown;
      for await (const r of rows) {
        n++;
        sum += Number(r.id) + Number(r.f) + String(r.label).length;
        if (r.maybe === null) nulls++;
        last = r;
      }
      return { n, sum, nulls, last };
    };
    const out = await both(ports, async (port) => {
      const c = await mysqlConn(port);
      const my = await digest(core(c).query(SQL).stream() as unknown as AsyncIterable<Record<string, unknown>>);
      const myBin = await c.execute(`${SQL} WHERE seq > ?`, [N - 1000]);
      await c.end();
      const m = await mariaConn(port);
      const ma = await digest(m.queryStream(SQL) as unknown as AsyncIterable<Record<string, unknown>>);
      const after = await m.query('SELECT 1 AS ok');
      await m.end();
      return stripVolatile({ my, myBin: (myBin[0] as unknown[]).length, ma, after });
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy.my.n).toBe(N);
    expect(out.proxy.my.nulls).toBe(Math.floor(N / 7));
    expect(out.proxy.my.last).toEqual({ id: N, label: `row-${N}`, f: '150000.0', maybe: N });
    expect(out.proxy.ma.n).toBe(N);
    expect(out.proxy.myBin).toBe(1000);
  });

  it('a slow consumer (backpressure through the proxy) still gets every row in order', async () => {
    const out = await both(ports, async (port) => {
      const c = await mysqlConn(port);
      const stream = core(c).query(`SELECT seq, REPEAT('z', 200) AS pad FROM seq_1_to_${N}`).stream();
      let n = 0, inOrder = true;
      for await (const r of stream as unknown as AsyncIterable<{ seq: number }>) {
        if (r.seq !== ++n) inOrder = false;
        // Stop reading for a while twice: socket buffers fill up on the whole path.
        if (n === 1000 || n === 50_000) await new Promise((res) => setTimeout(res, 300));
      }
      const [r] = await c.query('SELECT 2 AS two');
      await c.end();
      return { n, inOrder, r };
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy).toEqual({ n: N, inOrder: true, r: [{ two: 2 }] });
  });
});
