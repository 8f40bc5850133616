// schemarouter against two independent servers holding different databases (shard_a on the
// first, shard_b on the second, system databases and `test` on both): USE / COM_INIT_DB move the
// session to the shard holding the database, `db.table` goes to db's shard, SHOW DATABASES is the
// union of both servers' lists, a login database picks its shard, and a database created after
// start becomes routable once an "unknown database" reply made the proxy look again.
import { spawn } from 'node:child_process';
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
});
