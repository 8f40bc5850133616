// transaction_replay: the connection a transaction runs on is killed on the server (KILL
// CONNECTION from another session); the proxy reconnects, replays the session state and the
// transaction's statements, compares results, and the client goes on as if nothing happened —
// or, when the data changed under it, gets an error instead of a silently different transaction.
import mariadb from 'mariadb';
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

/**
 * Runs `sql` (tagged with `marker`) on `c` and, once the server runs it, kills that connection's
 * thread from a root connection (found in PROCESSLIST by user and statement, as an operator
 * would); resolves to what the client got.
 */
interface Outcome { rows: unknown; errno: number | null; code?: string; message?: string; fatal?: boolean }

async function killMidStatement(c: mysql.Connection, sql: string, marker: string): Promise<Outcome> {
  const running = c.query<mysql.RowDataPacket[]>(sql).then(
    (r): Outcome => ({ rows: r[0] as unknown, errno: null }),
    (e: { errno?: number; code?: string; message?: string; fatal?: boolean }): Outcome => ({ rows: null, errno: e.errno ?? -1, code: e.code, message: e.message, fatal: e.fatal }),
  );
  let id: number | undefined;
  for (let i = 0; i < 200 && id === undefined; i++) {
    const rows = await topo.primary.query<{ ID: number }[]>(
      `SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'app' AND INFO LIKE '%${marker}%' AND INFO NOT LIKE '%PROCESSLIST%'`,
    );
    id = rows[0]?.ID;
    if (id === undefined) await new Promise((r) => setTimeout(r, 10));
  }
  if (id === undefined) throw new Error(`statement ${marker} never ran`);
  await topo.primary.query(`KILL CONNECTION ${id}`);
  return running;
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

  it('metadata caching: an execute whose column definitions the lost connection skipped is replayed on one that sends them (mariadb connector)', async () => {
    // `SELECT ? AS a`: its columns depend on the parameter's type. The lost connection had run
    // it with an integer before, so in the transaction it skipped the definitions; the new
    // connection has only the prepare's (other) definitions and sends them. Same result, other
    // bytes: the replay must not call that a different transaction.
    const p = await proxy({});
    const c = await mariadb.createConnection({ host: '127.0.0.1', port: p.port, ...CREDENTIALS.app, database: 'replay' });
    try {
      expect(c.info?.serverPermitSkipMeta).toBe(true);
      const st = await c.prepare('SELECT ? AS a');
      expect((await st.execute([5]))[0].a).toBe(5);
      const tid = Number((await c.query('SELECT CONNECTION_ID() AS tid FROM DUAL FOR UPDATE'))[0].tid);
      await c.beginTransaction();
      expect((await st.execute([6]))[0].a).toBe(6);
      await killBackend(tid);
      expect((await st.execute([7]))[0].a).toBe(7);
      expect((await st.execute(['x']))[0].a).toBe('x');
      await c.commit();
      st.close();
    } finally {
      await c.end().catch(() => {});
    }
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

  it('a statement in flight when its connection is killed (KILL CONNECTION: MariaDB just closes it) is sent again after the replay: the client gets its result', async () => {
    await table('t_kill');
    const p = await proxy({});
    const c = await client(p);
    await c.query('BEGIN');
    await c.query("INSERT INTO t_kill VALUES (3, 'three')");
    const got = await killMidStatement(c, 'SELECT /* kill-1 */ SLEEP(1) AS s, (SELECT COUNT(*) FROM t_kill) AS n', 'kill-1');
    expect(got.errno).toBeNull();
    expect(got.rows).toEqual([{ s: 0, n: 3 }]);
    await c.query("INSERT INTO t_kill VALUES (4, 'four')");
    await c.query('COMMIT');
    const rows = await topo.primary.query<{ id: number }[]>('SELECT id FROM replay.t_kill ORDER BY id');
    expect(rows.map((x) => x.id)).toEqual([1, 2, 3, 4]);
  });

  it('a write waiting for a row lock and killed there is replayed and runs once the lock is free', async () => {
    await table('t_lock');
    const p = await proxy({});
    const c = await client(p);
    const holder = await mysql.createConnection({ host: '127.0.0.1', port: sharedTopology().primary.port, ...CREDENTIALS.root });
    open.push(holder);
    await holder.query('BEGIN');
    await holder.query('SELECT * FROM replay.t_lock WHERE id = 1 FOR UPDATE');
    await c.query('BEGIN');
    await c.query("INSERT INTO t_lock VALUES (3, 'three')");
    // The lock is released a moment after the kill: the replayed UPDATE waits for it, then runs.
    setTimeout(() => void holder.query('ROLLBACK'), 300);
    const got = await killMidStatement(c, "UPDATE /* kill-2 */ t_lock SET v = 'uno' WHERE id = 1", 'kill-2');
    expect(got.errno).toBeNull();
    expect((got.rows as mysql.ResultSetHeader).affectedRows).toBe(1);
    await c.query('COMMIT');
    const rows = await topo.primary.query<{ id: number; v: string }[]>('SELECT id, v FROM replay.t_lock ORDER BY id');
    expect(rows).toEqual([{ id: 1, v: 'uno' }, { id: 2, v: 'two' }, { id: 3, v: 'three' }]);
  });

  for (const safeCommit of [true, false]) {
    it(`a COMMIT killed in flight ${safeCommit ? 'is not replayed (transaction_replay_safe_commit, the default): the client gets 2013' : 'is replayed with transaction_replay_safe_commit=false'}`, async () => {
      // FLUSH TABLES WITH READ LOCK holds the COMMIT of a transaction with changes ("Waiting for
      // commit lock") until the kill; whether a killed COMMIT had committed is what the proxy
      // cannot know, so by default it must not run the transaction a second time.
      await table(`t_commit_${safeCommit}`);
      const p = await proxy(safeCommit ? {} : { transaction_replay_safe_commit: false });
      const c = await client(p);
      const holder = await mysql.createConnection({ host: '127.0.0.1', port: sharedTopology().primary.port, ...CREDENTIALS.root });
      open.push(holder);
      await c.query('BEGIN');
      await c.query(`INSERT INTO t_commit_${safeCommit} VALUES (3, 'three')`);
      await holder.query('FLUSH TABLES WITH READ LOCK');
      try {
        if (!safeCommit) setTimeout(() => void holder.query('UNLOCK TABLES'), 300);
        const got = await killMidStatement(c, `COMMIT /* kill-commit-${safeCommit} */`, `kill-commit-${safeCommit}`);
        if (safeCommit) {
          expect(got.errno, got.message).toBe(2013);
        } else {
          expect(got.errno, got.message).toBeNull();
        }
      } finally {
        await holder.query('UNLOCK TABLES');
      }
      const rows = await topo.primary.query<{ n: number }[]>(`SELECT COUNT(*) AS n FROM replay.t_commit_${safeCommit} WHERE id = 3`);
      expect(Number(rows[0]!.n)).toBe(safeCommit ? 0 : 1);
    });
  }

  it('without transaction_replay a statement killed mid-flight fails as it does directly: connection lost', async () => {
    await table('t_kill_off');
    const direct = await mysql.createConnection({ host: '127.0.0.1', port: sharedTopology().primary.port, ...CREDENTIALS.app, database: 'replay' });
    open.push(direct);
    await direct.query('BEGIN');
    const expected = await killMidStatement(direct, 'SELECT /* kill-3 */ SLEEP(1) AS s', 'kill-3');
    const p = await proxy({ transaction_replay: false });
    const c = await client(p);
    await c.query('BEGIN');
    await c.query("INSERT INTO t_kill_off VALUES (3, 'three')");
    const got = await killMidStatement(c, 'SELECT /* kill-4 */ SLEEP(1) AS s', 'kill-4');
    // MariaDB closes the killed connection without an ERR (mysql2: PROTOCOL_CONNECTION_LOST, no
    // errno; C clients report CR_SERVER_LOST, 2013). The proxy says 2013 in an ERR, then closes.
    expect(expected).toMatchObject({ rows: null, code: 'PROTOCOL_CONNECTION_LOST', fatal: true });
    expect(got).toMatchObject({ rows: null, errno: 2013 });
    await expect(c.query('SELECT 1')).rejects.toThrow();
    const rows = await topo.primary.query<{ id: number }[]>('SELECT id FROM replay.t_kill_off ORDER BY id');
    expect(rows.map((x) => x.id)).toEqual([1, 2]);
  });

  // MariaDB 10.11 closes a killed (or shut down, or timed out) connection without an ERR; a proxy
  // in between does send one first (wasmscale and MaxScale: 2013, MaxScale also 1927). Chained
  // proxies make that ERR real: client -> proxy A (the one under test) -> proxy B -> MariaDB.
  async function chain(replay: boolean): Promise<{ a: TestProxy; b: TestProxy }> {
    const b = await startTestProxy({ servers: [{ name: 'db1', port: sharedTopology().primary.port }] });
    proxies.push(b);
    const a = await startTestProxy({ servers: [{ name: 'viaB', port: b.port }], service: { transaction_replay: replay } });
    proxies.push(a);
    return { a, b };
  }

  it('an ERR that means "connection lost" (2013 from a proxy in between) ending a statement in a transaction is not shown: the statement runs again after the replay', async () => {
    await table('t_err_lost');
    const { a } = await chain(true);
    const c = await client(a);
    await c.query('BEGIN');
    await c.query("INSERT INTO t_err_lost VALUES (3, 'three')");
    const got = await killMidStatement(c, 'SELECT /* kill-5 */ SLEEP(1) AS s, (SELECT COUNT(*) FROM t_err_lost) AS n', 'kill-5');
    expect(got).toEqual({ rows: [{ s: 0, n: 3 }], errno: null });
    await c.query('COMMIT');
    const rows = await topo.primary.query<{ id: number }[]>('SELECT id FROM replay.t_err_lost ORDER BY id');
    expect(rows.map((x) => x.id)).toEqual([1, 2, 3]);
  });

  it('without transaction_replay that ERR reaches the client as it does when connected to the next proxy directly', async () => {
    await table('t_err_off');
    const { a, b } = await chain(false);
    const direct = await client(b);
    await direct.query('BEGIN');
    const expected = await killMidStatement(direct, 'SELECT /* kill-6 */ SLEEP(1) AS s', 'kill-6');
    const c = await client(a);
    await c.query('BEGIN');
    await c.query("INSERT INTO t_err_off VALUES (3, 'three')");
    const got = await killMidStatement(c, 'SELECT /* kill-7 */ SLEEP(1) AS s', 'kill-7');
    expect(expected).toMatchObject({ rows: null, errno: 2013 });
    expect(got).toMatchObject({ rows: null, errno: expected.errno, message: expected.message });
    const rows = await topo.primary.query<{ id: number }[]>('SELECT id FROM replay.t_err_off ORDER BY id');
    expect(rows.map((x) => x.id)).toEqual([1, 2]);
  });
});
