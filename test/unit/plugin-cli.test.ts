// `wasmscale plugin inspect` and `wasmscale plugin test`: the command functions the CLI runs
// (in-process: binaryen loads slowly under tsx in a child), and the real CLI in a child process
// for the exit code of a module it refuses. (`plugin build` runs in the third-party flow test.)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inspectCommand, testCommand } from '../../host/plugins/plugin-cli.js';
import { bundledPlugin, REPO, runCli } from './plugin-fixtures.js';
import { watPlugin } from './plugin-wat.js';

const dir = mkdtempSync(join(tmpdir(), 'wasmscale-plugin-cli-'));

type Command = 'inspect' | 'test';

/** Runs a plugin command in-process: exit code and what it printed. */
async function cli(cmd: Command, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { out: (t: string) => void (stdout += t), err: (t: string) => void (stderr += t) };
  const json = args[0] === '--json';
  const rest = json ? args.slice(1) : args;
  const status = cmd === 'inspect' ? await inspectCommand(rest[0]!, { json }, io) : await testCommand(rest[0]!, rest[1]!, io);
  return { status, stdout, stderr };
}

let rcr: string;
beforeAll(async () => {
  rcr = await bundledPlugin('routers/readconnroute');
});

describe('wasmscale plugin inspect', () => {
  it('prints the descriptor and ABI version of a loadable module', async () => {
    const r = await cli('inspect', rcr);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('plugin:    readconnroute 1.0.0 (router), built with wasmscale-sdk 1.2.0');
    expect(r.stdout).toContain('ABI:       1.2 (this host speaks 1.2: loadable)');
    expect(r.stdout).toContain('hooks:     session_start, session_end, servers, route');
    expect(r.stdout).toContain('memory:    at most 256 pages (16 MiB)');
    const json = await cli('inspect', '--json', rcr);
    expect(JSON.parse(json.stdout)).toMatchObject({ descriptor: { name: 'readconnroute', kind: 'router' }, hostAbi: '1.2' });
  }, 120_000);

  it('exits 1 with the reason for a module this host cannot load', async () => {
    const newer = join(dir, 'newer.wasm');
    writeFileSync(newer, watPlugin({ marker: 0x10003, describe: { name: 'n', kind: 'router', version: '1', abi: '1.3', hooks: ['route'] } }));
    const r = await cli('inspect', newer);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`wasmscale plugin inspect: plugin ${newer}: built for plugin ABI 1.3, newer than this host's 1.2 (upgrade wasmscale, or build against an older SDK)\n`);
    const junk = join(dir, 'junk.wasm');
    writeFileSync(junk, 'not wasm at all');
    const j = await runCli('plugin', 'inspect', junk);
    expect(j.status).toBe(1);
    expect(j.stderr).toMatch(/^wasmscale plugin inspect: plugin .*junk\.wasm: .*not a valid WebAssembly module/);
  }, 120_000);
});

describe('wasmscale plugin test', () => {
  it("runs readconnroute's cases file and exits 0", async () => {
    const r = await cli('test', rcr, join(REPO, 'plugins-as/routers/readconnroute/test/slave.cases.json'));
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/13 passed, 0 failed\n$/);
    expect(r.status).toBe(0);
  }, 120_000);

  it('reports failing steps and exits 1', async () => {
    const cases = join(dir, 'bad.cases.json');
    writeFileSync(cases, JSON.stringify({
      config: { router_options: 'master' },
      servers: [{ name: 'db1', role: 'primary' }, { name: 'db2', role: 'replica' }],
      steps: [
        { start: 1, expect: { server: 'db2' } },
        { session: 1, sql: 'SELECT 1', expect: { route: 'keep' } },
        { session: 7, sql: 'SELECT 1' },
      ],
    }));
    const r = await cli('test', rcr, cases);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('FAIL   1 start session 1\n         expected first choice "db2", got "db1"');
    expect(r.stdout).toContain('ok     2 session 1: SELECT 1');
    expect(r.stdout).toContain('FAIL   3 step 3\n         session 7 was not started (or has ended)');
    expect(r.stdout).toMatch(/1 passed, 2 failed\n$/);
  }, 120_000);
});
