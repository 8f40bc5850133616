// Routing hints (`-- wasmscale route to ...`, MaxScale's `-- maxscale route to ...`) through a
// running proxy in front of the shared topology (db1 primary, db2 and db3 GTID replicas), with
// the readwritesplit and hintrouter plugins. Where each statement ran is read back with
// @@server_id. The classifier finds the hint; the host sends it in Statement.hint (ABI 1.1).
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { connectSharedTopology, sharedTopology } from '../harness/shared.js';
import { bundledPlugin } from '../unit/plugin-fixtures.js';

interface Ids {
  primary: number;
  db2: number;
  db3: number;
}

let ids: Ids;
const proxies: TestProxy[] = [];
const open: mysql.Connection[] = [];

async function start(plugin: string, config: Record<string, unknown>): Promise<TestProxy> {
  const t = sharedTopology();
  const proxy = await startTestProxy({
    servers: [
      { name: 'db1', port: t.primary.port },
      { name: 'db2', port: t.replicas[0]!.port },
      { name: 'db3', port: t.replicas[1]!.port },
    ],
    monitor: {},
    plugins: { r: { file: await bundledPlugin(plugin), config } },
    service: { router: 'r' },
  });
  proxies.push(proxy);
  // The monitor must have found the roles before sessions start: a plain read reaches a replica.
  for (let i = 0; i < 100; i++) {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app });
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id');
    await c.end();
    if (rows[0]!.id === ids.db2 || rows[0]!.id === ids.db3) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return proxy;
}

const routers: { name: string; plugin: string; config: Record<string, unknown>; proxy?: TestProxy }[] = [
  { name: 'readwritesplit', plugin: 'routers/readwritesplit', config: {} },
  // default_action slave: a statement without a hint (or with one that is ignored) goes to a replica.
  { name: 'hintrouter', plugin: 'routers/hintrouter', config: { default_action: 'slave' } },
];

beforeAll(async () => {
  const t = sharedTopology();
  ids = { primary: t.primary.serverId, db2: t.replicas[0]!.serverId, db3: t.replicas[1]!.serverId };
  const topo = connectSharedTopology();
  try {
    await topo.primary.query('CREATE DATABASE IF NOT EXISTS hint');
    await topo.waitForReplicas();
  } finally {
    topo.close();
  }
  for (const r of routers) r.proxy = await start(r.plugin, r.config);
}, 600_000);

afterAll(async () => {
  await Promise.all(open.splice(0).map((c) => c.end().catch(() => {})));
  await Promise.all(proxies.map((p) => p.stop()));
});

describe.each(routers)('routing hints with $name', (r) => {
  async function client(): Promise<mysql.Connection> {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: r.proxy!.port, ...CREDENTIALS.app });
    open.push(c);
    return c;
  }

  async function id(c: mysql.Connection, sql: string): Promise<number> {
    const [rows] = await c.query<mysql.RowDataPacket[]>(sql);
    return rows[0]!.id as number;
  }

  const replicas = (): number[] => [ids.db2, ids.db3];

  it('route to master, slave, server NAME (all comment styles) and last', async () => {
    const c = await client();
    expect(replicas()).toContain(await id(c, 'SELECT @@server_id AS id'));
    expect(await id(c, 'SELECT @@server_id AS id -- wasmscale route to master')).toBe(ids.primary);
    expect(replicas()).toContain(await id(c, 'SELECT @@server_id AS id -- wasmscale route to slave'));
    expect(await id(c, 'SELECT @@server_id AS id -- wasmscale route to server db3')).toBe(ids.db3);
    expect(await id(c, '/* wasmscale route to server db2 */ SELECT @@server_id AS id')).toBe(ids.db2);
    expect(await id(c, 'SELECT @@server_id AS id # wasmscale route to server db3')).toBe(ids.db3);
    expect(await id(c, 'SELECT @@server_id AS id -- wasmscale route to last')).toBe(ids.db3);
    expect(await id(c, 'SELECT @@server_id AS id -- wasmscale route to primary')).toBe(ids.primary);
    // Every hint goes where it says, again and again (no luck from the replica choice).
    for (let i = 0; i < 3; i++) {
      expect(await id(c, 'SELECT @@server_id AS id /* wasmscale route to server db2 */')).toBe(ids.db2);
      expect(await id(c, 'SELECT @@server_id AS id -- wasmscale route to server db3')).toBe(ids.db3);
    }
  });

  it("MaxScale's spelling: -- maxscale route to ...", async () => {
    const c = await client();
    expect(await id(c, 'SELECT @@server_id AS id -- maxscale route to master')).toBe(ids.primary);
    expect(await id(c, 'SELECT @@server_id AS id -- maxscale route to server db3')).toBe(ids.db3);
    expect(await id(c, '/* maxscale route to server db2 */ SELECT @@server_id AS id')).toBe(ids.db2);
    expect(replicas()).toContain(await id(c, 'SELECT @@server_id AS id -- MaxScale Route To Slave'));
  });

  it('an unknown server name is ignored: the statement is routed as without a hint', async () => {
    const c = await client();
    for (let i = 0; i < 3; i++) {
      expect(replicas()).toContain(await id(c, 'SELECT @@server_id AS id -- wasmscale route to server nosuch'));
    }
    expect(await id(c, 'SELECT @@server_id AS id -- wasmscale route to server db3')).toBe(ids.db3);
  });

  it('hints inside a transaction are ignored: the transaction stays where it started', async () => {
    const c = await client();
    await c.query('BEGIN');
    const where = await id(c, 'SELECT @@server_id AS id');
    for (const hint of ['master', 'slave', 'server db2', 'server db3', 'last']) {
      expect(await id(c, `SELECT @@server_id AS id -- wasmscale route to ${hint}`)).toBe(where);
    }
    expect(await id(c, '/* maxscale route to server db2 */ SELECT @@server_id AS id')).toBe(where);
    await c.query('COMMIT');
    // After the transaction, hints count again.
    expect(await id(c, 'SELECT @@server_id AS id -- wasmscale route to server db2')).toBe(ids.db2);
    expect(await id(c, 'SELECT @@server_id AS id -- wasmscale route to master')).toBe(ids.primary);
  });
});

describe('readwritesplit: hints against its own rules', () => {
  it('a session pinned to the primary (temporary tables) honours only route to master', async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: routers[0]!.proxy!.port, ...CREDENTIALS.app });
    open.push(c);
    await c.query('CREATE TEMPORARY TABLE hint.tmp (a INT)');
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id, COUNT(*) AS n FROM hint.tmp -- wasmscale route to server db3');
    expect(rows[0]).toMatchObject({ id: ids.primary, n: 0 });
  });
});
