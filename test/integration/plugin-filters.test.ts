// The filter chain in a running proxy: the bundled firewall and rewrite filters and the
// probe-filter fixture, in front of the shared topology's primary, driven by mysql2. What a
// filter does is compared with what MariaDB answers directly.
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTestProxy, type TestProxy, type TestProxyOptions } from '../harness/proxy.js';
import { sharedTopology } from '../harness/shared.js';
import { bundledPlugin, fixturePlugin } from '../unit/plugin-fixtures.js';

let firewall: string;
let rewrite: string;
let probe: string;
const open: mysql.Connection[] = [];
const proxies: TestProxy[] = [];

beforeAll(async () => {
  [firewall, rewrite, probe] = await Promise.all([bundledPlugin('filters/firewall'), bundledPlugin('filters/rewrite'), fixturePlugin('probe-filter')]);
  const root = await mysql.createConnection({ host: '127.0.0.1', port: sharedTopology().primary.port, ...CREDENTIALS.root });
  await root.query('CREATE DATABASE IF NOT EXISTS filt');
  await root.query('CREATE OR REPLACE TABLE filt.t_new (id INT PRIMARY KEY, v VARCHAR(20))');
  await root.query("INSERT INTO filt.t_new VALUES (1, 'one'), (2, 'two'), (3, 'three')");
  await root.end();
}, 600_000);

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end().catch(() => c.destroy())));
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
});

async function proxyWith(plugins: Record<string, unknown>, filters: string[], opts: Partial<TestProxyOptions> = {}): Promise<TestProxy> {
  const t = sharedTopology();
  const p = await startTestProxy({
    servers: [{ name: 'db1', port: t.primary.port }],
    plugins,
    service: { filters },
    ...opts,
  });
  proxies.push(p);
  return p;
}

async function connect(port: number): Promise<mysql.Connection> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port, ...CREDENTIALS.app, database: 'filt' });
  open.push(c);
  return c;
}

function direct(): Promise<mysql.Connection> {
  return connect(sharedTopology().primary.port);
}

/** The error a query gets (code, SQLSTATE, message), or null if it succeeds. */
async function errorOf(c: mysql.Connection, sql: string, values?: unknown[]): Promise<{ errno: number; sqlState: string; message: string } | null> {
  try {
    await (values ? c.execute(sql, values) : c.query(sql));
    return null;
  } catch (err) {
    const e = err as { errno: number; sqlState: string; message: string };
    return { errno: e.errno, sqlState: e.sqlState, message: e.message };
  }
}

describe('filter chain', () => {
  it('firewall blocks a denied phrase with ERR 1141/42000 and lets everything else through unchanged', async () => {
    const p = await proxyWith({ fw: { file: firewall, config: { deny: ['drop table', 'sleep('] } } }, ['fw']);
    const c = await connect(p.port);
    const e = await errorOf(c, 'DROP   Table filt.t_new');
    expect(e?.errno).toBe(1141);
    expect(e?.sqlState).toBe('42000');
    expect(e?.message).toMatch(/^Access denied for user 'app'@'127\.0\.0\.1': Permission denied, query matched "drop table"$/);
    // The connection is fine afterwards and the table is still there.
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT v FROM t_new ORDER BY id');
    expect(rows.map((r) => r.v)).toEqual(['one', 'two', 'three']);
    // Prepared statements go through filters too (COM_STMT_PREPARE carries the SQL).
    expect((await errorOf(c, 'SELECT SLEEP(?)', [0]))?.errno).toBe(1141);
    const [ps] = await c.execute<mysql.RowDataPacket[]>('SELECT v FROM t_new WHERE id = ?', [2]);
    expect(ps[0]!.v).toBe('two');
  });

  it('rewrite replaces phrases before routing: results equal the rewritten query run directly', async () => {
    const p = await proxyWith({ rw: { file: rewrite, config: { rules: [{ find: 'FROM t_old', replace: 'FROM t_new' }] } } }, ['rw']);
    const c = await connect(p.port);
    const d = await direct();
    const [viaProxy] = await c.query<mysql.RowDataPacket[]>('select id, v from T_OLD order by id');
    const [directly] = await d.query<mysql.RowDataPacket[]>('select id, v from t_new order by id');
    expect(viaProxy).toEqual(directly);
    // Directly, the original statement fails: the proxy really ran something else.
    expect((await errorOf(d, 'select id, v from T_OLD order by id'))?.errno).toBe(1146);
    // And a prepared statement is rewritten at prepare time.
    const [ps] = await c.execute<mysql.RowDataPacket[]>('SELECT v FROM t_old WHERE id = ?', [3]);
    expect(ps[0]!.v).toBe('three');
  });

  it('filters run in the configured order: a rewrite can produce what a later firewall blocks', async () => {
    const plugins = {
      rw: { file: rewrite, config: { rules: [{ find: 'harmless', replace: 'DROP TABLE' }] } },
      fw: { file: firewall, config: { deny: ['drop table'] } },
    };
    const p1 = await proxyWith(plugins, ['rw', 'fw']);
    expect((await errorOf(await connect(p1.port), 'harmless t_new'))?.errno).toBe(1141);
    // The other way round the firewall sees the original text, and MariaDB gets the rewritten
    // one; run it on a table that does not exist so nothing is dropped: 1051 Unknown table.
    const p2 = await proxyWith(plugins, ['fw', 'rw']);
    expect((await errorOf(await connect(p2.port), 'harmless no_such_table'))?.errno).toBe(1051);
  });

  it('on_reply sees each reply: ok, error code, affected rows and row counts as the server sent them', async () => {
    const p = await proxyWith({ probe: { file: probe } }, ['probe']);
    const c = await connect(p.port);
    const last = async () => (await errorOf(c, 'LAST_REPLY'))?.message;
    await c.query('SELECT * FROM t_new');
    expect(await last()).toBe('ok=1 error=0 server=0 affected=0 rows=3');
    await c.query('CREATE TEMPORARY TABLE tmp (a INT)');
    await c.query('INSERT INTO tmp VALUES (1), (2), (3), (4)');
    expect(await last()).toBe('ok=1 error=0 server=0 affected=4 rows=0');
    await errorOf(c, 'SELECT * FROM no_such_table');
    expect(await last()).toBe('ok=0 error=1146 server=0 affected=0 rows=0');
    // A blocked statement never reached the server: the last reply is still the 1146.
    expect((await errorOf(c, 'BLOCK this'))?.errno).toBe(1142);
    expect(await last()).toBe('ok=0 error=1146 server=0 affected=0 rows=0');
    // Binary protocol rows are counted too.
    await c.execute('SELECT id FROM t_new WHERE id > ?', [1]);
    expect(await last()).toBe('ok=1 error=0 server=0 affected=0 rows=2');
  });

  it('on_result sees result sets as text: columns, rows, NULLs, prepared statements converted, big results bounded', async () => {
    const p = await proxyWith({ probe: { file: probe } }, ['probe']);
    const c = await connect(p.port);
    const last = async () => (await errorOf(c, 'LAST_RESULT'))?.message;
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT id, v, NULL AS n FROM t_new ORDER BY id');
    expect(rows).toHaveLength(3);
    expect(await last()).toBe('cols=id:3,v:253,n:6 rows=3/3 first=[1,one,NULL] binary=0 truncated=0 server=0');
    await c.execute('SELECT id, v FROM t_new WHERE id = ?', [2]);
    expect(await last()).toBe('cols=id:3,v:253 rows=1/1 first=[2,two] binary=1 truncated=0 server=0');
    // An OK reply is not a result set: the last result stays.
    await c.query('DO 1');
    expect(await last()).toBe('cols=id:3,v:253 rows=1/1 first=[2,two] binary=1 truncated=0 server=0');
    // 4 MiB of rows: the client gets them all, the filter a bounded, flagged part.
    const [big] = await c.query<mysql.RowDataPacket[]>("SELECT seq, REPEAT('x', 1000) AS pad FROM seq_1_to_4000");
    expect(big).toHaveLength(4000);
    expect(await last()).toMatch(/^cols=seq:8,pad:253 rows=\d+\/\d+ first=\[1,x{1000}\] binary=0 truncated=1 server=0$/);
  });

  it('match/exclude decide on the host which statements a filter sees', async () => {
    const p = await proxyWith(
      { fw: { file: firewall, config: { deny: ['t_new'] }, match: '^\\s*select', exclude: 'where id = 1' } },
      ['fw'],
    );
    const c = await connect(p.port);
    expect((await errorOf(c, 'SELECT * FROM t_new'))?.errno).toBe(1141);
    // Not matched (not a SELECT) and excluded: the firewall never sees them.
    expect(await errorOf(c, "UPDATE t_new SET v = 'one' WHERE id = 1")).toBeNull();
    expect(await errorOf(c, 'select * from t_new where id = 1')).toBeNull();
  });

  it('a filter that traps or runs out of CPU follows its failure policy; the session goes on', async () => {
    const closed = await proxyWith({ probe: { file: probe, limits: { failure_policy: 'fail_closed', cpu_budget: '5ms' } } }, ['probe']);
    const c = await connect(closed.port);
    for (const marker of ['/*trap*/', '/*spin*/']) {
      const e = await errorOf(c, `SELECT 1 ${marker}`);
      expect(e?.errno, marker).toBe(1105);
      expect(e?.message).toBe('filter plugin probe failed; statement refused (failure_policy: fail_closed)');
      // The instance was replaced: the next statement on the same session is filtered normally.
      const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT 2 AS x');
      expect(rows[0]!.x).toBe(2);
      expect((await errorOf(c, 'BLOCK'))?.errno).toBe(1142);
    }
    const openP = await proxyWith({ probe: { file: probe, limits: { failure_policy: 'fail_open' } } }, ['probe']);
    const o = await connect(openP.port);
    const [rows] = await o.query<mysql.RowDataPacket[]>('SELECT 41 + 1 AS x /*spin*/');
    expect(rows[0]!.x).toBe(42);
  });

  it('with workers: 2 every worker runs the chain', async () => {
    const p = await proxyWith({ fw: { file: firewall, config: { deny: ['drop table'] } } }, ['fw'], { workers: 2 });
    const conns = await Promise.all(Array.from({ length: 6 }, () => connect(p.port)));
    const results = await Promise.all(conns.map((c) => errorOf(c, 'DROP TABLE t_new')));
    expect(results.map((r) => r?.errno)).toEqual([1141, 1141, 1141, 1141, 1141, 1141]);
  });
});

describe('filter configuration errors', () => {
  it('an unknown filter name is a config error naming the path', async () => {
    const t = sharedTopology();
    await expect(startTestProxy({ servers: [{ name: 'db1', port: t.primary.port }], plugins: { fw: { file: firewall, config: { deny: ['x'] } } }, service: { filters: ['fw', 'nope'] } }))
      .rejects.toThrow(/services\.main\.filters\[1\].*unknown filter "nope"/);
  });

  it('a router plugin listed as a filter is refused at load, naming the plugin', async () => {
    const t = sharedTopology();
    const rcr = await bundledPlugin('routers/readconnroute');
    await expect(startTestProxy({ servers: [{ name: 'db1', port: t.primary.port }], plugins: { r: { file: rcr } }, service: { filters: ['r'] } }))
      .rejects.toThrow(/plugin r: .*is a router .*used as a filter/);
  });

  it('an invalid match regex is a config error', async () => {
    const t = sharedTopology();
    await expect(startTestProxy({ servers: [{ name: 'db1', port: t.primary.port }], plugins: { fw: { file: firewall, config: { deny: ['x'] }, match: '(' } }, service: { filters: ['fw'] } }))
      .rejects.toThrow(/plugins\.fw\.match.*invalid regular expression/);
  });
});
