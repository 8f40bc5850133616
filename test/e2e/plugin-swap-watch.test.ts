// `plugins.<name>.watch: true`: replacing the configured .wasm swaps it in; a broken file is
// refused (the old version serves on) until a good one replaces it.
import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { sleep, waitFor } from './helpers.js';
import { plugin, readconnrouteBuilds, topologyServers, V1, V2 } from './plugin-swap-helpers.js';

let builds: { v1: string; v2: string };
let dir: string;
let proxy: TestProxy;

/** Replaces `target` the way builds and editors do: write aside, rename over. */
function replace(target: string, from: string | Buffer): void {
  const tmp = `${target}.tmp`;
  if (typeof from === 'string') copyFileSync(from, tmp);
  else writeFileSync(tmp, from);
  renameSync(tmp, target);
}

beforeAll(async () => {
  builds = await readconnrouteBuilds();
  dir = mkdtempSync(join(tmpdir(), 'wasmscale-swap-watch-'));
  copyFileSync(builds.v1, join(dir, 'rcr.wasm'));
  proxy = await startTestProxy({
    servers: topologyServers(),
    monitor: {},
    plugins: { rcr_watch: { file: join(dir, 'rcr.wasm'), config: { router_options: 'master' }, watch: true } },
    service: { router: 'rcr_watch' },
  });
}, 600_000);
afterAll(async () => {
  await proxy?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('plugins.<name>.watch', () => {
  it('a changed file is swapped in; a broken one is refused', async () => {
    const file = join(dir, 'rcr.wasm');
    const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app });
    try {
      expect((await plugin(proxy.adminPort, 'rcr_watch')).version).toBe(V1);
      replace(file, builds.v2);
      await waitFor('V2 to be swapped in', async () => (await plugin(proxy.adminPort, 'rcr_watch')).version === V2, 15_000, 100);

      replace(file, Buffer.from('not a module'));
      await sleep(1500);
      expect(await plugin(proxy.adminPort, 'rcr_watch')).toMatchObject({ version: V2, swaps: 1 });
      const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id');
      expect(rows[0]!.id).toBe(1);

      replace(file, builds.v1);
      await waitFor('V1 to be swapped in', async () => (await plugin(proxy.adminPort, 'rcr_watch')).version === V1, 15_000, 100);
      expect((await plugin(proxy.adminPort, 'rcr_watch')).swaps).toBe(2);
      const [again] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id');
      expect(again[0]!.id).toBe(1);
    } finally {
      await c.end();
    }
  }, 120_000);
});
