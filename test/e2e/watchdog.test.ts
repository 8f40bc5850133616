// The primary's watchdog over its routing workers (DESIGN.md: "a watchdog in the primary
// restarts a worker that stops answering"). The real CLI with two workers: a worker frozen with
// SIGSTOP is killed and restarted within ~15 s while the other worker's sessions keep working;
// a worker killed outright is restarted at once; new connections succeed afterwards.
import type { Connection } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startCliProxy, type CliProxy } from '../harness/proxy.js';
import { sharedTopology } from '../harness/shared.js';
import { expectHealthy, logLines, sleep, waitFor } from './helpers.js';

let proxy: CliProxy;

beforeAll(async () => {
  proxy = await startCliProxy({ servers: [{ name: 'primary', port: sharedTopology().primary.port }], workers: 2 });
});
afterAll(async () => {
  if (proxy) expect(await proxy.stop()).toBe(0);
});

const connect = (): Promise<Connection> => mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app, connectTimeout: 20_000 });
/** The worker owning a session: the low 6 bits of the proxy's connection id. */
const workerOf = (c: Connection): number => c.threadId! & 63;

async function workerPids(): Promise<Map<number, number>> {
  const s = await proxy.stats();
  return new Map(s.workers.map((w) => [w.index, w.pid]));
}

async function waitRestarted(index: number, oldPid: number, limitMs: number): Promise<number> {
  const t0 = Date.now();
  await waitFor(`worker ${index} restarted`, async () => {
    const w = (await proxy.stats()).workers.find((x) => x.index === index);
    return w && w.alive && w.pid !== oldPid && w.pid > 0;
  }, limitMs, 250);
  return Date.now() - t0;
}

describe('watchdog', () => {
  it('a frozen worker (SIGSTOP) is restarted while the other worker keeps serving', async () => {
    const pids = await workerPids();
    const conns = await Promise.all(Array.from({ length: 6 }, connect));
    for (const c of conns) c.on('error', () => {});
    const victim = 1;
    const onVictim = conns.filter((c) => workerOf(c) === victim);
    const onOther = conns.filter((c) => workerOf(c) !== victim);
    expect(onVictim.length).toBeGreaterThan(0);
    expect(onOther.length).toBeGreaterThan(0);

    const pid = pids.get(victim)!;
    process.kill(pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      // The other worker's sessions answer all along.
      let queries = 0;
      const errors: string[] = [];
      let restarted = false;
      const watch = waitRestarted(victim, pid, 30_000).finally(() => (restarted = true));
      // Once the frozen worker has missed a couple of pings, new connections go to the other one
      // instead of waiting for the watchdog.
      await sleep(5500);
      const during = await Promise.all(Array.from({ length: 3 }, () =>
        mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app, connectTimeout: 8000 })));
      expect(during.map(workerOf)).toEqual([2, 2, 2]);
      await Promise.all(during.map((c) => c.end()));
      while (!restarted) {
        await Promise.all(onOther.map(async (c) => {
          const n = Math.floor(Math.random() * 1e6);
          try {
            const [rows] = await c.query('SELECT ? * 2 AS v', [n]);
            if ((rows as { v: number }[])[0]!.v !== n * 2) errors.push('wrong answer');
            queries++;
          } catch (e) {
            errors.push((e as Error).message);
          }
        }));
        await sleep(100);
      }
      const ms = await watch;
      const total = Date.now() - t0;
      console.log(`frozen worker restarted after ${total} ms; ${queries} queries on the other worker meanwhile`);
      expect(errors).toEqual([]);
      expect(queries).toBeGreaterThan(10);
      expect(ms).toBeLessThan(25_000);
      const log = logLines(proxy.output());
      expect(log.filter((l) => l.msg === 'worker stopped answering; restarting it' && l.pid === pid)).toHaveLength(1);

      // Sessions of the frozen worker are gone (their process is); new ones work on both workers.
      for (const c of onVictim) await expect(c.query('SELECT 1')).rejects.toThrow();
      const fresh = await Promise.all(Array.from({ length: 4 }, connect));
      try {
        for (const c of fresh) {
          const [rows] = await c.query('SELECT 3 * 3 AS v');
          expect(rows).toEqual([{ v: 9 }]);
        }
        // Least sessions first: the restarted (empty) worker takes the new ones.
        expect(fresh.map(workerOf)).toContain(victim);
      } finally {
        await Promise.all(fresh.map((c) => c.end()));
      }
    } finally {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already gone: the watchdog killed it
      }
      for (const c of conns) c.destroy();
    }
    await waitFor('no sessions left', async () => (await proxy.stats()).sessions === 0, 5000);
  }, 60_000);

  it('a killed worker (SIGKILL) is restarted and new connections succeed', async () => {
    const pids = await workerPids();
    const victim = 2;
    const pid = pids.get(victim)!;
    const c = await connect();
    c.on('error', () => {});
    process.kill(pid, 'SIGKILL');
    // Clients arriving while the worker is being restarted are served (by the other worker).
    await sleep(150);
    const meanwhile = await Promise.allSettled(Array.from({ length: 6 }, async (_, i) => {
      await sleep(i * 50);
      const m = await connect();
      const [rows] = await m.query('SELECT 1 + ? AS v', [i]);
      await m.end();
      return (rows as { v: number }[])[0]!.v;
    }));
    expect(meanwhile.map((x) => (x.status === 'fulfilled' ? x.value : String(x.reason)))).toEqual([1, 2, 3, 4, 5, 6]);
    const ms = await waitRestarted(victim, pid, 20_000);
    console.log(`killed worker restarted after ${ms} ms`);
    expect(proxy.child.exitCode).toBeNull();
    // The other worker was not touched.
    expect((await workerPids()).get(1)).toBe(pids.get(1));
    for (let i = 0; i < 6; i++) await expectHealthy(proxy.port);
    const fresh = await Promise.all(Array.from({ length: 4 }, connect));
    expect(new Set(fresh.map(workerOf))).toEqual(new Set([1, 2]));
    await Promise.all(fresh.map((x) => x.end()));
    c.destroy();
    const s = await proxy.stats();
    expect(s.workers.find((w) => w.index === victim)?.restarts).toBe(1);
  }, 60_000);
});
