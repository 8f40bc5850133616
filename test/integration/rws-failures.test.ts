// Failures under readwritesplit on a private primary + replica (so they can be killed):
// retry_failed_reads — a replica killed while it runs an autocommit read: the read runs again on
// the primary and the client gets its result; master_reconnection — the main connection killed
// while idle: the session goes on and the next write reconnects with the session's state.
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTopology, type Topology } from '../harness/mariadb.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { bundledPlugin } from '../unit/plugin-fixtures.js';

let topo: Topology;
let rws: string;
const proxies: TestProxy[] = [];
const open: mysql.Connection[] = [];

beforeAll(async () => {
  [topo, rws] = await Promise.all([startTopology({ replicas: 1 }), bundledPlugin('routers/readwritesplit')]);
  const root = await mysql.createConnection({ host: '127.0.0.1', port: topo.primary.port, ...CREDENTIALS.root });
  await root.query('CREATE DATABASE IF NOT EXISTS f');
  await root.query('CREATE OR REPLACE TABLE f.t (id INT PRIMARY KEY)');
  await root.end();
  await topo.waitForReplicas();
}, 600_000);

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end().catch(() => c.destroy())));
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});
afterAll(async () => {
  await topo?.stop();
});

async function session(service: Record<string, unknown> = {}): Promise<mysql.Connection> {
  const p = await startTestProxy({
    servers: [{ name: 'db1', port: topo.primary.port }, { name: 'db2', port: topo.replicas[0]!.port }],
    monitor: {},
    plugins: { rws: { file: rws } },
    service: { router: 'rws', ...service },
  });
  proxies.push(p);
  for (let i = 0; i < 100; i++) {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: p.port, ...CREDENTIALS.app, database: 'f' });
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id');
    if (rows[0]!.id === topo.replicas[0]!.serverId) {
      open.push(c);
      return c;
    }
    await c.end();
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('reads never reached the replica');
}

async function killPrimaryThread(threadId: number): Promise<void> {
  const root = await mysql.createConnection({ host: '127.0.0.1', port: topo.primary.port, ...CREDENTIALS.root });
  await root.query(`KILL CONNECTION ${threadId}`);
  await root.end();
  await new Promise((r) => setTimeout(r, 150));
}

describe('readwritesplit failures', () => {
  it('master_reconnection: the main connection killed while idle; the next write reconnects with the session state', async () => {
    const c = await session({ master_reconnection: true });
    await c.query("SET @keep = 'yes'");
    const [[{ tid }]] = await c.query<mysql.RowDataPacket[]>('SELECT CONNECTION_ID() AS tid FROM DUAL FOR UPDATE') as unknown as [[{ tid: number }]];
    await killPrimaryThread(tid);
    await c.query('INSERT INTO t VALUES (1)');
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @keep AS k, CONNECTION_ID() AS tid FROM DUAL FOR UPDATE');
    expect(rows[0]!.k).toBe('yes');
    expect(rows[0]!.tid).not.toBe(tid);
  });

  it('without master_reconnection the session ends with its main connection (MaxScale default)', async () => {
    const c = await session();
    const [[{ tid }]] = await c.query<mysql.RowDataPacket[]>('SELECT CONNECTION_ID() AS tid FROM DUAL FOR UPDATE') as unknown as [[{ tid: number }]];
    await killPrimaryThread(tid);
    await expect(c.query('INSERT INTO t VALUES (2)')).rejects.toThrow();
  });

  it('delayed_retry: a write while there is no primary waits until the primary is back, then runs', async () => {
    const c = await session({ master_reconnection: true, delayed_retry: true, delayed_retry_timeout: '20s' });
    await c.query("SET @who = 'retried'");
    await topo.primary.kill();
    const started = Date.now();
    const write = c.query('INSERT INTO t VALUES (42)');
    // Down long enough for the monitor to see it (failcount × 200 ms), then back.
    await new Promise((r) => setTimeout(r, 2500));
    await topo.primary.start();
    await write;
    expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @who AS who, COUNT(*) AS n FROM t WHERE id = 42 FOR UPDATE');
    expect(rows[0]).toMatchObject({ who: 'retried', n: 1 });
  });

  it('without delayed_retry the same write fails at once with the router\'s message', async () => {
    const c = await session({ master_reconnection: true });
    await topo.primary.kill();
    try {
      for (let i = 0; i < 100; i++) {
        const err = await c.query('INSERT INTO t VALUES (43)').then(() => null, (e: { errno: number; message: string }) => e);
        if (err?.errno === 1105) {
          expect(err.message).toMatch(/no primary/);
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('the write never failed with 1105');
    } finally {
      await topo.primary.start();
    }
  });

  // Last: it kills the replica.
  it('retry_failed_reads: the replica dies during an autocommit read; the read is retried on the primary', async () => {
    const c = await session();
    const pending = c.query<mysql.RowDataPacket[]>('SELECT SLEEP(1.5) AS s, @@server_id AS id');
    await new Promise((r) => setTimeout(r, 400));
    await topo.replicas[0]!.kill();
    const [rows] = await pending;
    expect(rows[0]!.id).toBe(topo.primary.serverId);
    // The session goes on.
    const [again] = await c.query<mysql.RowDataPacket[]>('SELECT 1 + 1 AS two');
    expect(again[0]!.two).toBe(2);
  });
});
