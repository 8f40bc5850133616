// A router plugin that allocates without end (on statements marked /*grow*/ or /*pages*/), in a
// running proxy with two routing workers: its memory stops at the plugin's quota, the statement
// fails per the failure policy, the workers' resident memory stays bounded however many times it
// happens, and other sessions are served all along. Memory the plugin obtains through the
// Extism kernel's alloc (an import the sandbox allows) counts against that quota too, and its
// log lines are cut at 4 KiB.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedTopology } from '../harness/shared.js';
import { waitFor } from './helpers.js';
import {
  HOSTILE_ROUTER, buildPlugin, connect, errorOf, rssKiB, sessionsOnEveryWorker, startHostileProxy, workerOf, type HostileProxy,
} from './plugin-hostile-helpers.js';

/** The quota: limits.memory 8 MiB, and the module declares the same maximum (128 pages). */
const QUOTA_PAGES = 128;
const MiB = 1024;

let proxy: HostileProxy;
const open: Connection[] = [];

beforeAll(async () => {
  const file = await buildPlugin('hostile-router', HOSTILE_ROUTER, QUOTA_PAGES);
  // A generous CPU budget, so that what stops the allocation is the memory quota, not the fuel.
  const limits = (failure_policy: string) => ({ memory: '8MiB', cpu_budget: '250ms', failure_policy, max_traps: 100_000 });
  proxy = await startHostileProxy({
    workers: 2,
    plugins: { mem_open: { file, limits: limits('fail_open') }, mem_closed: { file, limits: limits('fail_closed') } },
    services: { open: { router: 'mem_open' }, closed: { router: 'mem_closed' }, plain: { router: 'first-available' } },
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

const memoryTraps = (plugin: string) => proxy.log().filter((l) =>
  l.msg === 'plugin trapped; the call failed and the instance is replaced' && l.plugin === plugin && l.hook === 'route');

describe('endless allocation in route()', () => {
  it('memory.grow in a loop is refused at the quota (the plugin sees it stop at 128 pages)', async () => {
    const c = await session('closed');
    const e = await errorOf(c, 'SELECT 1 /*pages*/');
    expect(e.errno).toBe(1105);
    expect(e.message).toMatch(new RegExp(`^hostile: memory.grow refused at ${QUOTA_PAGES} pages after \\d+ more$`));
    const [rows] = await c.query<RowDataPacket[]>('SELECT 3 * 3 AS v');
    expect(rows).toEqual([{ v: 9 }]);
  });

  it('allocating arrays forever traps at the quota: fail_closed refuses the statement, fail_open runs it; both sessions go on', async () => {
    const closed = await session('closed');
    const openS = await session('open');
    const before = memoryTraps('mem_closed').length;
    const t0 = performance.now();
    expect(await errorOf(closed, 'SELECT 1 /*grow*/')).toEqual({
      errno: 1105, sqlState: 'HY000', message: 'router plugin mem_closed failed; statement refused (failure_policy: fail_closed)',
    });
    const [rows] = await openS.query<RowDataPacket[]>('SELECT @@server_id AS id, 2 * 21 AS v /*grow*/');
    expect(rows).toEqual([{ id: sharedTopology().primary.serverId, v: 42 }]);
    expect(performance.now() - t0).toBeLessThan(2000);
    // A trap of the plugin's own (its allocator found no more memory), not the CPU budget.
    await waitFor('the trap logged', () => memoryTraps('mem_closed').length > before, 5000, 50);
    const trap = memoryTraps('mem_closed').at(-1)!;
    expect(trap.kind).toBe('trap');
    expect(String(trap.err)).toMatch(/unreachable|memory/i);
    for (const c of [closed, openS]) {
      const [again] = await c.query<RowDataPacket[]>('SELECT 5 + 5 AS v');
      expect(again).toEqual([{ v: 10 }]);
    }
  });

  it("120 allocation bombs on both workers: the workers' RSS stays bounded and other sessions see no errors", async () => {
    const pids = await proxy.workerPids();
    const bombers = [...(await sessionsOnEveryWorker(proxy.ports.closed!, 1)), ...(await sessionsOnEveryWorker(proxy.ports.open!, 1))];
    const bystanders = [...(await sessionsOnEveryWorker(proxy.ports.plain!, 3)), ...(await sessionsOnEveryWorker(proxy.ports.open!, 3))];
    open.push(...bombers, ...bystanders);
    expect(new Set(bombers.map(workerOf))).toEqual(new Set([1, 2]));
    expect(bystanders.length).toBeGreaterThanOrEqual(12);
    // Warm up: every slot has made its first replacement instances before the baseline.
    for (const c of bombers) await c.query('SELECT 1 /*grow*/').catch(() => {});
    const rss0 = new Map([...pids].map(([w, pid]) => [w, rssKiB(pid)]));

    let stop = false;
    const errors: string[] = [];
    let queries = 0;
    const load = bystanders.map(async (c) => {
      while (!stop) {
        const n = Math.floor(Math.random() * 1e6);
        try {
          const [rows] = await c.query<RowDataPacket[]>('SELECT ? + 1 AS v', [n]);
          if (rows[0]!.v !== n + 1) errors.push('wrong answer');
          queries++;
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
    });
    const BOMBS = 15; // per bomber session: 2 kinds x 15 x 4 sessions = 120 statements
    let bombs = 0;
    const peak = new Map<number, number>();
    await Promise.all(bombers.map(async (c) => {
      for (let i = 0; i < BOMBS; i++) {
        await c.query(i % 2 ? 'SELECT 1 /*pages*/' : 'SELECT 1 /*grow*/').catch(() => {});
        await c.query('SELECT 1 /*grow*/').catch(() => {});
        bombs += 2;
        for (const [w, pid] of pids) peak.set(w, Math.max(peak.get(w) ?? 0, rssKiB(pid)));
      }
    }));
    stop = true;
    await Promise.all(load);
    const rss1 = new Map([...pids].map(([w, pid]) => [w, rssKiB(pid)]));
    const report = [...pids.keys()].map((w) =>
      `worker ${w}: ${(rss0.get(w)! / MiB).toFixed(0)} -> peak ${(peak.get(w)! / MiB).toFixed(0)} -> ${(rss1.get(w)! / MiB).toFixed(0)} MiB`);
    console.log(`${bombs} allocation bombs (8 MiB quota each; ${bombs * 8} MiB if nothing were freed); ${queries} bystander queries; ${report.join('; ')}`);
    expect(errors).toEqual([]);
    expect(queries).toBeGreaterThan(bystanders.length * 3);
    // Per worker ~30 instances were filled to 8 MiB and dropped: live ones are bounded by the
    // quota (2 slots x active + spare), the rest must have been freed.
    for (const w of pids.keys()) expect(peak.get(w)! - rss0.get(w)!).toBeLessThan(128 * MiB);
  });

  // Was a host gap: the kernel's alloc() made an ArrayBuffer in the worker's heap per call, kept
  // until the next Extism reset(), outside limits.memory. Now an allocation that would take the
  // kernel's blocks plus the linear memory past the quota traps the call (kind 'host'), and the
  // blocks a hook call allocated are dropped when it returns (host/plugins/host-functions.ts).
  it('memory obtained through the Extism kernel alloc() counts against the quota too', async () => {
    const c = await session('open');
    const pid = (await proxy.workerPids()).get(workerOf(c))!;
    const rss0 = rssKiB(pid);
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(await c.query('SELECT 1 AS v /*kalloc*/').then(() => 'ran', (e: Error) => e.message));
    }
    const grown = rssKiB(pid) - rss0;
    console.log(`4 x 64 MiB through extism:host/env.alloc with an 8 MiB quota: worker RSS +${(grown / MiB).toFixed(0)} MiB; ${outcomes.join(' | ')}`);
    // Each statement trapped at the allocation that would pass the quota (fail_open: it ran).
    expect(outcomes).toEqual(['ran', 'ran', 'ran', 'ran']);
    await waitFor('the kernel allocations refused', () =>
      memoryTraps('mem_open').filter((l) => /extism:host\/env\.alloc\(\d+\) refused: .*memory quota of 8388608 bytes/.test(String(l.err))).length >= 4, 5000, 50);
    expect(memoryTraps('mem_open').at(-1)!.kind).toBe('host');
    // Drop the instance (and whatever it holds) so the rest of the run is not affected.
    await c.query('SELECT 1 /*trap*/').catch(() => {});
    expect(grown).toBeLessThan(64 * MiB);
  });

  // Was a host gap: wasmscale_v1.log rate-limited lines but not their length. Lines are now cut
  // at 4 KiB and marked "… [truncated: N bytes, first M kept]".
  it('log lines a plugin writes are bounded in size', async () => {
    const c = await session('open');
    expect((await errorOf(c, 'SELECT 1 /*biglog*/')).message).toBe('hostile: logged 3 lines of 4 MiB');
    await waitFor('the lines logged', () => proxy.log().some((l) => l.plugin === 'mem_open' && l.msg.startsWith('xxxx')), 5000, 50);
    const longest = Math.max(...proxy.log().filter((l) => l.plugin === 'mem_open').map((l) => l.msg.length));
    console.log(`longest log line written by the plugin: ${longest} characters`);
    expect(longest).toBeLessThanOrEqual(64 * 1024);
  });
});
