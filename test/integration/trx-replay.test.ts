// transaction_replay: the connection a transaction runs on is killed on the server (KILL
// CONNECTION from another session); the proxy reconnects, replays the session state and the
// transaction's statements, compares results, and the client goes on as if nothing happened —
// or, when the data changed under it, gets an error instead of a silently different transaction.
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { connectSharedTopology, sharedTopology, type SharedTopologyClient } from '../harness/shared.js';
import { bundledPlugin } from '../unit/plugin-fixtures.js';

let topo: SharedTopologyClient;
let rws: string;
const proxies: TestProxy[] = [];
const open: mysql.Connection[] = [];

beforeAll(async () => {
  topo = connectSharedTopology();
  rws = await bundledPlugin('routers/readwritesplit');
  await topo.primary.query('CREATE DATABASE IF NOT EXISTS replay');
}, 600_000);

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end().catch(() => c.destroy())));
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});
afterAll(() => topo?.close());

async function proxy(service: Record<string, unknown>, withReplicas = false): Promise<TestProxy> {
  const t = sharedTopology();
  const servers = [{ name: 'db1', port: t.primary.port }];
  if (withReplicas) servers.push({ name: 'db2', port: t.replicas[0]!.port }, { name: 'db3', port: t.replicas[1]!.port });
  const p = await startTestProxy({
    servers,
    ...(withReplicas ? { monitor: {}, plugins: { rws: { file: rws } } } : {}),
    service: { transaction_replay: true, ...(withReplicas ? { router: 'rws' } : {}), ...service },
  });
  proxies.push(p);
  return p;
}

async function client(p: TestProxy): Promise<mysql.Connection> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: p.port, ...CREDENTIALS.app, database: 'replay' });
  open.push(c);
  return c;
}

/**
 * The session's thread id on the primary, asked outside the transaction (CONNECTION_ID() inside
 * it would be replayed and differ). FOR UPDATE makes readwritesplit send it to the primary.
 */
async function primaryThread(c: mysql.Connection): Promise<number> {
  const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT CONNECTION_ID() AS tid FROM DUAL FOR UPDATE');
  return Number(rows[0]!.tid);
}

/** Kills the backend connection `threadId` on the primary and waits until it is gone. */
async function killBackend(threadId: number): Promise<void> {
  await topo.primary.query(`KILL CONNECTION ${threadId}`);
  for (let i = 0; i < 100; i++) {
    const rows = await topo.primary.query<unknown[]>(`SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ${threadId}`);
    if (rows.length === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  // Let the proxy see the connection close before the client's next statement.
  await new Promise((r) => setTimeout(r, 100));
}

async function table(name: string): Promise<void> {
  await topo.primary.query(`CREATE OR REPLACE TABLE replay.${name} (id INT PRIMARY KEY, v VARCHAR(20))`);
  await topo.primary.query(`INSERT INTO replay.${name} VALUES (1, 'one'), (2, 'two')`);
}

describe('transaction_replay', () => {
  for (const withReplicas of [false, true]) {
    const router = withReplicas ? 'readwritesplit' : 'first-available';
    it(`a transaction survives the loss of its connection and commits everything (${router})`, async () => {
      await table(`t_ok_${withReplicas ? 'rws' : 'fa'}`);
      const name = `t_ok_${withReplicas ? 'rws' : 'fa'}`;
      const p = await proxy({}, withReplicas);
      const c = await client(p);
      await c.query("SET @tag = 'kept'");
      const tid = await primaryThread(c);
      await c.query('BEGIN');
      await c.query(`INSERT INTO ${name} VALUES (3, 'three')`);
      const [before] = await c.query<mysql.RowDataPacket[]>(`SELECT id, v FROM ${name} ORDER BY id`);
      await killBackend(tid);
      // The client goes on: same transaction, same session state, no error.
      await c.query(`INSERT INTO ${name} VALUES (4, 'four')`);
      const [after] = await c.query<mysql.RowDataPacket[]>(`SELECT id, v FROM ${name} ORDER BY id`);
      expect(after.slice(0, before.length)).toEqual(before);
      const [[{ tag }]] = await c.query<mysql.RowDataPacket[]>('SELECT @tag AS tag') as unknown as [[{ tag: string }]];
      expect(tag).toBe('kept');
      await c.query('COMMIT');
      expect(await primaryThread(c)).not.toBe(tid);
      const rows = await topo.primary.query<{ id: number }[]>(`SELECT id FROM replay.${name} ORDER BY id`);
      expect(rows.map((r) => r.id)).toEqual([1, 2, 3, 4]);
    });
  }

  it('prepared statements executed in the transaction are replayed with the new connection\'s ids', async () => {
    await table('t_ps');
    const p = await proxy({});
    const c = await client(p);
    await c.execute('SELECT v FROM t_ps WHERE id = ?', [1]);
    const tid = await primaryThread(c);
    await c.query('BEGIN');
    await c.execute('INSERT INTO t_ps VALUES (?, ?)', [10, 'ten']);
    await killBackend(tid);
    const [r] = await c.execute<mysql.RowDataPacket[]>('SELECT v FROM t_ps WHERE id = ?', [10]);
    expect(r[0]!.v).toBe('ten');
    await c.query('COMMIT');
    const rows = await topo.primary.query<{ id: number }[]>('SELECT id FROM replay.t_ps ORDER BY id');
    expect(rows.map((x) => x.id)).toEqual([1, 2, 10]);
  });

  it('when the data read in the transaction changed meanwhile, the client gets an error, not a different transaction', async () => {
    await table('t_changed');
    const p = await proxy({});
    const c = await client(p);
    const tid = await primaryThread(c);
    await c.query('BEGIN');
    await c.query('SELECT id, v FROM t_changed ORDER BY id');
    await topo.primary.query("UPDATE replay.t_changed SET v = 'changed' WHERE id = 1");
    await killBackend(tid);
    const err = await c.query("INSERT INTO t_changed VALUES (5, 'five')").then(() => null, (e: { errno: number; message: string }) => e);
    expect(err?.errno).toBe(2013);
    expect(err?.message).toMatch(/transaction replay found different results/);
    const rows = await topo.primary.query<{ id: number }[]>('SELECT id FROM replay.t_changed ORDER BY id');
    expect(rows.map((x) => x.id)).toEqual([1, 2]);
  });

  it('without transaction_replay the session ends when its connection is killed (as MaxScale by default)', async () => {
    await table('t_off');
    const p = await proxy({ transaction_replay: false });
    const c = await client(p);
    const tid = await primaryThread(c);
    await c.query('BEGIN');
    await c.query("INSERT INTO t_off VALUES (3, 'three')");
    await killBackend(tid);
    await expect(c.query("INSERT INTO t_off VALUES (4, 'four')")).rejects.toThrow();
    const rows = await topo.primary.query<{ id: number }[]>('SELECT id FROM replay.t_off ORDER BY id');
    expect(rows.map((x) => x.id)).toEqual([1, 2]);
  });
});
