// causal_reads through readwritesplit: a read that follows a write sees it, on a replica when the
// replica catches up in time, on the primary when it does not. Replication is held back by
// stopping the replicas' SQL threads, which also shows the reads really would miss the write
// without causal_reads.
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { connectSharedTopology, sharedTopology, type SharedTopologyClient } from '../harness/shared.js';
import { bundledPlugin } from '../unit/plugin-fixtures.js';

let topo: SharedTopologyClient;
let rws: string;
let primaryId: number;
let replicaIds: number[];
const proxies: TestProxy[] = [];
const open: mysql.Connection[] = [];

beforeAll(async () => {
  topo = connectSharedTopology();
  rws = await bundledPlugin('routers/readwritesplit');
  const t = sharedTopology();
  primaryId = t.primary.serverId;
  replicaIds = t.replicas.map((r) => r.serverId);
  await topo.primary.query('CREATE DATABASE IF NOT EXISTS causal');
  await topo.primary.query('CREATE OR REPLACE TABLE causal.t (id INT PRIMARY KEY, v VARCHAR(20))');
  await topo.waitForReplicas();
}, 600_000);

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end().catch(() => c.destroy())));
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
  await Promise.all(topo.replicas.map((r) => r.query('START SLAVE SQL_THREAD')));
});
afterAll(() => topo?.close());

async function client(causal: 'none' | 'local' | 'global'): Promise<mysql.Connection> {
  const t = sharedTopology();
  const p = await startTestProxy({
    servers: [
      { name: 'db1', port: t.primary.port },
      { name: 'db2', port: t.replicas[0]!.port },
      { name: 'db3', port: t.replicas[1]!.port },
    ],
    monitor: {},
    plugins: { rws: { file: rws } },
    service: { router: 'rws', causal_reads: causal, causal_reads_timeout: '1s' },
  });
  proxies.push(p);
  // Wait for the monitor's roles: reads reach a replica.
  for (let i = 0; i < 100; i++) {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: p.port, ...CREDENTIALS.app, database: 'causal' });
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id');
    if (replicaIds.includes(rows[0]!.id as number)) {
      open.push(c);
      return c;
    }
    await c.end();
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the proxy never routed a read to a replica');
}

async function readBack(c: mysql.Connection, id: number): Promise<{ v: string | null; server: number }> {
  const [rows] = await c.query<mysql.RowDataPacket[]>(`SELECT (SELECT v FROM t WHERE id = ${id}) AS v, @@server_id AS server`);
  return { v: rows[0]!.v as string | null, server: rows[0]!.server as number };
}

const stopReplication = () => Promise.all(topo.replicas.map((r) => r.query('STOP SLAVE SQL_THREAD')));

describe('causal_reads', () => {
  it('none: with replication held back, a read right after a write misses it (the problem)', async () => {
    const c = await client('none');
    await stopReplication();
    await c.query("INSERT INTO t VALUES (1, 'one')");
    const r = await readBack(c, 1);
    expect(replicaIds).toContain(r.server);
    expect(r.v).toBeNull();
  });

  it('local: a read after the session\'s write waits on the replica; on timeout it runs on the primary', async () => {
    const c = await client('local');
    // Replication running: the replica catches up and serves the read.
    await c.query("INSERT INTO t VALUES (2, 'two')");
    const caughtUp = await readBack(c, 2);
    expect(caughtUp.v).toBe('two');
    expect(replicaIds).toContain(caughtUp.server);
    // Held back: the wait times out (1 s) and the read goes to the primary, which has the row.
    await stopReplication();
    await c.query("INSERT INTO t VALUES (3, 'three')");
    const started = Date.now();
    const r = await readBack(c, 3);
    expect(r).toEqual({ v: 'three', server: primaryId });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('local: prepared-statement reads are causal too', async () => {
    const c = await client('local');
    await stopReplication();
    await c.execute('INSERT INTO t VALUES (?, ?)', [4, 'four']);
    const [rows] = await c.execute<mysql.RowDataPacket[]>('SELECT v, @@server_id AS server FROM t WHERE id = ?', [4]);
    expect(rows[0]).toEqual({ v: 'four', server: primaryId });
  });

  it('global: a read waits for what any session committed on the primary before it', async () => {
    const c = await client('global');
    await stopReplication();
    // Another connection writes, directly on the primary.
    await topo.primary.query("INSERT INTO causal.t VALUES (5, 'five')");
    const r = await readBack(c, 5);
    expect(r).toEqual({ v: 'five', server: primaryId });
  });
});
