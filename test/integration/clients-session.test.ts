// Session state through the proxy: transactions seen from a second connection, autocommit,
// session variables, COM_CHANGE_USER (mysql2 and mariadb, good and bad passwords) and
// COM_RESET_CONNECTION — each compared with the same calls made directly.
import type * as mariadb from 'mariadb';
import type mysql from 'mysql2/promise';
import { beforeAll, describe, expect, it } from 'vitest';
import { both, errOf, mariaConn, mysqlConn, stripVolatile, useProxy } from './clients-helpers.js';

const ports = useProxy();
const OTHER = { user: 'cs_other', password: 'cs-other-pw' };

beforeAll(async () => {
  const root = await mysqlConn(ports.direct, { user: 'root', password: '' });
  await root.query(`CREATE OR REPLACE USER '${OTHER.user}'@'%' IDENTIFIED BY '${OTHER.password}'`);
  await root.query(`GRANT SELECT ON test.* TO '${OTHER.user}'@'%'`);
  await root.end();
});

const q = async (c: mysql.Connection, sql: string): Promise<unknown> => (await c.query(sql))[0];

describe('transactions', () => {
  it('mysql2: begin/commit/rollback and autocommit=0 seen from a second connection', async () => {
    const out = await both(ports, async (port, via) => {
      const t = `test.tx_my_${via}`;
      const a = await mysqlConn(port);
      const b = await mysqlConn(port);
      const res: unknown[] = [];
      await a.query(`CREATE OR REPLACE TABLE ${t} (id INT PRIMARY KEY) ENGINE=InnoDB`);
      await a.beginTransaction();
      await a.query(`INSERT INTO ${t} VALUES (1)`);
      res.push(await q(a, `SELECT COUNT(*) AS n, @@in_transaction AS tx FROM ${t}`), await q(b, `SELECT COUNT(*) AS n FROM ${t}`));
      await a.commit();
      res.push(await q(b, `SELECT COUNT(*) AS n FROM ${t}`), await q(a, 'SELECT @@in_transaction AS tx'));
      await a.beginTransaction();
      await a.query(`INSERT INTO ${t} VALUES (2)`);
      await a.rollback();
      res.push(await q(b, `SELECT COUNT(*) AS n FROM ${t}`));
      await a.query('SET autocommit = 0');
      await a.query(`INSERT INTO ${t} VALUES (3)`);
      res.push(await q(a, 'SELECT @@autocommit AS ac, @@in_transaction AS tx'), await q(b, `SELECT COUNT(*) AS n FROM ${t}`));
      await a.query('COMMIT');
      res.push(await q(b, `SELECT COUNT(*) AS n FROM ${t}`));
      await a.query(`INSERT INTO ${t} VALUES (4)`);
      await a.query('ROLLBACK');
      await a.query('SET autocommit = 1');
      res.push(await q(b, `SELECT GROUP_CONCAT(id ORDER BY id) AS ids FROM ${t}`));
      // A duplicate key inside a transaction fails that statement only.
      await a.query('START TRANSACTION');
      res.push(await errOf(a.query(`INSERT INTO ${t} VALUES (1)`)), await q(a, 'SELECT @@in_transaction AS tx'));
      await a.query('COMMIT');
      await a.end();
      await b.end();
      return res;
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy).toEqual([
      [{ n: 1, tx: 1 }], [{ n: 0 }], [{ n: 1 }], [{ tx: 0 }], [{ n: 1 }],
      [{ ac: 0, tx: 1 }], [{ n: 1 }], [{ n: 2 }], [{ ids: '1,3' }],
      { errno: 1062, sqlState: '23000' }, [{ tx: 1 }],
    ]);
  });

  it('mariadb connector: its commit/rollback rely on the server status flags the proxy relays', async () => {
    const out = await both(ports, async (port, via) => {
      const t = `test.tx_ma_${via}`;
      const a = await mariaConn(port);
      const b = await mariaConn(port);
      const res: unknown[] = [];
      await a.query(`CREATE OR REPLACE TABLE ${t} (id INT PRIMARY KEY) ENGINE=InnoDB`);
      await a.beginTransaction();
      await a.query(`INSERT INTO ${t} VALUES (1)`);
      res.push(await b.query(`SELECT COUNT(*) AS n FROM ${t}`));
      await a.commit();
      res.push(await b.query(`SELECT COUNT(*) AS n FROM ${t}`));
      await a.query('START TRANSACTION');
      await a.query(`INSERT INTO ${t} VALUES (2)`);
      await a.rollback();
      res.push(await b.query(`SELECT COUNT(*) AS n FROM ${t}`), await a.query('SELECT @@in_transaction AS tx'));
      await a.end();
      await b.end();
      return stripVolatile(res);
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy).toEqual([[{ n: '0n' }], [{ n: '1n' }], [{ n: '1n' }], [{ tx: '0n' }]]);
  });
});

describe('session variables', () => {
  it('SET SESSION / user variables / SET NAMES persist on the connection', async () => {
    const out = await both(ports, async (port) => {
      const c = await mysqlConn(port, { multipleStatements: true });
      await c.query("SET SESSION sql_mode = 'ANSI_QUOTES,NO_ZERO_DATE', time_zone = '+05:30', @u = 'x\\'y', @n = 42; SET NAMES latin1");
      await c.query('USE mysql');
      const [r] = await c.query('SELECT @@sql_mode AS m, @@time_zone AS tz, @u AS u, @n AS n, @@character_set_client AS cs, DATABASE() AS db');
      await c.end();
      return stripVolatile(r);
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy).toEqual([{ m: 'ANSI_QUOTES,NO_ZERO_DATE', tz: '+05:30', u: "x'y", n: 42, cs: 'latin1', db: 'mysql' }]);
  });

  it('COM_INIT_DB and DATABASE() with both clients', async () => {
    const out = await both(ports, async (port) => {
      const c = await mariaConn(port, { database: undefined });
      const res: unknown[] = [await c.query('SELECT DATABASE() AS db')];
      await c.query('USE test');
      res.push(await c.query('SELECT DATABASE() AS db'));
      res.push(await errOf(c.query('USE no_such_db_cs')));
      await c.end();
      return res;
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy).toEqual([[{ db: null }], [{ db: 'test' }], { errno: 1049, sqlState: '42000' }]);
  });
});

async function changeUserScenario(c: { query(sql: string): Promise<unknown>; changeUser(o: object): Promise<unknown> }): Promise<unknown[]> {
  const res: unknown[] = [];
  await c.query("SET @v = 'kept?'");
  await c.query('CREATE TEMPORARY TABLE test.cs_tmp (a INT)');
  await c.changeUser({ user: OTHER.user, password: OTHER.password, database: 'test' });
  res.push(await c.query('SELECT CURRENT_USER() AS cu, @v AS v, DATABASE() AS db'));
  res.push(await errOf(c.query('SELECT * FROM test.cs_tmp')));
  res.push(await errOf(c.query('CREATE TABLE test.cs_denied (a INT)')));
  await c.changeUser({ user: 'app', password: 'app-pw' });
  res.push(await c.query('SELECT CURRENT_USER() AS cu'));
  // A wrong password: compare the error and what becomes of the connection.
  res.push(await errOf(c.changeUser({ user: OTHER.user, password: 'wrong' })));
  const after = (): Promise<unknown> => c.query('SELECT CURRENT_USER() AS cu').then((r) => ['usable', r], (e: { errno?: number; code?: string }) => ['error', e.errno ?? e.code]);
  res.push(await after());
  // A database that does not exist: the server itself refuses it.
  res.push(await errOf(c.changeUser({ user: 'app', password: 'app-pw', database: 'no_such_db_cs' })));
  res.push(await after());
  return stripVolatile(res);
}

describe('change user', () => {
  it('mysql2 changeUser to another user and back, then a wrong password', async () => {
    const out = await both(ports, async (port) => {
      const c = await mysqlConn(port);
      c.on('error', () => {});
      const res = await changeUserScenario({ query: async (sql) => (await c.query(sql))[0], changeUser: (o) => c.changeUser(o) });
      c.destroy();
      return res;
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy.slice(0, 5)).toEqual([
      [{ cu: `${OTHER.user}@%`, v: null, db: 'test' }],
      { errno: 1146, sqlState: '42S02' },
      { errno: 1142, sqlState: '42000' },
      [{ cu: 'app@%' }],
      { errno: 1045, sqlState: '28000' },
    ]);
    // MariaDB keeps the connection, as the previous user, after a failed COM_CHANGE_USER.
    expect(out.proxy[5]).toEqual(['usable', [{ cu: 'app@%' }]]);
    expect(out.proxy[6]).toEqual({ errno: 1049, sqlState: '42000' });
  });

  it('mariadb changeUser to another user and back, then a wrong password', async () => {
    const out = await both(ports, async (port) => {
      const c: mariadb.Connection = await mariaConn(port);
      c.on('error', () => {});
      const res = await changeUserScenario({ query: (sql) => c.query(sql), changeUser: (o) => c.changeUser(o) });
      await c.destroy();
      return res;
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy.slice(0, 5)).toEqual([
      [{ cu: `${OTHER.user}@%`, v: null, db: 'test' }],
      { errno: 1146, sqlState: '42S02' },
      { errno: 1142, sqlState: '42000' },
      [{ cu: 'app@%' }],
      { errno: 1045, sqlState: '28000' },
    ]);
    // The mariadb connector closes its side after a failed change user (a client decision).
    expect(out.proxy[5]).toEqual(['error', 45013]);
  });
});

describe('connection options', () => {
  it('clients asking for compression work (the proxy does not offer it; they fall back)', async () => {
    const out = await both(ports, async (port) => {
      const my = await mysqlConn(port, { compress: true });
      const [a] = await my.query("SELECT REPEAT('a', 100000) = REPEAT('a', 100000) AS ok");
      await my.end();
      const ma = await mariaConn(port, { compress: true });
      const b = await ma.query('SELECT 2 AS ok');
      await ma.end();
      return [a, b];
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy).toEqual([[{ ok: 1 }], [{ ok: 2 }]]);
  });
});

describe('reset connection', () => {
  it('mariadb reset() and mysql2 reset() clear user variables, temp tables, transactions', async () => {
    const scenario = async (c: { query(sql: string): Promise<unknown>; reset(): Promise<void> }): Promise<unknown[]> => {
      await c.query("SET @r = 'before', SESSION sql_mode = 'ANSI'");
      await c.query('CREATE TEMPORARY TABLE test.cs_reset_tmp (a INT)');
      await c.query('START TRANSACTION');
      await c.reset();
      return [
        await c.query('SELECT @r AS r, @@in_transaction AS tx, DATABASE() AS db, @@sql_mode = @@global.sql_mode AS mode_reset'),
        await errOf(c.query('SELECT * FROM test.cs_reset_tmp')),
      ];
    };
    const out = await both(ports, async (port) => {
      const ma = await mariaConn(port);
      const a = await scenario(ma);
      await ma.end();
      const my = await mysqlConn(port);
      const b = await scenario({ query: async (sql) => (await my.query(sql))[0], reset: () => my.reset() });
      await my.end();
      return stripVolatile([a, b]);
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy).toEqual([
      [[{ r: null, tx: '0n', db: 'test', mode_reset: 1 }], { errno: 1146, sqlState: '42S02' }],
      [[{ r: null, tx: 0, db: 'test', mode_reset: 1 }], { errno: 1146, sqlState: '42S02' }],
    ]);
  });
});
