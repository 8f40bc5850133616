// readwritesplit (WebAssembly) in a running proxy in front of the shared topology (a primary and
// two GTID replicas, roles from the monitor). Where each statement ran is read back with
// @@server_id; session state (user variables, temporary tables, prepared statements) is
// compared with what the same calls give directly on the primary.
import mariadb from 'mariadb';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { connectSharedTopology, sharedTopology, type SharedTopologyClient } from '../harness/shared.js';
import { bundledPlugin } from '../unit/plugin-fixtures.js';
import { com, RawClient } from './clients-raw-client.js';

let proxy: TestProxy;
let topo: SharedTopologyClient;
let primaryId: number;
let replicaIds: number[];
const open: { end(): Promise<void> }[] = [];

beforeAll(async () => {
  const wasm = await bundledPlugin('routers/readwritesplit');
  const t = sharedTopology();
  topo = connectSharedTopology();
  primaryId = t.primary.serverId;
  replicaIds = t.replicas.map((r) => r.serverId);
  await topo.primary.query('CREATE DATABASE IF NOT EXISTS rws');
  await topo.primary.query('CREATE OR REPLACE TABLE rws.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))');
  await topo.waitForReplicas();
  proxy = await startTestProxy({
    servers: [
      { name: 'db1', port: t.primary.port },
      { name: 'db2', port: t.replicas[0]!.port },
      { name: 'db3', port: t.replicas[1]!.port },
    ],
    monitor: {},
    plugins: { rws: { file: wasm, config: {} } },
    service: { router: 'rws' },
  });
  // The monitor must have found the roles before sessions start.
  for (let i = 0; i < 100; i++) {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app, database: 'rws' });
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id');
    await c.end();
    if (replicaIds.includes(rows[0]!.id as number)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}, 600_000);

afterAll(async () => {
  await Promise.all(open.splice(0).map((c) => c.end().catch(() => {})));
  await proxy?.stop();
  topo?.close();
});

async function client(multipleStatements = false): Promise<mysql.Connection> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app, database: 'rws', multipleStatements });
  open.push(c);
  return c;
}

async function id(c: mysql.Connection, sql = 'SELECT @@server_id AS id'): Promise<number> {
  const [rows] = await c.query<mysql.RowDataPacket[]>(sql);
  return rows[0]!.id as number;
}

describe('readwritesplit routing by statement', () => {
  it('autocommit reads go to a replica, writes to the primary', async () => {
    const c = await client();
    expect(replicaIds).toContain(await id(c));
    const [res] = await c.query<mysql.ResultSetHeader>("INSERT INTO t (v) VALUES ('a')");
    expect(res.affectedRows).toBe(1);
    // A write that reports where it ran: only the primary can insert.
    await c.query('INSERT INTO t (v) SELECT @@server_id');
    const rows = await topo.primary.query<{ v: string }[]>('SELECT v FROM rws.t ORDER BY id DESC LIMIT 1');
    expect(Number(rows[0]!.v)).toBe(primaryId);
  });

  it('a transaction runs on the primary from BEGIN to COMMIT; READ ONLY transactions on a replica', async () => {
    const c = await client();
    await c.query('BEGIN');
    expect(await id(c)).toBe(primaryId);
    expect(await id(c, 'SELECT @@server_id AS id FROM DUAL')).toBe(primaryId);
    await c.query('COMMIT');
    expect(replicaIds).toContain(await id(c));
    await c.query('START TRANSACTION READ ONLY');
    const ro = await id(c);
    expect(replicaIds).toContain(ro);
    expect(await id(c)).toBe(ro);
    await c.query('COMMIT');
    // autocommit=0: every statement is in a transaction on the primary.
    await c.query('SET autocommit = 0');
    expect(await id(c)).toBe(primaryId);
    await c.query('COMMIT');
    await c.query('SET autocommit = 1');
    expect(replicaIds).toContain(await id(c));
  });

  it('reads that depend on the session or the primary go to the primary', async () => {
    const c = await client();
    await c.query("INSERT INTO t (v) VALUES ('lid')");
    const [direct] = await c.query<mysql.RowDataPacket[]>('SELECT LAST_INSERT_ID() AS lid, @@server_id AS id');
    expect(direct[0]!.id).toBe(primaryId);
    expect(Number(direct[0]!.lid)).toBeGreaterThan(0);
    expect(await id(c, 'SELECT @@server_id AS id FROM t LIMIT 1 FOR UPDATE')).toBe(primaryId);
    expect(await id(c, "SELECT @@server_id AS id, GET_LOCK('rws', 0)")).toBe(primaryId);
    await c.query("SELECT RELEASE_LOCK('rws')");
  });
});

describe('session state across connections (history replay)', () => {
  it('user variables set through the proxy are seen on the replica that serves reads', async () => {
    const c = await client();
    await c.query("SET @greeting = 'hello', @n = 41");
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @greeting AS g, @n + 1 AS n, @@server_id AS id');
    expect(rows[0]).toMatchObject({ g: 'hello', n: 42 });
    expect(replicaIds).toContain(rows[0]!.id);
    // And on the primary.
    await c.query('BEGIN');
    const [inTrx] = await c.query<mysql.RowDataPacket[]>('SELECT @greeting AS g, @@server_id AS id');
    expect(inTrx[0]).toMatchObject({ g: 'hello', id: primaryId });
    await c.query('COMMIT');
  });

  it('USE and SET NAMES reach every connection', async () => {
    const c = await client();
    await c.query('USE mysql');
    await c.query('SET NAMES latin1');
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT DATABASE() AS db, @@character_set_client AS cs, @@server_id AS id');
    expect(rows[0]).toMatchObject({ db: 'mysql', cs: 'latin1' });
    expect(replicaIds).toContain(rows[0]!.id);
  });

  it('temporary tables live on the primary and are read there, as directly', async () => {
    const c = await client();
    await c.query('CREATE TEMPORARY TABLE tmp (a INT)');
    await c.query('INSERT INTO tmp VALUES (1), (2), (3)');
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT SUM(a) AS s, @@server_id AS id FROM tmp');
    expect(rows[0]).toMatchObject({ s: '6', id: primaryId });
  });

  it('prepared statements: reads execute on a replica, writes on the primary, results as directly', async () => {
    const c = await client();
    const [r1] = await c.execute<mysql.RowDataPacket[]>('SELECT @@server_id AS id, ? + 1 AS x', [1]);
    expect(r1[0]!.x).toBe(2);
    expect(replicaIds).toContain(r1[0]!.id);
    const [w] = await c.execute<mysql.ResultSetHeader>('INSERT INTO t (v) VALUES (?)', ['ps']);
    expect(w.affectedRows).toBe(1);
    // Same statement again (cached by mysql2): mapped ids keep working on both connections.
    for (let i = 0; i < 3; i++) {
      const [r] = await c.execute<mysql.RowDataPacket[]>('SELECT @@server_id AS id, ? + 1 AS x', [i]);
      expect(r[0]!.x).toBe(i + 1);
    }
    await c.unprepare('SELECT @@server_id AS id, ? + 1 AS x');
    const [after] = await c.execute<mysql.RowDataPacket[]>('SELECT ? AS y', ['again']);
    expect(after[0]!.y).toBe('again');
  });

  it('an execute pipelined behind a session command goes out with the replica\'s own statement id (regression)', async () => {
    // The execute waits in the backlog (a copy of the packet) while SET runs everywhere. The
    // replica's connection opened after statement 1 was closed, so there statement 2 has backend
    // id 1. The copy used to carry the mapped id in its payload but send its raw bytes, unmapped:
    // "Unknown prepared statement handler (2)" from the replica.
    const c = await RawClient.connect(proxy.port, { ...CREDENTIALS.app, database: 'rws', deprecateEof: true });
    try {
      const first = await c.prepare('INSERT INTO t (v) VALUES (?)');
      expect(first.id).toBeGreaterThan(0);
      c.write(com.stmtClose(first.id));
      const second = await c.prepare('SELECT @@server_id AS id, ? AS v');
      expect(second.id).toBeGreaterThan(first.id);
      c.writeMany([com.query('SET @pipelined = 1'), com.stmtExecute(second.id, [5])]);
      const set = await c.result();
      expect(set[0]!.payload[0], 'SET answered OK').toBe(0x00);
      const rows = await c.result();
      expect(rows[0]!.payload[0], rows[0]!.payload.toString('latin1')).not.toBe(0xff);
      // Binary row: 0x00, NULL bitmap, @@server_id, then v: the INT parameter, 4 bytes at the end.
      const row = rows.find((p, i) => i > 0 && p.payload[0] === 0x00 && p.payload.length > 2)!;
      expect(row.payload.readInt32LE(row.payload.length - 4)).toBe(5);
    } finally {
      c.destroy();
    }
  });

  it('an executed prepared SET reaches every connection with that connection\'s statement id', async () => {
    // Client ids and the ids of a connection opened later diverge once a statement was closed
    // before it opened: the replica's connection then knows `SET @ps_x = ?` as 1, the primary's
    // and the client as 2. A prepared SET runs on every connection as a session command, and is
    // replayed from the history on connections opened later.
    const c = await client();
    const ins = await c.prepare('INSERT INTO t (v) VALUES (?)'); // a write: prepared on the primary only
    await ins.execute(['closed-before']);
    ins.close();
    expect(replicaIds).toContain(await id(c)); // opens the replica's connection
    await c.execute('SET @ps_x = ?', [42]);
    await c.execute('SET @ps_y = ?', ['forty-three']);
    // Read on the replica (a hint: readwritesplit keeps reads of such variables on the primary).
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @ps_x AS x, @ps_y AS y, @@server_id AS id -- maxscale route to slave');
    expect(replicaIds).toContain(rows[0]!.id);
    expect([rows[0]!.x, rows[0]!.y]).toEqual([42, 'forty-three']);
    // A second session: its replica connection opens after the SET and replays it from the history.
    const c2 = await client();
    const ins2 = await c2.prepare('INSERT INTO t (v) VALUES (?)');
    ins2.close();
    await c2.execute('SET @ps_z = ?', [44]);
    const [z] = await c2.query<mysql.RowDataPacket[]>('SELECT @ps_z AS z, @@server_id AS id -- maxscale route to slave');
    expect(replicaIds).toContain(z[0]!.id);
    expect(z[0]!.z).toBe(44);
  });

  it('the mariadb connector: transactions, prepared statements (with -1 pipelining) and change user', async () => {
    const c = await mariadb.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app, database: 'rws', pipelining: true });
    open.push(c);
    await c.beginTransaction();
    const [inTrx] = await c.query<{ id: number }[]>('SELECT @@server_id AS id');
    expect(Number(inTrx!.id)).toBe(primaryId);
    await c.query("INSERT INTO t (v) VALUES ('mdb')");
    await c.commit();
    const rows = await c.execute<{ id: number; x: number }[]>('SELECT @@server_id AS id, ? * 2 AS x', [21]);
    expect(Number(rows[0]!.x)).toBe(42);
    await c.query("SET @who = 'before'");
    await c.changeUser({ user: CREDENTIALS.app.user, password: CREDENTIALS.app.password, database: 'rws' });
    const [after] = await c.query<{ who: string | null }[]>('SELECT @who AS who');
    expect(after!.who).toBeNull();
    const again = await c.execute<{ x: number }[]>('SELECT ? * 3 AS x', [3]);
    expect(Number(again[0]!.x)).toBe(9);
  });
});
