// Hot swap refusals and quarantine (issue 3, item 5): a new version that is not a WebAssembly
// module, lacks the ABI marker, has another ABI major, whose configure() refuses or traps, that
// traps on its first hook call, or that is a filter where a router is used, is refused with a
// message naming the file and the reason, and the old version keeps serving. A swap also lifts a
// plugin's quarantine ("until a new version is loaded", ABI.md §9).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { fixturePlugin } from '../unit/plugin-fixtures.js';
import { configureRefusing, watPlugin } from '../unit/plugin-wat.js';
import { waitFor } from './helpers.js';
import { plugin, readconnrouteBuilds, swap, topologyServers, V1, V2 } from './plugin-swap-helpers.js';
import { HOST_ABI_MAJOR, HOST_ABI_MINOR } from '../../host/plugins/abi/constants.js';

let builds: { v1: string; v2: string };
let probeRouter: string;
let probeFilter: string;
let dir: string;
const proxies: TestProxy[] = [];
const open: mysql.Connection[] = [];

beforeAll(async () => {
  builds = await readconnrouteBuilds();
  probeRouter = await fixturePlugin('probe-router');
  probeFilter = await fixturePlugin('probe-filter');
  dir = mkdtempSync(join(tmpdir(), 'wasmscale-swap-broken-'));
}, 600_000);

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end().catch(() => c.destroy())));
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array | string): string {
  const f = join(dir, name);
  writeFileSync(f, bytes);
  return f;
}

async function connect(p: TestProxy): Promise<mysql.Connection> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: p.port, ...CREDENTIALS.app, database: 'test' });
  open.push(c);
  return c;
}

async function serverId(c: mysql.Connection): Promise<number> {
  const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id');
  return rows[0]!.id as number;
}

describe('a broken new version is refused and the old one keeps serving', () => {
  it('each kind of broken module, with a message naming the file and what is wrong', async () => {
    const p = await startTestProxy({
      servers: topologyServers(),
      monitor: {},
      plugins: { rcr_broken: { file: builds.v1, config: { router_options: 'master' } } },
      service: { router: 'rcr_broken' },
    });
    proxies.push(p);
    const before = await plugin(p.adminPort, 'rcr_broken');
    expect(before).toMatchObject({ version: V1, swaps: 0, kind: 'router' });
    const live = await connect(p);
    expect(await serverId(live)).toBe(1);

    const cases: [string, Record<string, unknown>, number, string][] = [
      ['a file that is not WebAssembly', { file: file('text.wasm', 'this is not a module') }, 422, 'is not a valid WebAssembly module'],
      ['a missing file', { file: join(dir, 'nope.wasm') }, 422, `cannot read ${join(dir, 'nope.wasm')}: no such file`],
      ['no ABI marker', { file: file('no-marker.wasm', watPlugin({ omit: ['wsx_abi_version'] })) }, 422, 'does not export wsx_abi_version'],
      ['another ABI major', { file: file('abi2.wasm', watPlugin({ marker: 0x20000, describe: { name: 'wat-router', kind: 'router', version: '9', abi: '2.0', hooks: ['route'] } })) }, 422,
        `built for plugin ABI 2.0; this host speaks ABI ${HOST_ABI_MAJOR}.${HOST_ABI_MINOR}`],
      ['configure() refuses (a WAT module)', { file: file('refuses.wasm', watPlugin({ configure: configureRefusing('no, thanks') })) }, 422, 'configuration refused by the plugin: no, thanks'],
      ['configure() refuses the new configuration', { file: builds.v2, config: { router_options: 'replica' } }, 422,
        'configuration refused by the plugin: router_options: unknown value "replica"'],
      ['configure() traps', { file: file('configure-traps.wasm', watPlugin({ configure: '(unreachable)' })) }, 422, 'configure() failed'],
      ['the hot hook traps on the canary call', { file: file('route-traps.wasm', watPlugin({ route: '(unreachable)' })) }, 422, 'trapped in route on a canary call'],
      ['a filter for a router', { file: probeFilter }, 422, 'is a filter ("probe-filter"), but it is used as a router'],
      ['a relative path', { file: 'x.wasm' }, 400, '"file" must be an absolute path'],
      ['no file at all', { config: {} }, 400, 'request body needs "file"'],
    ];
    for (const [what, body, status, message] of cases) {
      const a = await swap(p.adminPort, 'rcr_broken', body);
      expect(a.status, `${what}: ${JSON.stringify(a.body)}`).toBe(status);
      expect(a.body.error, what).toContain(message);
      if (status === 422) {
        expect(a.body.error, what).toMatch(/^plugin rcr_broken: /);
        expect(a.body.error, what).toContain(body.file as string);
      }
      // The old version serves on: the live session and a new one.
      expect(await serverId(live), what).toBe(1);
      expect(await serverId(await connect(p)), what).toBe(1);
    }
    const unknown = await swap(p.adminPort, 'nope', { file: builds.v2 });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toContain('no such plugin: nope');

    const after = await plugin(p.adminPort, 'rcr_broken');
    expect(after).toMatchObject({ version: V1, sha256: before.sha256, file: builds.v1, swaps: 0, quarantined: false });
    expect(after.workers[0]!.slots[0]).toMatchObject({ version: V1, swaps: 0, available: true, traps: 0 });

    // And a good version still goes in afterwards.
    const good = await swap(p.adminPort, 'rcr_broken', { file: builds.v2 });
    expect(good.status, JSON.stringify(good.body)).toBe(200);
    expect((await plugin(p.adminPort, 'rcr_broken')).version).toBe(V2);
    expect(await serverId(live)).toBe(1);
  }, 120_000);
});

describe('quarantine', () => {
  it('a quarantined plugin is called again after a swap', async () => {
    const p = await startTestProxy({
      servers: topologyServers(),
      workers: 1,
      plugins: { probe_q: { file: probeRouter, config: { tag: 'before' }, limits: { max_traps: 2, failure_policy: 'fail_open' } } },
      service: { router: 'probe_q' },
    });
    proxies.push(p);
    const c = await connect(p);
    const echoTag = async (): Promise<string | null> => {
      const err = await c.query('ECHO').then(() => null, (e: { message: string }) => e.message);
      try {
        return (JSON.parse(err ?? '') as { tag: string }).tag;
      } catch {
        return null; // not the plugin's answer: MariaDB's syntax error (the plugin was not called)
      }
    };
    expect(await echoTag()).toBe('before');
    for (let i = 0; i < 2; i++) await c.query('TRAP').catch(() => {});
    const q = await waitFor('the plugin to be quarantined', async () => {
      const v = await plugin(p.adminPort, 'probe_q');
      return v.quarantined ? v : null;
    });
    expect(q.quarantineReasons[0]).toContain('2 traps within');
    expect(q.workers[0]!.slots[0]).toMatchObject({ quarantined: true, available: false, traps: 2 });
    expect(await echoTag()).toBe(null);

    const a = await swap(p.adminPort, 'probe_q', { file: probeRouter, config: { tag: 'after' } });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body.workers).toEqual([{ worker: 1, ok: true, swapped: 1, errors: [] }]);
    const v = await plugin(p.adminPort, 'probe_q');
    expect(v).toMatchObject({ quarantined: false, quarantineReasons: [], swaps: 1 });
    expect(v.workers[0]!.slots[0]).toMatchObject({ quarantined: false, quarantineReason: '', available: true, swaps: 1 });
    // The same session is served by the new version: it was replayed into it (session_start
    // with its current server), so the plugin knows it.
    expect(await echoTag()).toBe('after');
    const known = await c.query('SESSION?').then(() => 'answered', (e: { message: string }) => e.message);
    expect(known).toBe('known:0');
    const [sid] = await c.query<mysql.RowDataPacket[]>('SELECT 1 AS one');
    expect(sid[0]!.one).toBe(1);
  }, 120_000);
});
