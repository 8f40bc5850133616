// A router plugin that loops forever (on statements marked /*spin*/), in a running proxy with two
// routing workers, driven by real mysql2 clients: each spinning call is stopped by the per-call
// CPU budget and fails per the plugin's failure policy, quickly, while other sessions on both
// workers keep being served; repeated traps quarantine the plugin, after which its policy
// answers for it.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedTopology } from '../harness/shared.js';
import { waitFor } from './helpers.js';
import {
  HOSTILE_ROUTER, adminPlugin, buildPlugin, connect, countOf, errorOf, sessionsOnEveryWorker, startHostileProxy, workerOf,
  type HostileProxy,
} from './plugin-hostile-helpers.js';

let proxy: HostileProxy;
const open: Connection[] = [];

const limits = (policy: 'fail_open' | 'fail_closed', maxTraps: number) => ({ cpu_budget: '5ms', failure_policy: policy, max_traps: maxTraps, trap_window: '60s' });

beforeAll(async () => {
  const file = await buildPlugin('hostile-router', HOSTILE_ROUTER);
  proxy = await startHostileProxy({
    workers: 2,
    plugins: {
      spin_open: { file, limits: limits('fail_open', 1000) },
      spin_closed: { file, limits: limits('fail_closed', 1000) },
      quar_closed: { file, limits: limits('fail_closed', 3) },
      quar_open: { file, limits: limits('fail_open', 3) },
    },
    services: {
      open: { router: 'spin_open' },
      closed: { router: 'spin_closed' },
      qclosed: { router: 'quar_closed' },
      qopen: { router: 'quar_open' },
    },
  });
}, 120_000);

afterAll(async () => {
  await Promise.all(open.map((c) => c.end().catch(() => c.destroy())));
  if (proxy) expect(await proxy.stop()).toBe(0);
});

async function session(service: string): Promise<Connection> {
  const c = await connect(proxy.ports[service]!);
  c.on('error', () => {});
  open.push(c);
  return c;
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await f();
  return { value, ms: performance.now() - t0 };
}

const SPIN = 'SELECT @@server_id AS id, 6 * 7 AS v /*spin*/';
const fuelTraps = (plugin: string) => proxy.log().filter((l) =>
  l.msg === 'plugin trapped; the call failed and the instance is replaced' && l.plugin === plugin && l.kind === 'fuel' && l.hook === 'route');

describe('an infinite loop in route()', () => {
  it('fail_open: the statement is stopped by the CPU budget and runs on the session\'s server with the right result', async () => {
    const c = await session('open');
    const [normal] = await c.query<RowDataPacket[]>('SELECT @@server_id AS id, 6 * 7 AS v');
    expect(normal).toEqual([{ id: sharedTopology().primary.serverId, v: 42 }]); // first-available order: db1
    const before = fuelTraps('spin_open').length;
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { value: [rows], ms } = await timed(() => c.query<RowDataPacket[]>(SPIN));
      expect(rows).toEqual(normal);
      times.push(ms);
    }
    console.log(`fail_open spinning statements: ${times.map((t) => t.toFixed(1)).join(', ')} ms`);
    expect(Math.max(...times)).toBeLessThan(500);
    // Each was a fuel trap, logged with the plugin's name and its budget.
    await waitFor('5 fuel traps logged', () => fuelTraps('spin_open').length - before >= 5, 5000, 50);
    expect(fuelTraps('spin_open').at(-1)!.err).toBe('ran out of CPU budget (5 ms)');
    // The session goes on, served by a fresh instance that was told about it.
    expect(await countOf(c)).toMatchObject({ known: true, live: 1 });
  });

  it('fail_closed: the statement gets ERR 1105 HY000 naming the plugin; the next one works', async () => {
    const c = await session('closed');
    const { value: err, ms } = await timed(() => errorOf(c, SPIN));
    expect(err).toEqual({
      errno: 1105, sqlState: 'HY000', message: 'router plugin spin_closed failed; statement refused (failure_policy: fail_closed)',
    });
    expect(ms).toBeLessThan(500);
    const [rows] = await c.query<RowDataPacket[]>('SELECT 6 * 7 AS v');
    expect(rows).toEqual([{ v: 42 }]);
  });

  it('a burst of spinning statements on both workers: 8+ other sessions keep running queries with zero errors', async () => {
    const r = await burst('open');
    expect(r.errors).toEqual([]);
    expect(r.queries).toBeGreaterThan(r.bystanders * 5);
  });

  // Was a host bug: a second trap before the next spare existed left the slot with no instance,
  // and fail_closed refused statements of sessions that did nothing wrong. The slot now makes a
  // configured instance synchronously when its spare is used up (plugin-slot.ts replace()).
  it('fail_closed: bystander sessions of the same service are not refused during a burst of traps', async () => {
    const r = await burst('closed');
    expect(r.errors).toEqual([]);
  });
});

/**
 * Spinning statements from 2 sessions per worker of each of `open` and `closed` (10 each, in a
 * row) while bystander sessions of `bystanderService` on both workers run checked queries.
 */
async function burst(bystanderService: string): Promise<{ errors: string[]; queries: number; bystanders: number }> {
  const bystanders = await sessionsOnEveryWorker(proxy.ports[bystanderService]!, 5);
  open.push(...bystanders);
  expect(bystanders.length).toBeGreaterThanOrEqual(10);
  expect(new Set(bystanders.map(workerOf))).toEqual(new Set([1, 2]));
  const spinOpen = await sessionsOnEveryWorker(proxy.ports.open!, 2);
  const spinClosed = await sessionsOnEveryWorker(proxy.ports.closed!, 2);
  open.push(...spinOpen, ...spinClosed);
  const spinners = [...spinOpen.map((c) => ({ c, service: 'open' })), ...spinClosed.map((c) => ({ c, service: 'closed' }))];
  expect(new Set(spinOpen.map(workerOf))).toEqual(new Set([1, 2]));
  expect(new Set(spinClosed.map(workerOf))).toEqual(new Set([1, 2]));

  let stop = false;
  const errors: string[] = [];
  let queries = 0;
  let slowest = 0;
  const load = bystanders.map(async (c) => {
    while (!stop) {
      const n = Math.floor(Math.random() * 1e6);
      const t0 = performance.now();
      try {
        const [rows] = await c.query<RowDataPacket[]>('SELECT ? * 3 AS v', [n]);
        if (rows[0]!.v !== n * 3) errors.push(`wrong answer ${String(rows[0]!.v)} for ${n}`);
        queries++;
      } catch (e) {
        errors.push((e as Error).message);
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
  });
  const SPINS = 10;
  const outcomes: string[] = [];
  const spinTimes: number[] = [];
  const fuelBefore = fuelTraps('spin_open').length + fuelTraps('spin_closed').length;
  await Promise.all(spinners.map(async ({ c, service }) => {
    for (let k = 0; k < SPINS; k++) {
      const t0 = performance.now();
      try {
        const [rows] = await c.query<RowDataPacket[]>(SPIN);
        outcomes.push(`${service}:rows:${String(rows[0]!.v)}`);
      } catch (e) {
        outcomes.push(`${service}:err:${(e as { errno: number }).errno}`);
      }
      spinTimes.push(performance.now() - t0);
    }
  }));
  stop = true;
  await Promise.all(load);
  console.log(`burst (bystanders on ${bystanderService}): ${spinners.length * SPINS} spinning statements (slowest ${Math.max(...spinTimes).toFixed(0)} ms); ` +
    `${queries} bystander queries, slowest ${slowest.toFixed(0)} ms, ${errors.length} failed`);
  // Each spinning statement failed per its plugin's policy, quickly, as a fuel trap.
  expect(outcomes.filter((o) => o === 'open:rows:42')).toHaveLength(spinOpen.length * SPINS);
  expect(outcomes.filter((o) => o === 'closed:err:1105')).toHaveLength(spinClosed.length * SPINS);
  expect(Math.max(...spinTimes)).toBeLessThan(1000);
  // The slot is never without an instance while the plugin is not quarantined (max_traps is
  // 1000 here), so every spinning statement reached the plugin and is a logged fuel trap.
  const total = spinners.length * SPINS;
  await waitFor(`${total} fuel traps logged`, () => fuelTraps('spin_open').length + fuelTraps('spin_closed').length - fuelBefore >= total, 5000, 50);
  const traps = fuelTraps('spin_open').length + fuelTraps('spin_closed').length - fuelBefore;
  console.log(`  ${traps} of ${total} spinning statements reached the plugin and were stopped by the CPU budget`);
  expect(traps).toBe(total);
  for (const name of ['spin_open', 'spin_closed']) {
    const t = (await adminPlugin(proxy.adminPort, name))?.total;
    if (t) console.log(`  ${name} so far: ${t.calls} calls, ${t.traps} traps, ${t.policyDecisions} policy decisions`);
  }
  return { errors, queries, bystanders: bystanders.length };
}

describe('quarantine after max_traps', () => {
  /** Three spinning statements on a session of each worker: max_traps is per instance slot (service × worker). */
  async function quarantineBoth(service: string, plugin: string): Promise<Connection[]> {
    const sessions = await sessionsOnEveryWorker(proxy.ports[service]!, 1);
    open.push(...sessions);
    const perWorker = [1, 2].map((w) => sessions.find((c) => workerOf(c) === w)!);
    for (const c of perWorker) {
      for (let i = 0; i < 3; i++) await c.query(SPIN).catch(() => {});
    }
    await waitFor(`${plugin} quarantined on both workers`, () =>
      proxy.log().filter((l) => l.plugin === plugin && l.msg.startsWith('plugin quarantined')).length === 2, 5000, 50);
    const q = proxy.log().filter((l) => l.plugin === plugin && l.msg.startsWith('plugin quarantined'));
    expect(String(q[0]!.reason)).toMatch(/^3 traps within 60000 ms \(last: fuel in route: ran out of CPU budget \(5 ms\)\)$/);
    return perWorker;
  }

  it('fail_closed: once quarantined, every statement and every new session is refused without calling the plugin', async () => {
    const sessions = await quarantineBoth('qclosed', 'quar_closed');
    for (const c of sessions) {
      expect(await errorOf(c, 'SELECT 1')).toEqual({
        errno: 1105, sqlState: 'HY000', message: 'router plugin quar_closed failed; statement refused (failure_policy: fail_closed)',
      });
    }
    const refused = await connect(proxy.ports.qclosed!).catch((e: unknown) => e as Error);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toBe('router plugin quar_closed failed; session refused (failure_policy: fail_closed)');
    // Other services' plugins (same file, other entries) are not quarantined.
    const other = await session('closed');
    const [rows] = await other.query<RowDataPacket[]>('SELECT 2 + 2 AS v');
    expect(rows).toEqual([{ v: 4 }]);
    const report = await adminPlugin(proxy.adminPort, 'quar_closed');
    if (report !== null) {
      // The admin endpoint says so too: both slots (service qclosed on workers 1 and 2).
      expect(report.quarantined).toBe(true);
      expect(report.total.quarantined).toBe(2);
      expect(report.quarantineReasons[0]).toMatch(/^3 traps within 60000 ms/);
      expect((await adminPlugin(proxy.adminPort, 'spin_closed'))!.quarantined).toBe(false);
    } else {
      console.log('GET /v1/plugins/<name>: 404 (this build has no plugin admin endpoint); quarantine checked through the log and behaviour');
    }
  });

  it('fail_open: once quarantined, the plugin is no longer called and statements run where the session is', async () => {
    const sessions = await quarantineBoth('qopen', 'quar_open');
    const primaryId = sharedTopology().primary.serverId;
    for (const c of sessions) {
      // /*count*/ would be answered with an error by the plugin: it is not called any more.
      const [counted] = await c.query<RowDataPacket[]>('SELECT 5 AS v /*count*/');
      expect(counted).toEqual([{ v: 5 }]);
      const { value: [rows], ms } = await timed(() => c.query<RowDataPacket[]>(SPIN));
      expect(rows).toEqual([{ id: primaryId, v: 42 }]);
      expect(ms).toBeLessThan(200);
    }
    const fresh = await session('qopen');
    const [rows] = await fresh.query<RowDataPacket[]>('SELECT @@server_id AS id');
    expect(rows).toEqual([{ id: primaryId }]);
  });
});

describe('host functions the sandbox allows, called in a loop', () => {
  // Was a host gap: the fuel meter charges a host call only its call expression, and
  // `while (true) metric_add(...)` held the worker for seconds per statement with a 5 ms budget.
  // Every host function now checks a per-call host-time limit (4x the budget, at least 20 ms:
  // host/plugins/host-functions.ts) and traps the call past it.
  it('an endless loop of host calls is stopped within the budget too (here: 100 ms, 20x the 5 ms budget)', async () => {
    const c = await session('open');
    const times: Record<string, number> = {};
    for (const marker of ['clockspin', 'hostspin']) {
      const { value: [rows], ms } = await timed(() => c.query<RowDataPacket[]>(`SELECT 6 * 7 AS v /*${marker}*/`));
      expect(rows).toEqual([{ v: 42 }]); // fail_open: the statement itself still runs
      times[marker] = ms;
    }
    console.log(`endless host-call loops with a 5 ms budget: clock_ms ${times.clockspin!.toFixed(0)} ms, metric_add ${times.hostspin!.toFixed(0)} ms`);
    expect(times.clockspin).toBeLessThan(100);
    expect(times.hostspin).toBeLessThan(100);
  });

  // Was a host gap: any number of distinct counter names, kept for the life of the slot and
  // listed by GET /v1/plugins. PluginMetrics now keeps at most 256 per slot (metric_add returns
  // TOO_LARGE for a further new name).
  it('the counter names a plugin can create are bounded', async () => {
    const c = await session('open');
    const names = async (): Promise<number> => {
      const r = await fetch(`http://127.0.0.1:${proxy.adminPort}/v1/plugins/spin_open`);
      if (r.status === 404) throw new Error('no GET /v1/plugins/<name> in this build');
      const j = (await r.json()) as { workers: { slots: { counters: Record<string, number> }[] }[] };
      return j.workers.flatMap((w) => w.slots).reduce((n, x) => n + Object.keys(x.counters).length, 0);
    };
    const before = await names();
    for (let i = 0; i < 3; i++) await c.query('SELECT 1 /*names*/'); // each runs until its fuel is gone
    const added = (await names()) - before;
    console.log(`3 statements added ${added} counter names (kept by the host, listed by /v1/plugins)`);
    expect(added).toBeLessThan(1000);
  });
});
