// The third-party flow, end to end: a plugin project created outside the repository that
// depends on nothing but the SDK (a `file:` dependency, installed with npm), built with
// `wasmscale plugin build`, loaded into a running proxy, which then routes with it.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { sharedTopology } from '../harness/shared.js';
import { REPO } from '../unit/plugin-fixtures.js';

const PLUGIN_SOURCE = `
import { Config, RouteDecision, Router, ServerTable, Session, SessionTargets, Statement, register } from "wasmscale-sdk";

export * from "wasmscale-sdk/assembly/exports";

/** Every session goes to the configured server; DROP statements are refused. */
class PinnedRouter extends Router {
  server: string = "";

  configure(config: Config): string | null {
    this.server = config.getString("server", "");
    return this.server.length == 0 ? "pinned-router: set \\"server\\"" : null;
  }

  onSessionStart(session: Session, servers: ServerTable, targets: SessionTargets): void {
    const s = servers.find(this.server);
    if (s === null) targets.refuse("pinned-router: no server " + this.server);
    else targets.add(s.index);
  }

  route(stmt: Statement, servers: ServerTable, decision: RouteDecision): void {
    if (stmt.sqlStartsWith("DROP")) decision.error("pinned-router: DROP is not allowed here");
  }
}

register(new PinnedRouter("pinned-router", "2.1.0"));
`;

/** Newest modification time under `dir` (.ts files). */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/**
 * The CLI as installed: the compiled one when `npm run build` is current (as in `npm test`),
 * else the sources under tsx (much slower to load binaryen).
 */
function cliCommand(): string[] {
  const compiled = join(REPO, 'dist/host/cli.js');
  if (existsSync(compiled) && statSync(compiled).mtimeMs >= newest(join(REPO, 'host'))) return [compiled];
  return ['--import', pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href, join(REPO, 'host/cli.ts')];
}

function run(cmd: string, args: string[], cwd: string): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, npm_config_update_notifier: 'false' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (status) => resolve({ status, out }));
  });
}

let project: string;
let proxy: TestProxy | null = null;

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'third-party-plugin-'));
  expect(project.startsWith(REPO)).toBe(false);
});
afterAll(async () => {
  await proxy?.stop();
  rmSync(project, { recursive: true, force: true });
});

describe('a third-party plugin project', () => {
  it('installs the SDK as its only dependency and builds with `wasmscale plugin build`', async () => {
    writeFileSync(join(project, 'package.json'), JSON.stringify({
      name: 'pinned-router', version: '2.1.0', private: true, dependencies: { 'wasmscale-sdk': `file:${join(REPO, 'sdk')}` },
    }, null, 2));
    mkdirSync(join(project, 'assembly'));
    writeFileSync(join(project, 'assembly', 'index.ts'), PLUGIN_SOURCE);
    const npm = await run('npm', ['install', '--offline', '--no-audit', '--no-fund'], project);
    expect(npm.status, npm.out).toBe(0);
    expect(existsSync(join(project, 'node_modules', 'wasmscale-sdk', 'index.ts'))).toBe(true);

    const build = await run(process.execPath, [...cliCommand(), 'plugin', 'build', project], project);
    expect(build.status, build.out).toBe(0);
    expect(build.out).not.toContain('bundled with wasmscale'); // it used its own node_modules
    expect(build.out).toMatch(/built .*pinned-router\.wasm \(\d+ bytes, \d+ ms\): pinned-router 2\.1\.0, router, ABI 1\.\d+/);
    expect(existsSync(join(project, 'build', 'pinned-router.wasm'))).toBe(true);
  }, 900_000);

  it('is loaded into a running proxy, which routes with it', async () => {
    const t = sharedTopology();
    const wasm = join(project, 'build', 'pinned-router.wasm');
    expect(existsSync(wasm)).toBe(true);
    proxy = await startTestProxy({
      servers: [
        { name: 'db1', port: t.primary.port },
        { name: 'db2', port: t.replicas[0]!.port },
        { name: 'db3', port: t.replicas[1]!.port },
      ],
      monitor: {},
      plugins: { pinned: { file: wasm, config: { server: 'db3' } } },
      service: { router: 'pinned' },
    });
    for (let i = 0; i < 3; i++) {
      const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app, database: 'test' });
      try {
        const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id');
        expect(rows[0]!.id).toBe(t.replicas[1]!.serverId);
        const err = await c.query('DROP TABLE IF EXISTS nothing_here').catch((e: unknown) => e);
        expect(err).toMatchObject({ errno: 1105, sqlState: 'HY000', message: 'pinned-router: DROP is not allowed here' });
        const [again] = await c.query<mysql.RowDataPacket[]>('SELECT 41 + 1 AS answer');
        expect(again[0]!.answer).toBe(42);
      } finally {
        await c.end();
      }
    }
  }, 300_000);
});
