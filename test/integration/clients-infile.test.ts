// LOAD DATA LOCAL INFILE with mysql2 (infileStreamFactory) and the mariadb connector
// (permitLocalInfile): data, empty files, server-side errors, client-side failures, and the
// connection staying in sync after each.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { both, errOf, mariaConn, mysqlConn, stripVolatile, useProxy } from './clients-helpers.js';

const ports = useProxy();
const LINES = 60_000;
const csv = (n: number): string => Array.from({ length: n }, (_, i) => `${i + 1},name-${i + 1},${(i * 0.25).toFixed(2)}`).join('\n') + '\n';
const DATA = csv(LINES);

const loadSql = (t: string, file = 'rows.csv'): string => `LOAD DATA LOCAL INFILE '${file}' INTO TABLE ${t} FIELDS TERMINATED BY ',' (id, name, amount)`;

describe('LOAD DATA LOCAL INFILE', () => {
  it('mysql2: 1.5 MiB, an empty file, a missing table, duplicate keys, a failing stream, inside a batch', async () => {
    const out = await both(ports, async (port, via) => {
      const t = `test.infile_my_${via}`;
      const c = await mysqlConn(port, { multipleStatements: true });
      const res: unknown[] = [];
      await c.query(`CREATE OR REPLACE TABLE ${t} (id INT PRIMARY KEY, name VARCHAR(40), amount DECIMAL(12,2))`);
      const from = (s: string) => (): Readable => Readable.from([Buffer.from(s)]);
      res.push((await c.query({ sql: loadSql(t), infileStreamFactory: from(DATA) }))[0]);
      res.push((await c.query(`SELECT COUNT(*) AS n, SUM(amount) AS s, MAX(name) AS m FROM ${t}`))[0]);
      res.push((await c.query({ sql: loadSql(t), infileStreamFactory: () => Readable.from([]) }))[0]);
      // The table does not exist: the server answers ERR without asking for the file.
      res.push(await errOf(c.query({ sql: loadSql('test.infile_no_such_table'), infileStreamFactory: from(DATA) })));
      res.push((await c.query('SELECT 1 AS still_ok'))[0]);
      // Duplicate keys: with LOCAL they are skipped with warnings (the OK comes after the file).
      res.push((await c.query({ sql: loadSql(t), infileStreamFactory: from(csv(3000)) }))[0]);
      res.push((await c.query('SELECT 2 AS still_ok'))[0]);
      // The client's stream fails: it sends the terminating empty packet and reports the error.
      const failing = (): Readable => new Readable({ read() { this.destroy(new Error('disk on fire')); } });
      res.push(await c.query({ sql: loadSql(t), infileStreamFactory: failing }).then(() => 'no error', (e: Error) => e.message.includes('disk on fire')));
      res.push((await c.query('SELECT 3 AS still_ok'))[0]);
      // LOAD DATA inside a multi-statement batch: the result after the file is tracked too.
      res.push((await c.query({ sql: `DELETE FROM ${t}; ${loadSql(t)}; SELECT COUNT(*) AS n FROM ${t}`, infileStreamFactory: from(csv(10)) }))[0]);
      await c.end();
      return stripVolatile(res);
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy[0]).toMatchObject({ affectedRows: LINES, info: `Records: ${LINES}  Deleted: 0  Skipped: 0  Warnings: 0` });
    const names = Array.from({ length: LINES }, (_, i) => `name-${i + 1}`).sort();
    expect(out.proxy[1]).toEqual([{ n: LINES, s: ((LINES - 1) * LINES / 8).toFixed(2), m: names[names.length - 1] }]);
    expect(out.proxy[2]).toMatchObject({ affectedRows: 0 });
    expect(out.proxy[3]).toEqual({ errno: 1146, sqlState: '42S02' });
    expect(out.proxy[5]).toMatchObject({ affectedRows: 0, warningStatus: 3000, info: 'Records: 3000  Deleted: 0  Skipped: 3000  Warnings: 3000' });
    expect(out.proxy[7]).toBe(true);
    expect(out.proxy[8]).toEqual([{ still_ok: 3 }]);
    expect((out.proxy[9] as unknown[])[2]).toEqual([{ n: 10 }]);
  });

  it('mariadb connector: permitLocalInfile with a stream factory, missing file, missing table', async () => {
    const out = await both(ports, async (port, via) => {
      const t = `test.infile_ma_${via}`;
      const res: unknown[] = [];
      const c = await mariaConn(port, {
        permitLocalInfile: true,
        infileStreamFactory: (file: string) => {
          if (file === 'missing.csv') throw new Error('ENOENT');
          return Readable.from([Buffer.from(DATA)]);
        },
      });
      await c.query(`CREATE OR REPLACE TABLE ${t} (id INT PRIMARY KEY, name VARCHAR(40), amount DECIMAL(12,2))`);
      res.push(await c.query(loadSql(t)));
      res.push(await c.query(`SELECT COUNT(*) AS n, SUM(id) AS s FROM ${t}`));
      res.push(await c.query(loadSql(t, 'missing.csv')).then(() => 'no error', (e: { errno: number }) => e.errno));
      res.push(await c.query('SELECT 1 AS still_ok'));
      res.push(await errOf(c.query(loadSql('test.infile_no_such_table_ma'))));
      res.push(await c.query('SELECT 2 AS still_ok'));
      await c.end();
      // Without permitLocalInfile the connector does not offer LOCAL_FILES: the server refuses.
      const noLocal = await mariaConn(port);
      res.push(await errOf(noLocal.query(loadSql(t))));
      res.push(await noLocal.query('SELECT 3 AS still_ok'));
      await noLocal.end();
      return stripVolatile(res);
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy[0]).toMatchObject({ affectedRows: LINES, warningStatus: 0 });
    expect(out.proxy[1]).toEqual([{ n: `${LINES}n`, s: `${(LINES * (LINES + 1)) / 2}` }]);
    expect(out.proxy[3]).toEqual([{ still_ok: 1 }]);
    expect(out.proxy[4]).toEqual({ errno: 1146, sqlState: '42S02' });
    expect(out.proxy[5]).toEqual([{ still_ok: 2 }]);
    expect((out.proxy[6] as { errno: number }).errno).toBeGreaterThan(1000);
    expect(out.proxy[7]).toEqual([{ still_ok: 3 }]);
  });
});
