// causal_reads through readwritesplit: a read that follows a write sees it, on a replica when the
// replica catches up in time, on the primary when it does not. Replication is held back by a
// global read lock on the replicas, which also shows the reads really would miss the write
// without causal_reads. With session tracking (clients that negotiate CLIENT_SESSION_TRACK) the
// write's GTID comes with its OK packet: the primary's general log shows no SELECT @@last_gtid.
import * as mariadb from 'mariadb';
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
const open: { end(): Promise<void>; destroy(): void }[] = [];
type Mode = 'none' | 'local' | 'global' | 'fast' | 'fast_global' | 'universal';

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
  await Promise.all(topo.replicas.map((r) => r.query('UNLOCK TABLES')));
  await Promise.all(topo.replicas.map((r) => r.query('START SLAVE SQL_THREAD')));
  await topo.primary.query('SET GLOBAL general_log = OFF');
});
afterAll(() => topo?.close());

async function startProxy(causal: Mode): Promise<TestProxy> {
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
  return p;
}

/** A mysql2 connection whose reads reach a replica (the monitor has found the roles). */
async function client(causal: Mode, flags?: string[]): Promise<mysql.Connection> {
  const p = await startProxy(causal);
  return onReplica(async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: p.port, ...CREDENTIALS.app, database: 'causal', ...(flags ? { flags } : {}) });
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id');
    return { c, id: rows[0]!.id as number };
  });
}

async function onReplica<C extends { end(): Promise<void>; destroy(): void }>(connect: () => Promise<{ c: C; id: number }>): Promise<C> {
  for (let i = 0; i < 100; i++) {
    const { c, id } = await connect();
    if (replicaIds.includes(id)) {
      open.push(c);
      return c;
    }
    await c.end();
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the proxy never routed a read to a replica');
}

/** The same through the mariadb connector. */
async function mariadbClient(causal: Mode): Promise<mariadb.Connection> {
  const p = await startProxy(causal);
  return onReplica(async () => {
    const c = await mariadb.createConnection({ host: '127.0.0.1', port: p.port, ...CREDENTIALS.app, database: 'causal' });
    const rows = await c.query<{ id: number }[]>('SELECT @@server_id AS id');
    return { c, id: Number(rows[0]!.id) };
  });
}

async function readBack(c: mysql.Connection, id: number): Promise<{ v: string | null; server: number }> {
  const [rows] = await c.query<mysql.RowDataPacket[]>(`SELECT (SELECT v FROM t WHERE id = ${id}) AS v, @@server_id AS server`);
  return { v: rows[0]!.v as string | null, server: rows[0]!.server as number };
}

// Holding replication back with a global read lock on the replicas keeps their SQL threads
// running: the monitor goes on seeing them as replicas (a stopped SQL thread makes it drop the
// role within one 200 ms interval, and reads would reach the primary for that reason alone).
const holdReplication = () => Promise.all(topo.replicas.map((r) => r.query('FLUSH TABLES WITH READ LOCK')));
const releaseReplication = () => Promise.all(topo.replicas.map((r) => r.query('UNLOCK TABLES')));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the primary's general log afresh (into mysql.general_log); afterEach turns it off. */
async function logPrimary(): Promise<void> {
  await topo.primary.query("SET GLOBAL log_output = 'TABLE'");
  await topo.primary.query('TRUNCATE mysql.general_log');
  await topo.primary.query('SET GLOBAL general_log = ON');
}

/** Statements the primary logged that start with `prefix`. */
async function loggedOnPrimary(prefix: string): Promise<number> {
  const rows = await topo.primary.query<{ n: number }[]>(
    "SELECT COUNT(*) AS n FROM mysql.general_log WHERE command_type = 'Query' AND argument LIKE ?", [`${prefix}%`]);
  return Number(rows[0]!.n);
}

/**
 * Read-your-writes while replication is slow: the replicas apply nothing until 400 ms after the
 * write; the read must wait on a replica and see the row. `read` gives the row's value and the
 * server that answered.
 */
async function slowReplicationRoundTrip(id: number, write: () => Promise<unknown>, read: () => Promise<{ v: string | null; server: number }>) {
  await holdReplication();
  await write();
  const started = Date.now();
  const resume = sleep(400).then(releaseReplication);
  const r = await read();
  await resume;
  return { ...r, waitedMs: Date.now() - started };
}

describe('causal_reads', () => {
  it('none: with replication held back, a read right after a write misses it (the problem)', async () => {
    const c = await client('none');
    await holdReplication();
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
    await holdReplication();
    await c.query("INSERT INTO t VALUES (3, 'three')");
    const started = Date.now();
    const r = await readBack(c, 3);
    expect(r).toEqual({ v: 'three', server: primaryId });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('local: prepared-statement reads are causal too', async () => {
    const c = await client('local');
    await holdReplication();
    await c.execute('INSERT INTO t VALUES (?, ?)', [4, 'four']);
    const [rows] = await c.execute<mysql.RowDataPacket[]>('SELECT v, @@server_id AS server FROM t WHERE id = ?', [4]);
    expect(rows[0]).toEqual({ v: 'four', server: primaryId });
  });

  it('global: a read waits for what any session committed on the primary before it', async () => {
    const c = await client('global');
    await holdReplication();
    // Another connection writes, directly on the primary.
    await topo.primary.query("INSERT INTO causal.t VALUES (5, 'five')");
    const r = await readBack(c, 5);
    expect(r).toEqual({ v: 'five', server: primaryId });
  });

  for (const kind of ['mysql2', 'mariadb'] as const) {
    it(`local with session tracking (${kind}): read-your-writes on a slow replica, no SELECT @@last_gtid on the primary`, async () => {
      const id = kind === 'mysql2' ? 10 : 11;
      let write: () => Promise<unknown>;
      let read: () => Promise<{ v: string | null; server: number }>;
      await logPrimary();
      if (kind === 'mysql2') {
        const c = await client('local');
        write = () => c.query(`INSERT INTO t VALUES (${id}, 'tracked')`);
        read = () => readBack(c, id);
      } else {
        const c = await mariadbClient('local');
        write = () => c.query(`INSERT INTO t VALUES (${id}, 'tracked')`);
        read = async () => {
          const rows = await c.query<{ v: string | null; server: number }[]>(`SELECT (SELECT v FROM t WHERE id = ${id}) AS v, @@server_id AS server`);
          return { v: rows[0]!.v, server: Number(rows[0]!.server) };
        };
      }
      const r = await slowReplicationRoundTrip(id, write, read);
      expect(r.v).toBe('tracked');
      expect(replicaIds).toContain(r.server);
      expect(r.waitedMs).toBeGreaterThanOrEqual(350);
      expect(await loggedOnPrimary('SELECT @@last_gtid')).toBe(0);
      // The connections to the primary were asked to track last_gtid (at connect, not by the client).
      expect(await loggedOnPrimary('SET @@session.session_track_system_variables')).toBeGreaterThanOrEqual(1);
    });
  }

  it('local with session tracking: a write that fails half-applied (MyISAM) is still waited for', async () => {
    await topo.primary.query('CREATE OR REPLACE TABLE causal.m (id INT PRIMARY KEY) ENGINE=MyISAM');
    await topo.waitForReplicas();
    const c = await client('local');
    await logPrimary();
    await holdReplication();
    // Rows 20 and 21 stay (no rollback in MyISAM) and are binlogged; the ERR reports no GTID.
    await expect(c.query('INSERT INTO m VALUES (20), (21), (20)')).rejects.toThrow(/Duplicate entry/);
    // An OK from the primary afterwards does not report that GTID either.
    await c.query('SET @after = 1');
    const resume = sleep(400).then(releaseReplication);
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n, @@server_id AS server FROM m');
    await resume;
    expect(Number(rows[0]!.n)).toBe(2);
    expect(replicaIds).toContain(rows[0]!.server);
    expect(await loggedOnPrimary('SELECT @@last_gtid')).toBe(1);
  });

  it('local, client without CLIENT_SESSION_TRACK: same result, the GTID is asked from the primary', async () => {
    await logPrimary();
    const c = await client('local', ['-SESSION_TRACK']);
    const r = await slowReplicationRoundTrip(12, () => c.query("INSERT INTO t VALUES (12, 'untracked')"), () => readBack(c, 12));
    expect(r.v).toBe('untracked');
    expect(replicaIds).toContain(r.server);
    expect(await loggedOnPrimary('SELECT @@last_gtid')).toBe(1);
    expect(await loggedOnPrimary('SET @@session.session_track_system_variables')).toBe(0);
    // Its OK packets keep the format it negotiated: affected rows and the info string are intact.
    const [res] = await c.query<mysql.ResultSetHeader>("UPDATE t SET v = 'untracked2' WHERE id IN (12, 9999)");
    expect(res.affectedRows).toBe(1);
    expect(res.info).toMatch(/Rows matched: 1 +Changed: 1/);
  });

  it('local: tracking stops when the client sets session_track_system_variables itself (falls back to asking)', async () => {
    const c = await client('local');
    const [vars] = await c.query<mysql.RowDataPacket[]>('SELECT @@session_track_system_variables AS v');
    // Documented: the connection-level SET is visible in the value.
    expect(String(vars[0]!.v).split(',')).toContain('last_gtid');
    await c.query("SET session_track_system_variables = 'autocommit'");
    await logPrimary();
    const r = await slowReplicationRoundTrip(13, () => c.query("INSERT INTO t VALUES (13, 'own list')"), () => readBack(c, 13));
    expect(r.v).toBe('own list');
    expect(await loggedOnPrimary('SELECT @@last_gtid')).toBe(1);
  });

  it('fast: no wait; the primary while the replicas lag, a replica once the monitor saw it catch up', async () => {
    const c = await client('fast');
    await holdReplication();
    await c.query("INSERT INTO t VALUES (14, 'fast')");
    const started = Date.now();
    const lagging = await readBack(c, 14);
    expect(lagging).toEqual({ v: 'fast', server: primaryId });
    expect(Date.now() - started).toBeLessThan(500);
    await releaseReplication();
    await topo.waitForReplicas();
    let r = await readBack(c, 14);
    for (let i = 0; i < 50 && !replicaIds.includes(r.server); i++) {
      await sleep(100); // the monitor (200 ms interval) has not seen the replicas' new position yet
      r = await readBack(c, 14);
    }
    expect(r.v).toBe('fast');
    expect(replicaIds).toContain(r.server);
  });

  it('fast_global: the primary while replicas miss what another session wrote, then a replica', async () => {
    const c = await client('fast_global');
    await holdReplication();
    await topo.primary.query("INSERT INTO causal.t VALUES (15, 'fast global')");
    let r = await readBack(c, 15);
    for (let i = 0; i < 20 && r.server !== primaryId; i++) {
      await sleep(100); // until the monitor has seen the primary's new position
      r = await readBack(c, 15);
    }
    expect(r).toEqual({ v: 'fast global', server: primaryId });
    await releaseReplication();
    await topo.waitForReplicas();
    for (let i = 0; i < 50 && !replicaIds.includes(r.server); i++) {
      await sleep(100);
      r = await readBack(c, 15);
    }
    expect(r.v).toBe('fast global');
    expect(replicaIds).toContain(r.server);
  });

  it('global: a read waits on a slow replica for what another session committed (gtid_binlog_pos)', async () => {
    const c = await client('global');
    const r = await slowReplicationRoundTrip(17, () => topo.primary.query("INSERT INTO causal.t VALUES (17, 'global')"), () => readBack(c, 17));
    expect(r.v).toBe('global');
    expect(replicaIds).toContain(r.server);
    expect(r.waitedMs).toBeGreaterThanOrEqual(350);
  });

  it('universal: a read waits for the primary\'s gtid_current_pos on a slow replica', async () => {
    const c = await client('universal');
    const r = await slowReplicationRoundTrip(16, () => topo.primary.query("INSERT INTO causal.t VALUES (16, 'universal')"), () => readBack(c, 16));
    expect(r.v).toBe('universal');
    expect(replicaIds).toContain(r.server);
    expect(r.waitedMs).toBeGreaterThanOrEqual(350);
  });
});
