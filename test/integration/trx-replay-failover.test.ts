// Failover under the proxy: the primary process is SIGKILLed and a replica promoted by hand
// (what an operator or a failover script does). With transaction_replay the open transaction is
// replayed on the new primary and the client's COMMIT succeeds; with master_reconnection and
// delayed_retry an idle session's next write goes to the new primary. Each test promotes a
// replica, so each gets its own servers.
import mysql from 'mysql2/promise';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTopology, type MariaDbServer, type Topology } from '../harness/mariadb.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { bundledPlugin } from '../unit/plugin-fixtures.js';
import { waitForServer } from './monitor-helpers.js';

let rws: string;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  rws = await bundledPlugin('routers/readwritesplit');
}, 600_000);

afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

async function setUp(service: Record<string, unknown>): Promise<{ topo: Topology; proxy: TestProxy; c: mysql.Connection }> {
  const topo = await startTopology({ replicas: 2 });
  cleanup.push(() => topo.stop());
  await topo.primary.query('CREATE TABLE test.fo (id INT PRIMARY KEY, v VARCHAR(20), n INT NOT NULL DEFAULT 0)');
  await topo.primary.query("INSERT INTO test.fo VALUES (1, 'one', 0)");
  await topo.waitForReplicas();
  const proxy = await startTestProxy({
    servers: topo.servers.map((s) => ({ name: s.name, port: s.port })),
    // failcount 1: the dead primary loses its role one tick after its replicas left it.
    monitor: { monitor_interval: '200ms', failcount: 1, backend_connect_timeout: '1s', backend_read_timeout: '1s' },
    plugins: { rws: { file: rws } },
    service: { router: 'rws', ...service },
  });
  cleanup.push(() => proxy.stop());
  await waitForServer(proxy.adminPort, 'primary', (s) => s.role === 'primary');
  for (const r of topo.replicas) await waitForServer(proxy.adminPort, r.name, (s) => s.role === 'replica');
  const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app, database: 'test' });
  cleanup.push(() => c.end().catch(() => c.destroy()));
  return { topo, proxy, c };
}

/** The failover script: replica1 becomes the primary, replica2 replicates from it. */
async function promote(topo: Topology): Promise<MariaDbServer> {
  const [next, other] = topo.replicas as [MariaDbServer, MariaDbServer];
  await next.query('STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = 0');
  await other.query(
    `STOP SLAVE; CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${next.port}, MASTER_USER='${CREDENTIALS.repl.user}', ` +
      `MASTER_PASSWORD='${CREDENTIALS.repl.password}', MASTER_USE_GTID=slave_pos; START SLAVE`,
  );
  return next;
}

/** The server a primary-bound statement of `c` runs on (FOR UPDATE sends it to the primary). */
async function serverIdOf(c: mysql.Connection): Promise<number> {
  const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id FROM DUAL FOR UPDATE');
  return Number(rows[0]!.id);
}

describe('failover to a promoted replica', () => {
  it('transaction_replay: a transaction with a statement in flight when the primary dies is replayed on the new primary; COMMIT succeeds and every write is there once', async () => {
    const { topo, proxy, c } = await setUp({ transaction_replay: true, transaction_replay_timeout: '30s' });
    await c.query("SET @tag = 'kept'");
    // Prepared before the failover: the new connection must know it under the same client id.
    await c.execute('SELECT v FROM fo WHERE id = ?', [1]);
    expect(await serverIdOf(c)).toBe(topo.primary.serverId);

    await c.query('BEGIN');
    await c.query("INSERT INTO fo (id, v) VALUES (2, 'two')");
    await c.query('UPDATE fo SET n = n + 1 WHERE id = 1');
    const [seen] = await c.query<mysql.RowDataPacket[]>('SELECT id, v, n FROM fo ORDER BY id');
    await c.execute('INSERT INTO fo (id, v) VALUES (?, ?)', [3, 'three']);
    // In flight while the primary dies: sent again on the new primary after the replay.
    const inFlight = c.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS rows_now, SUM(n) AS bumps, SLEEP(0.5) AS s FROM fo');
    await new Promise((r) => setTimeout(r, 150));
    await topo.primary.kill();
    const next = await promote(topo);
    await waitForServer(proxy.adminPort, next.name, (s) => s.role === 'primary', 15_000);

    const [[now]] = (await inFlight) as unknown as [[{ rows_now: number; bumps: string; s: number }]];
    expect(now).toEqual({ rows_now: 3, bumps: '1', s: 0 });
    const [again] = await c.query<mysql.RowDataPacket[]>('SELECT id, v, n FROM fo WHERE id <= 2 ORDER BY id');
    expect(again).toEqual(seen);
    await c.execute('INSERT INTO fo (id, v) VALUES (?, ?)', [4, 'four']);
    const [[{ tag }]] = (await c.query('SELECT @tag AS tag')) as unknown as [[{ tag: string }]];
    expect(tag).toBe('kept');
    await c.query('COMMIT');

    expect(await serverIdOf(c)).toBe(next.serverId);
    const rows = await next.query<{ id: number; v: string; n: number }[]>('SELECT id, v, n FROM test.fo ORDER BY id');
    expect(rows).toEqual([
      { id: 1, v: 'one', n: 1 },
      { id: 2, v: 'two', n: 0 },
      { id: 3, v: 'three', n: 0 },
      { id: 4, v: 'four', n: 0 },
    ]);
    // And replicated from there: the topology goes on.
    const [other] = topo.replicas.filter((r) => r !== next);
    await expect.poll(() => other!.query<{ c: number }[]>('SELECT COUNT(*) AS c FROM test.fo').then((r) => Number(r[0]!.c)), { timeout: 10_000 }).toBe(4);
  }, 120_000);

  it('master_reconnection + delayed_retry: an idle session\'s next write waits for the failover and runs on the new primary, with its session state and prepared statements', async () => {
    const { topo, proxy, c } = await setUp({ master_reconnection: true, delayed_retry: true, delayed_retry_timeout: '30s' });
    await c.query("SET @tag = 'kept'");
    await c.execute('INSERT INTO fo (id, v) VALUES (?, ?)', [2, 'two']);
    expect(await serverIdOf(c)).toBe(topo.primary.serverId);
    // Replication is asynchronous: without this, row 2 may not have reached the replica that is
    // promoted, and the failover itself (not the proxy) loses it.
    await topo.waitForReplicas();

    await topo.primary.kill();
    // Sent during the failover: delayed_retry holds it until there is a primary again.
    const write = c.execute<mysql.ResultSetHeader>('INSERT INTO fo (id, v) VALUES (?, ?)', [3, 'three']);
    await new Promise((r) => setTimeout(r, 300));
    const next = await promote(topo);
    await waitForServer(proxy.adminPort, next.name, (s) => s.role === 'primary', 15_000);
    const [res] = await write;
    expect(res.affectedRows).toBe(1);

    expect(await serverIdOf(c)).toBe(next.serverId);
    const [[{ tag }]] = (await c.query('SELECT @tag AS tag FROM DUAL FOR UPDATE')) as unknown as [[{ tag: string }]];
    expect(tag).toBe('kept');
    // The connection on the new primary is now the session's main one: COM_CHANGE_USER runs there.
    await c.changeUser({ user: CREDENTIALS.app.user, password: CREDENTIALS.app.password, database: 'test' });
    const [[{ after }]] = (await c.query('SELECT @tag AS after FROM DUAL FOR UPDATE')) as unknown as [[{ after: string | null }]];
    expect(after).toBeNull(); // a new session, as MariaDB does on COM_CHANGE_USER
    await c.query("INSERT INTO fo (id, v) VALUES (4, 'four')");
    const rows = await next.query<{ id: number }[]>('SELECT id FROM test.fo ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual([1, 2, 3, 4]);
  }, 120_000);
});
