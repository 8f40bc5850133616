// `wasmscale ctl plugin swap|list|show` end to end: the real CLI in a child process against a
// running proxy's admin endpoint. Exit 0 with a summary on success; exit 1 with the proxy's
// message when the new version is refused; exit 2 when the admin endpoint cannot be reached.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { freePort } from '../harness/ports.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { REPO } from '../unit/plugin-fixtures.js';
import { plugin, readconnrouteBuilds, topologyServers, V1, V2 } from './plugin-swap-helpers.js';
import { HOST_ABI_MAJOR, HOST_ABI_MINOR } from '../../host/plugins/abi/constants.js';

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** The compiled CLI when `npm run build` is current, else the sources under tsx. */
function cliCommand(): string[] {
  const compiled = join(REPO, 'dist/host/cli.js');
  if (existsSync(compiled) && statSync(compiled).mtimeMs >= newest(join(REPO, 'host'))) return [compiled];
  return ['--import', pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href, join(REPO, 'host/cli.ts')];
}

function ctl(args: string[], cwd = REPO): Promise<{ status: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...cliCommand(), 'ctl', 'plugin', ...args], { cwd });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (status) => resolve({ status, out, err }));
  });
}

let builds: { v1: string; v2: string };
let proxy: TestProxy;
let dir: string;

beforeAll(async () => {
  builds = await readconnrouteBuilds();
  dir = mkdtempSync(join(tmpdir(), 'wasmscale-swap-cli-'));
  proxy = await startTestProxy({
    servers: topologyServers(),
    monitor: {},
    workers: 1,
    plugins: { rcr_cli: { file: builds.v1, config: { router_options: 'master' } } },
    service: { router: 'rcr_cli' },
  });
}, 600_000);
afterAll(async () => {
  await proxy?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('wasmscale ctl plugin', () => {
  it('swap: exit 0, a summary, and the proxy runs the new version', async () => {
    const admin = `http://127.0.0.1:${proxy.adminPort}`;
    const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app });
    try {
      // A relative path is resolved against the caller's directory before it is sent.
      const r = await ctl(['swap', 'rcr_cli', relative(dir, builds.v2), '--admin', admin], dir);
      expect(r.status, r.err).toBe(0);
      expect(r.out).toContain(`swapped rcr_cli to ${V2} (ABI ${HOST_ABI_MAJOR}.${HOST_ABI_MINOR}, sha256 `);
      expect(r.out).toContain(`from ${builds.v2}`);
      expect(r.out).toMatch(/worker 1: ok, 1 service\(s\)/);
      expect((await plugin(proxy.adminPort, 'rcr_cli')).version).toBe(V2);
      const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id');
      expect(rows[0]!.id).toBe(1);
    } finally {
      await c.end();
    }

    const list = await ctl(['list', '--admin', admin]);
    expect(list.status, list.err).toBe(0);
    expect(list.out).toContain(`rcr_cli  router ${V2} ABI ${HOST_ABI_MAJOR}.${HOST_ABI_MINOR}  ${builds.v2}`);
    expect(list.out).toMatch(/services: main {2}swaps: 1 {2}calls: \d+/);

    const show = await ctl(['show', 'rcr_cli', '--admin', admin]);
    expect(show.status, show.err).toBe(0);
    expect(JSON.parse(show.out)).toMatchObject({ name: 'rcr_cli', version: V2, swaps: 1, workers: [{ worker: 1, alive: true }] });

    const back = await ctl(['swap', 'rcr_cli', builds.v1, '--admin', admin, '--config', '{"router_options":"master"}', '--json']);
    expect(back.status, back.err).toBe(0);
    expect(JSON.parse(back.out)).toMatchObject({ plugin: 'rcr_cli', version: V1, workers: [{ worker: 1, ok: true }] });
  }, 120_000);

  it('swap of a broken file: non-zero exit with the proxy\'s message; the old version serves on', async () => {
    const admin = `http://127.0.0.1:${proxy.adminPort}`;
    const before = await plugin(proxy.adminPort, 'rcr_cli');
    const bad = join(dir, 'broken.wasm');
    writeFileSync(bad, 'not a module');
    const r = await ctl(['swap', 'rcr_cli', bad, '--admin', admin]);
    expect(r.status).toBe(1);
    expect(r.err).toBe(`wasmscale ctl plugin swap: plugin rcr_cli: ${bad}: is not a valid WebAssembly module (WebAssembly.validate failed)\n`);
    expect(r.out).toBe('');
    const after = await plugin(proxy.adminPort, 'rcr_cli');
    expect(after).toMatchObject({ version: before.version, sha256: before.sha256, swaps: before.swaps });

    const refused = await ctl(['swap', 'rcr_cli', builds.v2, '--admin', admin, '--config', '{"router_options":"replica"}']);
    expect(refused.status).toBe(1);
    expect(refused.err).toContain('configuration refused by the plugin: router_options: unknown value "replica"');

    const unknown = await ctl(['swap', 'nope', builds.v2, '--admin', admin]);
    expect(unknown.status).toBe(1);
    expect(unknown.err).toContain('no such plugin: nope');

    const nobody = await ctl(['list', '--admin', `http://127.0.0.1:${await freePort()}`]);
    expect(nobody.status).toBe(2);
    expect(nobody.err).toMatch(/cannot reach the admin endpoint at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  }, 120_000);
});
