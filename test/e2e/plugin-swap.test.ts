// Hot swap of a router plugin under load (issue 3, item 5): a proxy with two routing workers and
// readconnroute as a WebAssembly router in front of the shared primary + 2 replicas; 32 mysql2
// connections run a sysbench-like mix (point selects by primary key, text and prepared, and
// updates) while 20 swaps in a row alternate two builds through the admin endpoint. Then a worker
// restarted by the watchdog after a swap must run the new version.
import process from 'node:process';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { connectSharedTopology, type SharedTopologyClient } from '../harness/shared.js';
import { sleep, waitFor } from './helpers.js';
import { plugin, plugins, readconnrouteBuilds, swap, topologyServers, V1, V2 } from './plugin-swap-helpers.js';
import { HOST_ABI_MAJOR, HOST_ABI_MINOR } from '../../host/plugins/abi/constants.js';

const ROWS = 500;
const CONNECTIONS = 32;
const SWAPS = 20;

let builds: { v1: string; v2: string };
let topo: SharedTopologyClient;
const proxies: TestProxy[] = [];

beforeAll(async () => {
  builds = await readconnrouteBuilds();
  topo = connectSharedTopology();
  await topo.primary.query('CREATE TABLE IF NOT EXISTS test.swap_load (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(40) NOT NULL)');
  await topo.primary.query('DELETE FROM test.swap_load');
  const values = Array.from({ length: ROWS }, (_, i) => `(${i + 1}, ${i}, 'row-${i + 1}')`).join(',');
  await topo.primary.query(`INSERT INTO test.swap_load VALUES ${values}`);
}, 600_000);

afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});
afterAll(() => topo?.close());

async function proxyWith(name: string, file: string): Promise<TestProxy> {
  const p = await startTestProxy({
    servers: topologyServers(),
    monitor: {},
    workers: 2,
    plugins: { [name]: { file, config: { router_options: 'master' } } },
    service: { router: name },
  });
  proxies.push(p);
  return p;
}

interface LoadResult {
  queries: number;
  failures: string[];
  dropped: number;
}

/** One client of the load: point selects (text and prepared) and an update every 8th round. */
async function client(port: number, stop: () => boolean, out: LoadResult): Promise<void> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port, ...CREDENTIALS.app, database: 'test' });
  let dropped = false;
  c.on('error', () => (dropped = true));
  c.on('end', () => (dropped = true));
  const thread = c.threadId;
  try {
    for (let round = 0; !stop(); round++) {
      const id = 1 + Math.floor(Math.random() * ROWS);
      try {
        const [a] = await c.query<mysql.RowDataPacket[]>('SELECT id, c FROM swap_load WHERE id = ?', [id]);
        if (a[0]?.c !== `row-${id}`) out.failures.push(`text select ${id}: ${JSON.stringify(a)}`);
        const [b] = await c.execute<mysql.RowDataPacket[]>('SELECT id, k, c FROM swap_load WHERE id = ?', [id]);
        if (b[0]?.id !== id) out.failures.push(`prepared select ${id}: ${JSON.stringify(b)}`);
        out.queries += 2;
        if (round % 8 === 0) {
          const [u] = await c.execute<mysql.ResultSetHeader>('UPDATE swap_load SET k = k + 1 WHERE id = ?', [id]);
          if (u.affectedRows !== 1) out.failures.push(`update ${id}: ${u.affectedRows} rows`);
          out.queries++;
        }
      } catch (err) {
        out.failures.push(`${(err as Error).message}`);
        if (dropped) break;
      }
    }
    // Still the same session: the swap never replaced the backend connection.
    const [r] = await c.query<mysql.RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
    if (r.length !== 1 || dropped) out.failures.push(`session ${thread} lost`);
  } finally {
    if (dropped) out.dropped++;
    await c.end().catch(() => c.destroy());
  }
}

describe('hot swap of a router plugin', () => {
  it(`${SWAPS} swaps in a row under a 32-connection load: no failed query, no dropped connection`, async () => {
    const p = await proxyWith('rcr_load', builds.v1);
    const load: LoadResult = { queries: 0, failures: [], dropped: 0 };
    let stopped = false;
    const clients = Array.from({ length: CONNECTIONS }, () => client(p.port, () => stopped, load));
    // Sessions opening and closing during the swaps, too.
    const churn = (async () => {
      let n = 0;
      while (!stopped) {
        const c = await mysql.createConnection({ host: '127.0.0.1', port: p.port, ...CREDENTIALS.app, database: 'test' });
        const [r] = await c.query<mysql.RowDataPacket[]>('SELECT c FROM swap_load WHERE id = 1');
        if (r[0]?.c !== 'row-1') load.failures.push('churn select');
        await c.end();
        n++;
      }
      return n;
    })().catch((err: Error) => {
      load.failures.push(`churn: ${err.message}`);
      return 0;
    });
    await waitFor('the load to run', () => load.queries > 200, 30_000);

    const answers = [];
    for (let i = 0; i < SWAPS; i++) {
      const file = i % 2 === 0 ? builds.v2 : builds.v1;
      const before = load.queries;
      const a = await swap(p.adminPort, 'rcr_load', { file });
      answers.push(a);
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      expect(a.body.version).toBe(i % 2 === 0 ? V2 : V1);
      expect(a.body.workers).toHaveLength(2);
      for (const w of a.body.workers!) expect(w, JSON.stringify(w)).toMatchObject({ ok: true, swapped: 1, errors: [] });
      // Statements keep flowing between swaps.
      await waitFor('queries after a swap', () => load.queries > before + CONNECTIONS, 10_000, 10);
    }
    await sleep(300);
    stopped = true;
    await Promise.all(clients);
    const churned = await churn;

    expect(load.failures).toEqual([]);
    expect(load.dropped).toBe(0);
    expect(load.queries).toBeGreaterThan(SWAPS * CONNECTIONS);
    expect(churned).toBeGreaterThan(0);

    const view = await plugin(p.adminPort, 'rcr_load');
    expect(view).toMatchObject({ name: 'rcr_load', kind: 'router', version: V1, abi: `${HOST_ABI_MAJOR}.${HOST_ABI_MINOR}`, file: builds.v1, swaps: SWAPS, services: ['main'], quarantined: false });
    expect(view.workers.map((w) => w.worker).sort()).toEqual([1, 2]);
    for (const w of view.workers) {
      expect(w.alive).toBe(true);
      expect(w.slots).toHaveLength(1);
      expect(w.slots[0]).toMatchObject({ service: 'main', version: V1, swaps: SWAPS, quarantined: false, available: true, traps: 0 });
    }
    expect(view.total.calls).toBeGreaterThan(load.queries);
    expect(view.total.traps).toBe(0);
    expect((await plugins(p.adminPort)).map((x) => x.name)).toEqual(['rcr_load']);
  }, 300_000);

  it('a worker the watchdog restarts after a swap runs the new version', async () => {
    const p = await proxyWith('rcr_restart', builds.v1);
    const a = await swap(p.adminPort, 'rcr_restart', { file: builds.v2 });
    expect(a.status, JSON.stringify(a.body)).toBe(200);

    const stats = await p.stats();
    const victim = stats.workers.find((w) => w.index === 1)!;
    process.kill(victim.pid, 'SIGKILL');
    await waitFor('worker 1 to be restarted', async () => {
      const s = await p.stats();
      const w = s.workers.find((x) => x.index === 1);
      return w !== undefined && w.alive && w.pid !== victim.pid;
    }, 30_000, 200);

    const view = await waitFor('worker 1 to report its slot', async () => {
      const v = await plugin(p.adminPort, 'rcr_restart');
      return v.workers.find((w) => w.worker === 1)?.slots.length === 1 ? v : null;
    }, 30_000, 200);
    const restarted = view.workers.find((w) => w.worker === 1)!;
    // A fresh slot made from the store's current version: V2 without having been swapped.
    expect(restarted.slots[0]).toMatchObject({ version: V2, swaps: 0, available: true });
    expect(view.workers.find((w) => w.worker === 2)!.slots[0]).toMatchObject({ version: V2, swaps: 1 });
    expect(view.version).toBe(V2);

    // And it routes: sessions on both workers reach the primary.
    for (let i = 0; i < 4; i++) {
      const c = await mysql.createConnection({ host: '127.0.0.1', port: p.port, ...CREDENTIALS.app, database: 'test' });
      const [r] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id');
      expect(r[0]!.id).toBe(1);
      await c.end();
    }
    const after = await plugin(p.adminPort, 'rcr_restart');
    expect(after.workers.find((w) => w.worker === 1)!.slots[0]!.calls).toBeGreaterThan(0);
  }, 120_000);
});
