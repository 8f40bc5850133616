// schemarouter against two independent servers holding different databases (shard_a on the
// first, shard_b on the second, system databases and `test` on both): USE / COM_INIT_DB move the
// session to the shard holding the database, `db.table` goes to db's shard, SHOW DATABASES is the
// union of both servers' lists, a login database picks its shard, and a database created after
// start becomes routable once an "unknown database" reply made the proxy look again. Refusals
// (cross-shard statements, the duplicate `test` database) and what real clients see through the
// router compared with the server itself (unknown databases, SHOW TABLES, prepared statements,
// multi-result SHOW DATABASES).
import { spawn } from 'node:child_process';
import * as mariadb from 'mariadb';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTopology, type Topology } from '../harness/mariadb.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { bundledPlugin } from '../unit/plugin-fixtures.js';

let s1: Topology;
let s2: Topology;
let plugin: string;
let proxy: TestProxy;
const ID1 = 4101;
const ID2 = 4102;
const open: mysql.Connection[] = [];
const openMaria: mariadb.Connection[] = [];

async function root(port: number): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port, ...CREDENTIALS.root, multipleStatements: true });
}

async function setup(port: number, id: number, db: string, rows: string): Promise<void> {
  const c = await root(port);
  // schemarouter's service user needs SHOW DATABASES (as with MaxScale) to see every database.
  await c.query(`SET GLOBAL server_id = ${id}; GRANT SHOW DATABASES ON *.* TO 'wsproxy'@'%';
    CREATE DATABASE ${db}; CREATE TABLE ${db}.t (v VARCHAR(20)); INSERT INTO ${db}.t VALUES ${rows}`);
  await c.end();
}

async function directDatabases(port: number): Promise<string[]> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port, ...CREDENTIALS.app });
  const [rows] = await c.query<mysql.RowDataPacket[]>({ sql: 'SHOW DATABASES', rowsAsArray: true });
  await c.end();
  return rows.map((r) => String(r[0]));
}

async function client(opts: { database?: string } = {}): Promise<mysql.Connection> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app, ...opts });
  open.push(c);
  return c;
}

async function maria(opts: Partial<mariadb.ConnectionConfig> = {}, port = proxy.port): Promise<mariadb.Connection> {
  const c = await mariadb.createConnection({ host: '127.0.0.1', port, ...CREDENTIALS.app, connectTimeout: 10_000, ...opts });
  openMaria.push(c);
  return c;
}

/** The error a promise rejects with, as clients report it. */
async function failure(p: Promise<unknown>): Promise<{ errno?: number; sqlState?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { errno?: number; sqlState?: string; message: string };
  }
  throw new Error('expected an error');
}

async function one<T>(c: mysql.Connection, sql: string): Promise<T> {
  const [rows] = await c.query<mysql.RowDataPacket[]>({ sql, rowsAsArray: true });
  return rows[0]![0] as T;
}

beforeAll(async () => {
  [s1, s2, plugin] = await Promise.all([startTopology({ replicas: 0 }), startTopology({ replicas: 0 }), bundledPlugin('routers/schemarouter')]);
  await setup(s1.primary.port, ID1, 'shard_a', "('a1'), ('a2')");
  await setup(s2.primary.port, ID2, 'shard_b', "('b1'), ('b2'), ('b3')");
  proxy = await startTestProxy({
    servers: [{ name: 'shard1', port: s1.primary.port }, { name: 'shard2', port: s2.primary.port }],
    plugins: { schemarouter: { file: plugin } },
    // refresh_interval stays at MaxScale's 300 s: a database created later must be found through the 1049 path.
    service: { router: 'schemarouter', refresh_min_interval: '200ms' },
  });
}, 600_000);

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end().catch(() => c.destroy())));
  await Promise.all(openMaria.splice(0).map((c) => c.end().catch(() => c.destroy())));
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([s1?.stop(), s2?.stop()]);
});

describe('schemarouter', () => {
  it('USE moves the session to the shard holding the database, and only there', async () => {
    const c = await client();
    await c.query('USE shard_a');
    expect(await one<number>(c, 'SELECT @@server_id')).toBe(ID1);
    expect(await one<string>(c, 'SELECT DATABASE()')).toBe('shard_a');
    expect(await one<number>(c, 'SELECT COUNT(*) FROM t')).toBe(2);
    await c.query('USE shard_b');
    expect(await one<number>(c, 'SELECT @@server_id')).toBe(ID2);
    expect(await one<string>(c, 'SELECT DATABASE()')).toBe('shard_b');
    expect(await one<number>(c, 'SELECT COUNT(*) FROM t')).toBe(3);
    // and back: the first shard still has shard_a as its database (USE shard_b never went there)
    await c.query('USE shard_a');
    expect(await one<number>(c, 'SELECT @@server_id')).toBe(ID1);
    expect(await one<string>(c, 'SELECT GROUP_CONCAT(v ORDER BY v) FROM t')).toBe('a1,a2');
  });

  it('a qualified name goes to the shard of its database, whatever the current one', async () => {
    const c = await client();
    await c.query('USE shard_a');
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT v, @@server_id AS id FROM shard_b.t ORDER BY v');
    expect(rows.map((r) => r.v)).toEqual(['b1', 'b2', 'b3']);
    expect(rows[0]!.id).toBe(ID2);
    expect(await one<string>(c, 'SELECT GROUP_CONCAT(v ORDER BY v) FROM `shard_a`.`t`')).toBe('a1,a2');
    // unqualified again: the current database's shard
    expect(await one<number>(c, 'SELECT @@server_id')).toBe(ID1);
  });

  it('a CTE over another shard\'s database runs there (its name is not a table of the current database)', async () => {
    const c = await client();
    await c.query('USE shard_a');
    const sql = 'WITH x AS (SELECT v FROM shard_b.t WHERE v > ?) SELECT GROUP_CONCAT(v ORDER BY v) AS vs, @@server_id AS id FROM x';
    const [rows] = await c.query<mysql.RowDataPacket[]>(sql, ['b1']);
    expect(rows[0]).toEqual({ vs: 'b2,b3', id: ID2 });
    const [prepared] = await c.execute<mysql.RowDataPacket[]>(sql, ['b2']);
    expect(prepared[0]).toEqual({ vs: 'b3', id: ID2 });
    expect(await one<number>(c, 'SELECT @@server_id')).toBe(ID1);
  });

  it('SHOW DATABASES is the union of both shards, each database once', async () => {
    const c = await client();
    const [rows] = await c.query<mysql.RowDataPacket[]>({ sql: 'SHOW DATABASES', rowsAsArray: true });
    const merged = rows.map((r) => String(r[0]));
    const union = [...new Set([...(await directDatabases(s1.primary.port)), ...(await directDatabases(s2.primary.port))])];
    expect([...merged].sort()).toEqual([...union].sort());
    expect(merged.filter((d) => d === 'shard_a')).toHaveLength(1);
    expect(merged.filter((d) => d === 'shard_b')).toHaveLength(1);
    expect(merged.filter((d) => d === 'information_schema')).toHaveLength(1);
    // the session goes on normally after the merged reply
    expect(await one<number>(c, 'SELECT 1 + 1')).toBe(2);
  });

  it('a login database picks its shard at connect', async () => {
    const b = await client({ database: 'shard_b' });
    expect(await one<number>(b, 'SELECT @@server_id')).toBe(ID2);
    expect(await one<number>(b, 'SELECT COUNT(*) FROM t')).toBe(3);
    // the other shard opens without the login database (it does not have it)
    expect(await one<string>(b, 'SELECT GROUP_CONCAT(v ORDER BY v) FROM shard_a.t')).toBe('a1,a2');
    const a = await client({ database: 'shard_a' });
    expect(await one<number>(a, 'SELECT @@server_id')).toBe(ID1);
  });

  it('session variables (SET) reach every shard', async () => {
    const c = await client();
    await c.query('USE shard_a');
    await c.query('SET @v = 42');
    await c.query('USE shard_b');
    expect(await one<number>(c, 'SELECT @@server_id')).toBe(ID2);
    expect(Number(await one<number>(c, 'SELECT @v'))).toBe(42);
  });

  it('COM_INIT_DB (the mariadb CLI\'s use command) goes to the shard holding the database', async () => {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('mariadb', ['-h127.0.0.1', `-P${proxy.port}`, '-uapp', '-papp-pw', '-N', '-B'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let text = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`mariadb exited ${code}: ${err}`))));
      child.stdin.end('use shard_b\nSELECT @@server_id, DATABASE();\nuse shard_a\nSELECT @@server_id, DATABASE();\n');
    });
    expect(out.trim().split('\n')).toEqual([`${ID2}\tshard_b`, `${ID1}\tshard_a`]);
  });

  it('prepared statements: a shard that lacks the tables does not have the statement, and runs none of it', async () => {
    const r = await root(s2.primary.port);
    await r.query("CREATE TABLE IF NOT EXISTS shard_b.only_b (v VARCHAR(20)); INSERT INTO shard_b.only_b VALUES ('ob')");
    await r.end();
    // login on shard2: the statement is prepared there only; the first shard opens later (USE
    // shard_a) and its history replay cannot prepare it, which must not lose that connection
    const c = await client({ database: 'shard_b' });
    const [rows] = await c.execute<mysql.RowDataPacket[]>('SELECT v, @@server_id AS id FROM only_b WHERE v = ?', ['ob']);
    expect(rows).toEqual([{ v: 'ob', id: ID2 }]);
    await c.query('USE shard_a');
    expect(await one<number>(c, 'SELECT @@server_id')).toBe(ID1);
    // prepared on both shards (t is on both): runs on the current database's shard
    const [t] = await c.execute<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n, @@server_id AS id FROM t WHERE v <> ?', ['zz']);
    expect(t).toEqual([{ n: 2, id: ID1 }]);
    // the first statement again (mysql2 re-executes its cached id) while the current shard is the first one
    const [again] = await c.execute<mysql.RowDataPacket[]>('SELECT v, @@server_id AS id FROM only_b WHERE v = ?', ['ob']);
    expect(again).toEqual([{ v: 'ob', id: ID2 }]);
  });

  it('a database created after start becomes routable after an unknown-database reply', async () => {
    const r = await root(s2.primary.port);
    await r.query("CREATE DATABASE shard_c; CREATE TABLE shard_c.t (v INT); INSERT INTO shard_c.t VALUES (7)");
    await r.end();
    const c = await client();
    await c.query('USE shard_a');
    let routed = false;
    for (let i = 0; i < 50 && !routed; i++) {
      try {
        await c.query('USE shard_c');
        routed = (await one<number>(c, 'SELECT @@server_id')) === ID2;
      } catch (err) {
        expect((err as { errno?: number }).errno).toBe(1049);
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    expect(routed).toBe(true);
    expect(await one<number>(c, 'SELECT v FROM t')).toBe(7);
    const [rows] = await c.query<mysql.RowDataPacket[]>({ sql: 'SHOW DATABASES', rowsAsArray: true });
    expect(rows.map((x) => String(x[0]))).toContain('shard_c');
  });

  it('a statement using databases on two shards is refused (ERR 1105), where it used to run on one of them', async () => {
    const c = await client();
    // the shard2 connection's own current database becomes shard_b; USE shard_a then moves the session to shard1 only
    await c.query('USE shard_b');
    await c.query('USE shard_a');
    const cross = 'SELECT COUNT(*) FROM t WHERE v IN (SELECT v FROM shard_b.t)';
    // on shard2 this would count shard_b.t against itself (3); it must not run anywhere
    const err = await failure(c.query(cross));
    expect(err.errno).toBe(1105);
    expect(err.sqlState).toBe('HY000');
    expect(err.message).toMatch(/different shards \('shard_b' on 'shard2', the current database on 'shard1'\)/);
    const both = await failure(c.query('SELECT * FROM shard_a.t JOIN shard_b.t USING (v)'));
    expect(both.errno).toBe(1105);
    expect(both.message).toMatch(/'shard_a' on 'shard1', 'shard_b' on 'shard2'/);
    // the server alone cannot run it either: the table of the other shard does not exist there
    const direct = await root(s1.primary.port);
    const d = await failure(direct.query('SELECT * FROM shard_a.t JOIN shard_b.t USING (v)'));
    await direct.end();
    expect(d.errno).toBe(1146);
    // the session goes on, on the current database's shard
    expect(await one<number>(c, 'SELECT @@server_id')).toBe(ID1);
    const m = await maria({ database: 'shard_a' });
    const me = await failure(m.query('SELECT * FROM t JOIN shard_b.t u USING (v)'));
    expect(me.errno).toBe(1105);
    expect(me.sqlState).toBe('HY000');
    expect((await m.query('SELECT COUNT(*) AS n FROM t'))[0].n).toBe(2n);
  });

  it('the duplicate database `test` (on both shards) is refused: USE, a qualified name, a login', async () => {
    const c = await client();
    for (const sql of ['USE test', 'SELECT * FROM test.nothing']) {
      const err = await failure(c.query(sql));
      expect(err.errno).toBe(1105);
      expect(err.message).toMatch(/database 'test' found on more than one shard \('shard1', 'shard2'\)/);
    }
    const login = await failure(client({ database: 'test' }));
    expect(login.message).toMatch(/found on more than one shard/);
    const m = await failure(maria({ database: 'test' }));
    expect(m.message).toMatch(/found on more than one shard/);
    expect(await one<number>(c, 'SELECT 1')).toBe(1);
  });

  it('allow_duplicates: a duplicate database is used on the current shard if it has it, else the first', async () => {
    const p2 = await startTestProxy({
      servers: [{ name: 'shard1', port: s1.primary.port }, { name: 'shard2', port: s2.primary.port }],
      plugins: { schemarouter: { file: plugin, config: { allow_duplicates: true } } },
      service: { router: 'schemarouter' },
    });
    try {
      const c = await mysql.createConnection({ host: '127.0.0.1', port: p2.port, ...CREDENTIALS.app });
      open.push(c);
      await c.query('USE test');
      expect(await one<number>(c, 'SELECT @@server_id')).toBe(ID1);
      await c.query('USE shard_b');
      await c.query('USE test');
      expect(await one<number>(c, 'SELECT @@server_id')).toBe(ID2);
      expect(await one<string>(c, 'SELECT DATABASE()')).toBe('test');
      const b = await mysql.createConnection({ host: '127.0.0.1', port: p2.port, ...CREDENTIALS.app, database: 'test' });
      open.push(b);
      expect(await one<number>(b, 'SELECT @@server_id')).toBe(ID1);
    } finally {
      await Promise.all(open.splice(0).map((x) => x.end().catch(() => x.destroy())));
      await p2.stop();
    }
  });

  it('an unknown database: USE and login give 1049 (42000) as the server does, with both clients', async () => {
    const direct = await mysql.createConnection({ host: '127.0.0.1', port: s1.primary.port, ...CREDENTIALS.app });
    const want = await failure(direct.query('USE no_such_db'));
    await direct.end();
    expect(want.errno).toBe(1049);
    const c = await client();
    await c.query('USE shard_b');
    const got = await failure(c.query('USE no_such_db'));
    expect([got.errno, got.sqlState, got.message]).toEqual([1049, '42000', want.message]);
    expect(await one<string>(c, 'SELECT DATABASE()')).toBe('shard_b');
    const m = await maria();
    const mg = await failure(m.query('USE no_such_db'));
    expect([mg.errno, mg.sqlState]).toEqual([1049, '42000']);
    const login = await failure(client({ database: 'no_such_db' }));
    const directLogin = await failure(mysql.createConnection({ host: '127.0.0.1', port: s1.primary.port, ...CREDENTIALS.app, database: 'no_such_db' }));
    expect([login.errno, login.sqlState, login.message]).toEqual([directLogin.errno, directLogin.sqlState, directLogin.message]);
    const ml = await failure(maria({ database: 'no_such_db' }));
    expect(ml.errno).toBe(1049);
  });

  it('SHOW TABLES, SHOW TABLES FROM db, SELECT DATABASE() and prepared statements naming a shard\'s database, as on the server', async () => {
    const d2 = await mysql.createConnection({ host: '127.0.0.1', port: s2.primary.port, ...CREDENTIALS.app, database: 'shard_b' });
    const [wantTables] = await d2.query<mysql.RowDataPacket[]>({ sql: 'SHOW TABLES', rowsAsArray: true });
    const [wantRows] = await d2.execute<mysql.RowDataPacket[]>('SELECT v FROM shard_b.t WHERE v <> ? ORDER BY v', ['b1']);
    await d2.end();
    const c = await client();
    expect(await one<string | null>(c, 'SELECT DATABASE()')).toBeNull();
    await c.query('USE shard_a');
    const [fromB] = await c.query<mysql.RowDataPacket[]>({ sql: 'SHOW TABLES FROM shard_b', rowsAsArray: true });
    expect(fromB).toEqual(wantTables);
    const [rows] = await c.execute<mysql.RowDataPacket[]>('SELECT v FROM shard_b.t WHERE v <> ? ORDER BY v', ['b1']);
    expect(rows).toEqual(wantRows);
    await c.query('USE shard_b');
    const [tables] = await c.query<mysql.RowDataPacket[]>({ sql: 'SHOW TABLES', rowsAsArray: true });
    expect(tables).toEqual(wantTables);
    const m = await maria({ database: 'shard_a' });
    expect((await m.query('SELECT DATABASE() AS d'))[0].d).toBe('shard_a');
    const mt = await m.query({ sql: 'SHOW TABLES FROM shard_b', rowsAsArray: true });
    expect(mt.map((r: string[]) => r[0])).toEqual(wantTables.map((r) => r[0]));
    const me = await m.execute('SELECT v FROM shard_b.t WHERE v <> ? ORDER BY v', ['b1']);
    expect(me.map((r: { v: string }) => r.v)).toEqual(wantRows.map((r) => r.v));
    // and the session's own shard after it
    expect((await m.execute('SELECT COUNT(*) AS n FROM t WHERE v <> ?', ['zz']))[0].n).toBe(2n);
  });

  it('SHOW DATABASES in a multi-statement: every result merged, an error at a later statement reported', async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app, multipleStatements: true });
    open.push(c);
    const [results] = await c.query<mysql.RowDataPacket[][]>('SHOW DATABASES; SELECT @@server_id AS id');
    expect(results).toHaveLength(2);
    const names = results[0]!.map((r) => r.Database as string);
    expect(names).toContain('shard_a');
    expect(names).toContain('shard_b');
    expect(names.filter((n) => n === 'test')).toHaveLength(1);
    expect(results[1]!.map((r) => r.id).sort()).toEqual([ID1, ID2]);
    const bad = 'SHOW DATABASES; SELECT * FROM no_such_table';
    const direct = await mysql.createConnection({ host: '127.0.0.1', port: s1.primary.port, ...CREDENTIALS.app, multipleStatements: true });
    const want = await failure(direct.query(bad));
    await direct.end();
    expect(want.errno).toBe(1046); // no database selected
    const err = await failure(c.query(bad));
    expect([err.errno, err.sqlState, err.message]).toEqual([want.errno, want.sqlState, want.message]);
    expect(await one<number>(c, 'SELECT 7')).toBe(7);
    const m = await maria({ multipleStatements: true });
    const mr = await m.query('SHOW DATABASES; SELECT 1 AS one');
    expect(mr).toHaveLength(2);
    expect(mr[0].map((r: { Database: string }) => r.Database)).toContain('shard_b');
    expect(mr[1]).toEqual([{ one: 1 }]);
  });

  it('text PREPARE naming another shard\'s database: runs there, and the session keeps both shards', async () => {
    const c = await client();
    await c.query('USE shard_a');
    await c.query("PREPARE s FROM 'SELECT v, @@server_id AS id FROM shard_b.t WHERE v <> ? ORDER BY v'");
    await c.query("SET @x = 'b1'");
    const [rows] = await c.query<mysql.RowDataPacket[]>('EXECUTE s USING @x');
    expect(rows).toEqual([{ v: 'b2', id: ID2 }, { v: 'b3', id: ID2 }]);
    await c.query('DEALLOCATE PREPARE s');
    expect(await one<number>(c, 'SELECT @@server_id')).toBe(ID1);
    // shard2's connection is intact (a PREPARE sent to every shard failed on shard1 and cost the session shard2)
    await c.query('USE shard_b');
    expect(await one<number>(c, 'SELECT @@server_id')).toBe(ID2);
    const err = await failure(c.query('EXECUTE s'));
    expect(err.errno).toBe(1243); // deallocated, as on the server
  });
});
