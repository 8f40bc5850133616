// `wasmscale plugin test` on filter plugins: a passing cases file exits 0 and prints each action;
// a failing one exits non-zero with a diff of what was expected and what the filter did; a
// plugin project directory is built first.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { testCommand } from '../../host/plugins/plugin-cli.js';
import { bundledPlugin, REPO, runCli } from './plugin-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'wasmscale-plugin-cli-filter-'));

async function cli(file: string, cases: string): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await testCommand(file, cases, { out: (t) => void (stdout += t), err: (t) => void (stderr += t) });
  return { status, stdout, stderr };
}

let firewall: string;
beforeAll(async () => {
  firewall = await bundledPlugin('filters/firewall');
}, 300_000);

const BAD = {
  config: { deny: ['drop table'] },
  steps: [
    { start: 1 },
    { session: 1, sql: 'SELECT 1', expect: { action: 'continue' } },
    { session: 1, sql: 'SELECT 2', expect: { action: 'block', code: 1141 } },
    { session: 1, sql: 'DROP TABLE t', expect: { action: 'block', code: 1045, message: 'denied' } },
    { expect_metrics: { blocked: 5 } },
  ],
};

describe('wasmscale plugin test on a filter', () => {
  it("runs firewall's cases file, prints each action and exits 0", async () => {
    const r = await cli(firewall, join(REPO, 'plugins-as/filters/firewall/test/deny.cases.json'));
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('ok     2 session 1: SELECT * FROM t [read] → continue\n');
    expect(r.stdout).toContain('ok     3 session 1: DROP   table t [write] → block 1141 42000: Access denied for user \'app\'@\'10.0.0.7\'');
    expect(r.stdout).toMatch(/7 passed, 0 failed\n$/);
    expect(r.status).toBe(0);
  }, 120_000);

  it('exits 1 with a readable diff for each failing step', async () => {
    const cases = join(dir, 'bad.cases.json');
    writeFileSync(cases, JSON.stringify(BAD));
    const r = await cli(firewall, cases);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('ok     2 session 1: SELECT 1 [read] → continue\n');
    expect(r.stdout).toContain(
      'FAIL   3 session 1: SELECT 2 [read] → continue\n' +
      '         expected {"action":"block","code":1141}\n' +
      '              got {"action":"continue"}\n');
    expect(r.stdout).toContain(
      '         expected {"action":"block","code":1045,"message":"denied"}\n' +
      '              got {"action":"block","code":1141,"message":"Access denied for user \'app\'@\'127.0.0.1\': Permission denied, query matched \\"drop table\\""}\n');
    expect(r.stdout).toContain('FAIL   5 metrics {"blocked":5}\n         expected metric blocked = 5, got 1\n');
    expect(r.stdout).toMatch(/2 passed, 3 failed\n$/);
  }, 120_000);

  it('the real CLI exits non-zero on a failing case and 0 on a plugin project directory it builds first', async () => {
    const cases = join(dir, 'bad2.cases.json');
    writeFileSync(cases, JSON.stringify(BAD));
    const bad = await runCli('plugin', 'test', firewall, cases);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('2 passed, 3 failed');
    const project = join(dir, 'rewrite');
    cpSync(join(REPO, 'plugins-as/filters/rewrite'), project, { recursive: true, filter: (p) => !p.includes('/build') });
    const r = await cli(project, join(project, 'test/rename.cases.json'));
    expect(r.stdout).toMatch(/^built .*rewrite\.wasm/);
    expect(r.stdout).toContain('→ rewrite: select a FROM t_new where id = 1');
    expect(r.stdout).toMatch(/4 passed, 0 failed\n$/);
    expect(r.status).toBe(0);
  }, 240_000);
});
