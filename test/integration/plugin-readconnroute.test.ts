// readconnroute as a WebAssembly plugin in a running proxy, in front of the shared topology (a
// primary and two GTID replicas, roles from the monitor): where sessions land is read back with
// @@server_id from real client connections.
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTestProxy, type TestProxy, type TestProxyOptions } from '../harness/proxy.js';
import { sharedTopology } from '../harness/shared.js';
import { bundledPlugin } from '../unit/plugin-fixtures.js';

let wasm: string;
const open: mysql.Connection[] = [];
const proxies: TestProxy[] = [];

beforeAll(async () => {
  wasm = await bundledPlugin('routers/readconnroute');
}, 600_000);

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end().catch(() => c.destroy())));
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
});

function topology(weights: [number, number, number] = [1, 1, 1]): TestProxyOptions['servers'] {
  const t = sharedTopology();
  return [
    { name: 'db1', port: t.primary.port, weight: weights[0] },
    { name: 'db2', port: t.replicas[0]!.port, weight: weights[1] },
    { name: 'db3', port: t.replicas[1]!.port, weight: weights[2] },
  ];
}

async function proxyWith(config: Record<string, unknown>, opts: Partial<TestProxyOptions> = {}): Promise<TestProxy> {
  const p = await startTestProxy({
    servers: topology(),
    monitor: {},
    plugins: { rcr: { file: wasm, config } },
    service: { router: 'rcr' },
    ...opts,
  });
  proxies.push(p);
  return p;
}

/** @@server_id of `n` sessions opened one after the other and kept open. */
async function serverIds(p: TestProxy, n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: p.port, ...CREDENTIALS.app, database: 'test' });
    open.push(c);
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id');
    ids.push(rows[0]!.id as number);
  }
  return ids;
}

const count = (ids: number[]) => ids.reduce<Record<number, number>>((m, id) => ({ ...m, [id]: (m[id] ?? 0) + 1 }), {});

describe('readconnroute (WebAssembly) through the proxy', () => {
  it('router_options=slave spreads sessions over the two replicas and never uses the primary', async () => {
    const t = sharedTopology();
    const p = await proxyWith({ router_options: 'slave' });
    const ids = await serverIds(p, 6);
    const [r1, r2] = t.replicas.map((r) => r.serverId);
    expect(count(ids)).toEqual({ [r1!]: 3, [r2!]: 3 });
    expect(ids).not.toContain(t.primary.serverId);
  });

  it('router_options=master sends every session to the primary (server_id 1)', async () => {
    const p = await proxyWith({ router_options: 'master' });
    expect(await serverIds(p, 3)).toEqual([1, 1, 1]);
  });

  it('a session stays on its server: text and prepared statements all run there', async () => {
    const t = sharedTopology();
    const p = await proxyWith({ router_options: 'slave' });
    const c = await mysql.createConnection({ host: '127.0.0.1', port: p.port, ...CREDENTIALS.app, database: 'test', multipleStatements: true });
    open.push(c);
    const seen = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id, 1 + ? AS two', [1]);
      seen.add(rows[0]!.id as number);
      expect(rows[0]!.two).toBe(2);
    }
    const [prepared] = await c.execute<mysql.RowDataPacket[]>('SELECT @@server_id AS id, ? AS v', ['x']);
    seen.add(prepared[0]!.id as number);
    expect(seen.size).toBe(1);
    expect(t.replicas.map((r) => r.serverId)).toContain([...seen][0]);
  });

  it('server weights: connections per unit of weight', async () => {
    const t = sharedTopology();
    const p = await proxyWith({ router_options: 'slave' }, { servers: topology([1, 3, 1]) });
    const ids = await serverIds(p, 4);
    expect(count(ids)).toEqual({ [t.replicas[0]!.serverId]: 3, [t.replicas[1]!.serverId]: 1 });
  });

  it('closed sessions free their place for the next ones', async () => {
    const t = sharedTopology();
    const p = await proxyWith({ router_options: 'slave' });
    const first = await serverIds(p, 2);
    expect(first.sort()).toEqual(t.replicas.map((r) => r.serverId).sort());
    const c = open.shift()!; // the session on the first replica
    await c.end();
    await new Promise((r) => setTimeout(r, 100));
    expect(await serverIds(p, 1)).toEqual([first.sort()[0]]);
  });

  it('runs in routing worker processes too (the primary prepares the module, each worker instantiates it)', async () => {
    const t = sharedTopology();
    const p = await proxyWith({ router_options: 'slave' }, { workers: 2 });
    const ids = await serverIds(p, 4);
    expect(ids.every((id) => t.replicas.some((r) => r.serverId === id))).toBe(true);
    expect(new Set(ids).size).toBe(2);
  });

  it('a plugin that refuses the session: the client gets its message', async () => {
    const p = await proxyWith({ router_options: 'master' }, { servers: topology().slice(1) });
    const err = await mysql.createConnection({ host: '127.0.0.1', port: p.port, ...CREDENTIALS.app }).catch((e: unknown) => e);
    expect((err as { message: string }).message).toBe('readconnroute: no server matches router_options=master');
    expect((err as { errno: number }).errno).toBe(2003); // as when no server can be reached
  });

  it('a bad configuration stops the start-up with the plugin name and the reason', async () => {
    await expect(proxyWith({ router_options: 'replica' })).rejects.toThrow(
      /^plugin rcr: \S+readconnroute\.wasm: configuration refused by the plugin: router_options: unknown value "replica" \(expected master, slave or running\)$/);
  });
});
