// Hot swap of a filter: the same mechanism as for routers (every PluginSlot registers, whoever
// owns it). Two routing workers; sessions opened before a swap see the new version's behaviour
// on their next statement; a filter may be replaced by another filter, never by a router.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { sharedTopology } from '../harness/shared.js';
import { bundledPlugin } from '../unit/plugin-fixtures.js';
import { plugin, readconnrouteBuilds, swap } from './plugin-swap-helpers.js';

let firewall: string;
let rewrite: string;
let router: string;
let proxy: TestProxy;
const open: mysql.Connection[] = [];

beforeAll(async () => {
  [firewall, rewrite, { v1: router }] = await Promise.all([bundledPlugin('filters/firewall'), bundledPlugin('filters/rewrite'), readconnrouteBuilds()]);
  proxy = await startTestProxy({
    servers: [{ name: 'db1', port: sharedTopology().primary.port }],
    workers: 2,
    plugins: { fw_swap: { file: firewall, config: { deny: ['drop table'] } } },
    service: { filters: ['fw_swap'] },
  });
}, 600_000);
afterAll(async () => {
  await Promise.all(open.splice(0).map((c) => c.end().catch(() => c.destroy())));
  await proxy?.stop();
});

async function value(c: mysql.Connection, sql: string): Promise<number | string> {
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>(sql);
    return rows[0]!.v as number;
  } catch (err) {
    return `error ${(err as { errno: number }).errno}`;
  }
}

describe('hot swap of a filter', () => {
  it('live sessions on both workers switch to the new version; filter → filter only', async () => {
    for (let i = 0; i < 4; i++) open.push(await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app }));
    for (const c of open) expect(await value(c, 'SELECT 42 AS v')).toBe(42);

    // Same module, new configuration.
    const a = await swap(proxy.adminPort, 'fw_swap', { file: firewall, config: { deny: ['select 42'] } });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body.workers!.map((w) => [w.worker, w.ok, w.swapped]).sort()).toEqual([[1, true, 1], [2, true, 1]]);
    for (const c of open) {
      expect(await value(c, 'SELECT 42 AS v')).toBe('error 1141');
      expect(await value(c, 'SELECT 43 AS v')).toBe(43);
    }

    // Another filter in its place.
    const b = await swap(proxy.adminPort, 'fw_swap', { file: rewrite, config: { rules: [{ find: 'SELECT 43', replace: 'SELECT 44' }] } });
    expect(b.status, JSON.stringify(b.body)).toBe(200);
    for (const c of open) {
      expect(await value(c, 'SELECT 42 AS v')).toBe(42);
      expect(await value(c, 'SELECT 43 AS v')).toBe(44);
    }

    // A router is refused; the rewrite filter serves on.
    const r = await swap(proxy.adminPort, 'fw_swap', { file: router });
    expect(r.status).toBe(422);
    expect(r.body.error).toContain(`plugin fw_swap: ${router}: is a router ("readconnroute"), but it is used as a filter`);
    for (const c of open) expect(await value(c, 'SELECT 43 AS v')).toBe(44);

    const v = await plugin(proxy.adminPort, 'fw_swap');
    expect(v).toMatchObject({ name: 'fw_swap', kind: 'filter', file: rewrite, services: ['main'], swaps: 2, quarantined: false });
    for (const w of v.workers) expect(w.slots).toEqual([expect.objectContaining({ service: 'main', swaps: 2, available: true })]);
    expect(v.total.calls).toBeGreaterThan(0);
  }, 120_000);
});
