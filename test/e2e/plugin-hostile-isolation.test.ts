// Isolation between services, and recovery from a trap, through a running proxy with two routing
// workers: two services (two listeners) routed by the same plugin entry get separate instances
// (a plugin that counts the sessions it is told of sees only its own service's), a trap in one
// service's instance leaves the other's untouched, and a trapping call (unreachable, abort)
// fails alone: the next statement on the same session works, on a fresh instance that was told
// of the session again, with the session's server-side state intact.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedTopology } from '../harness/shared.js';
import { waitFor } from './helpers.js';
import {
  HOSTILE_ROUTER, adminPlugin, buildPlugin, connect, countOf, errorOf, startHostileProxy, workerOf, type HostileProxy,
} from './plugin-hostile-helpers.js';

let proxy: HostileProxy;
const open: Connection[] = [];

beforeAll(async () => {
  const file = await buildPlugin('hostile-router', HOSTILE_ROUTER);
  const limits = { cpu_budget: '5ms', max_traps: 1000 };
  proxy = await startHostileProxy({
    workers: 2,
    plugins: {
      hostile: { file, limits: { ...limits, failure_policy: 'fail_open' } },
      hostile_closed: { file, limits: { ...limits, failure_policy: 'fail_closed' } },
    },
    services: { alpha: { router: 'hostile' }, beta: { router: 'hostile' }, gamma: { router: 'hostile_closed' } },
  });
}, 120_000);

afterAll(async () => {
  await Promise.all(open.map((c) => c.end().catch(() => c.destroy())));
  if (proxy) expect(await proxy.stop()).toBe(0);
});

async function sessions(service: string, n: number): Promise<Connection[]> {
  const out: Connection[] = [];
  for (let i = 0; i < n; i++) {
    const c = await connect(proxy.ports[service]!);
    c.on('error', () => {});
    out.push(c);
    open.push(c);
  }
  return out;
}

const onWorker = (cs: Connection[], w: number) => cs.filter((c) => workerOf(c) === w);

describe('two services using the same plugin', () => {
  let alpha: Connection[];
  let beta: Connection[];

  it("get separate instances: each sees only its own service's sessions, on each worker", async () => {
    alpha = await sessions('alpha', 3);
    beta = await sessions('beta', 5);
    for (const w of [1, 2]) {
      expect(onWorker(alpha, w).length + onWorker(beta, w).length).toBeGreaterThan(0);
    }
    for (const [service, mine] of [['alpha', alpha], ['beta', beta]] as const) {
      for (const c of mine) {
        const r = await countOf(c);
        const expected = onWorker(mine, workerOf(c)).length;
        expect(r, `${service} session on worker ${workerOf(c)}`).toMatchObject({ live: expected, starts: expected, known: true, services: [service] });
      }
    }
  });

  it("a trap in alpha's instance replaces only alpha's: beta's keeps its state and its sessions never notice", async () => {
    // A worker with sessions of both services.
    const w = [1, 2].find((x) => onWorker(alpha, x).length > 0 && onWorker(beta, x).length > 0)!;
    expect(w).toBeDefined();
    const a = onWorker(alpha, w)[0]!;
    const b = onWorker(beta, w)[0]!;
    const betaBefore = await countOf(b);
    const alphaBefore = await countOf(a);
    expect(alphaBefore.routed).toBeGreaterThan(1);

    const [rows] = await a.query<RowDataPacket[]>('SELECT 7 * 6 AS v /*trap*/');
    expect(rows).toEqual([{ v: 42 }]); // fail_open

    // alpha: a fresh instance (its statement counter started again), told of alpha's live sessions.
    const alphaAfter = await countOf(a);
    expect(alphaAfter).toMatchObject({ routed: 1, live: onWorker(alpha, w).length, starts: onWorker(alpha, w).length, known: true, services: ['alpha'] });
    // beta: the same instance as before (its counter went on), still only beta's sessions.
    const betaAfter = await countOf(b);
    expect(betaAfter).toMatchObject({ routed: betaBefore.routed + 1, live: betaBefore.live, starts: betaBefore.starts, services: ['beta'] });
    for (const c of onWorker(beta, w)) {
      const [r] = await c.query<RowDataPacket[]>('SELECT 1 + 2 AS v');
      expect(r).toEqual([{ v: 3 }]);
    }
    await waitFor('the trap logged for service alpha', () => proxy.log().some((l) =>
      l.msg === 'plugin trapped; the call failed and the instance is replaced' && l.plugin === 'hostile' && l.service === 'alpha'), 5000, 50);
    expect(proxy.log().some((l) => l.msg === 'plugin trapped; the call failed and the instance is replaced' && l.service === 'beta')).toBe(false);
    const report = await adminPlugin(proxy.adminPort, 'hostile');
    if (report !== null) {
      // One slot per service on each worker; only alpha's on worker w trapped.
      const slots = report.workers.find((x) => x.worker === w)!.slots;
      expect(slots.map((x) => x.service).sort()).toEqual(['alpha', 'beta']);
      expect(slots.find((x) => x.service === 'alpha')!.traps).toBe(1);
      expect(slots.find((x) => x.service === 'beta')!.traps).toBe(0);
    }
  });
});

describe('a trap in one hook call fails only that call', () => {
  // unreachable, abort() and a stack overflow (V8's RangeError inside the module).
  for (const marker of ['trap', 'abort', 'recurse'] as const) {
    it(`${marker}, fail_open: the statement runs on the session's server; the next one works on a fresh instance that knows the session`, async () => {
      const [c] = await sessions('alpha', 1);
      await c!.query('SET @kept = 1234');
      const before = await countOf(c!);
      const [rows] = await c!.query<RowDataPacket[]>(`SELECT @@server_id AS id, @kept AS kept /*${marker}*/`);
      expect(rows).toEqual([{ id: sharedTopology().primary.serverId, kept: 1234 }]);
      const after = await countOf(c!);
      expect(after.routed).toBe(1); // replaced
      expect(after.known).toBe(true); // replayed
      expect(after.live).toBe(before.live);
      const [next] = await c!.query<RowDataPacket[]>('SELECT @kept + 1 AS v');
      expect(next).toEqual([{ v: 1235 }]);
    });

    it(`${marker}, fail_closed: ERR 1105 naming the plugin, then the session goes on with its state`, async () => {
      const [c] = await sessions('gamma', 1);
      await c!.query('SET @kept = 99');
      expect(await errorOf(c!, `SELECT 1 /*${marker}*/`)).toEqual({
        errno: 1105, sqlState: 'HY000', message: 'router plugin hostile_closed failed; statement refused (failure_policy: fail_closed)',
      });
      const [next] = await c!.query<RowDataPacket[]>('SELECT @kept AS v');
      expect(next).toEqual([{ v: 99 }]);
      expect(await countOf(c!)).toMatchObject({ known: true, routed: 2, services: ['gamma'] });
    });
  }

  it("each trap is logged with its kind (stack overflow: 'stack'); abort() with the plugin's message", async () => {
    await waitFor('the abort message logged', () => proxy.log().some((l) =>
      l.plugin === 'hostile' && l.msg.includes('hostile abort on request')), 5000, 50);
    const trapped = (plugin: string) => proxy.log().filter((l) =>
      l.msg === 'plugin trapped; the call failed and the instance is replaced' && l.plugin === plugin && l.hook === 'route').map((l) => l.kind);
    expect(trapped('hostile_closed')).toEqual(['trap', 'trap', 'stack']);
    // alpha's: the isolation test's trap, then this describe's three.
    expect(trapped('hostile')).toEqual(['trap', 'trap', 'trap', 'stack']);
  });
});
