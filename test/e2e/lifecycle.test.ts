// Start-up errors and shutdown of the real CLI (issue 2, item 8). A bad config file exits with
// code 2 naming the file, line and path; a port in use exits with 1 and says so; an unreachable
// backend or a service user without SELECT on mysql.* is logged as an error naming the server
// or the missing grant while the proxy still starts; SIGTERM stops the proxy even while clients
// are connected.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import mysql from 'mysql2/promise';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { freePort } from '../harness/ports.js';
import { testConfigObject, type TestProxyOptions } from '../harness/proxy.js';
import { RawClient } from '../harness/raw-client.js';
import { connectSharedTopology, sharedTopology, type SharedTopologyClient } from '../harness/shared.js';
import { logLines, sleep, spawnCli, waitListening, type CliRun } from './helpers.js';
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let root: SharedTopologyClient;
const runs: CliRun[] = [];

beforeAll(() => {
  root = connectSharedTopology();
});
afterAll(async () => {
  await Promise.all(runs.map((r) => r.stop()));
  root?.close();
});

const primary = (): TestProxyOptions['servers'] => [{ name: 'primary', port: sharedTopology().primary.port }];

async function cli(config: string | Record<string, unknown>): Promise<CliRun> {
  const r = await spawnCli(config);
  runs.push(r);
  return r;
}

/** Exit code within limitMs, or 'running'. */
async function exitWithin(r: CliRun, limitMs: number): Promise<number | null | 'running'> {
  return Promise.race([r.exited, sleep(limitMs).then(() => 'running' as const)]);
}

describe('start-up errors', () => {
  it('an invalid config file: exit code 2, the file, line and path of each problem', async () => {
    const obj = await testConfigObject({ servers: primary(), service: { max_allowed_packet: 'lots' } });
    (obj.listeners as Record<string, Record<string, unknown>>).main!.prot = 4006;
    const r = await cli(stringify(obj));
    expect(await exitWithin(r, 15_000)).toBe(2);
    const out = r.output();
    expect(out).toContain(r.file);
    expect(out).toMatch(/:\d+:\d+ services\.main\.max_allowed_packet: expected a size/);
    expect(out).toMatch(/listeners\.main\.prot: unknown key "prot" \(did you mean "port"\?\)/);
  });

  it('a missing or empty config file: exit code 2 and says which and why', async () => {
    const missing = spawnSync(process.execPath, ['dist/host/cli.js', 'start', '-c', '/nonexistent/wasmscale.yaml'], { encoding: 'utf8' });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('/nonexistent/wasmscale.yaml: cannot read the file: no such file');
    const empty = await cli('');
    expect(await exitWithin(empty, 15_000)).toBe(2);
    expect(empty.output()).toContain(`${empty.file}: the file is empty`);
  });

  it('a listener port in use: exit code 1 naming the listener and the address', async () => {
    const blocker = net.createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', () => res()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await cli(await testConfigObject({ servers: primary(), listener: { port }, logLevel: 'info' }));
      expect(await exitWithin(r, 20_000)).toBe(1);
      expect(r.output()).toContain(`listener main: 127.0.0.1:${port} is already in use`);
    } finally {
      blocker.close();
    }
  });

  it('an unreachable backend is logged as an error naming the server; the proxy still starts', async () => {
    const ghost = await freePort();
    const r = await cli(await testConfigObject({ servers: [{ name: 'ghost', port: ghost }], workers: 1, logLevel: 'info' }));
    await waitListening(r, 1);
    const errors = logLines(r.output()).filter((l) => l.level >= 50 && l.server === 'ghost');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.msg).toMatch(new RegExp(`ghost.*127\\.0\\.0\\.1:${ghost}.*(unreachable|ECONNREFUSED)`));
    // A client gets an answer (an error), not a hang.
    const obj = logLines(r.output()).find((l) => l.msg === 'listening')!;
    const err = await mysql.createConnection({ host: '127.0.0.1', port: obj.port as number, ...CREDENTIALS.app, connectTimeout: 10_000 })
      .then((c) => c.end().then(() => null), (e: unknown) => e as { errno?: number; message: string });
    expect(err).not.toBeNull();
    expect(err!.message).not.toMatch(/timeout/i);
    expect(r.child.exitCode).toBeNull();
  });

  it('a service user without SELECT on mysql.*: the log names the user and the missing grant', async () => {
    await root.primary.query("CREATE OR REPLACE USER 'wsnoselect'@'%' IDENTIFIED BY 'nosel-pw'");
    await root.primary.query("GRANT PROCESS, REPLICATION CLIENT ON *.* TO 'wsnoselect'@'%'");
    try {
      const r = await cli(await testConfigObject({
        servers: primary(),
        logLevel: 'info',
        service: { user: 'wsnoselect', password: 'nosel-pw' },
      }));
      await waitListening(r, 1);
      const lines = logLines(r.output()).filter((l) => l.level >= 50 && /wsnoselect/.test(JSON.stringify(l)));
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.map((l) => l.msg).join('\n')).toMatch(/grant SELECT ON mysql\.\* to it/);
    } finally {
      await root.primary.query("DROP USER IF EXISTS 'wsnoselect'@'%'");
    }
  });
});

describe('shutdown', () => {
  // Regression: Ctrl-C in a terminal (or a service manager) signals the whole process group, so
  // the workers got SIGINT/SIGTERM too and died first; the primary's stop message then hit a
  // closed IPC channel and an unhandled EPIPE crashed it with a stack trace.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} to the whole process group (workers: 2): clean exit 0, no crash`, async () => {
      const obj = await testConfigObject({ servers: primary(), workers: 2, logLevel: 'info' });
      const dir = await mkdtemp(join(tmpdir(), 'wasmscale-pgrp-'));
      const file = join(dir, 'wasmscale.yaml');
      await writeFile(file, stringify(obj));
      const child = spawn(process.execPath, ['dist/host/cli.js', 'start', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
      const deadline = Date.now() + 30_000;
      while (!/"msg":"listening"/.test(out)) {
        if (Date.now() > deadline) throw new Error(`did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      process.kill(-child.pid!, signal);
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 10_000))]);
      if (code === 'timeout') process.kill(-child.pid!, 'SIGKILL');
      expect(out).not.toMatch(/Unhandled 'error' event|EPIPE/);
      expect(code).toBe(0);
    }, 30_000);
  }

  for (const workers of [0, 2]) {
    it(`SIGTERM stops the proxy (workers: ${workers}) while clients are connected and idle`, async () => {
      const obj = await testConfigObject({ servers: primary(), workers, logLevel: 'info' });
      const port = (obj.listeners as { main: { port: number } }).main.port;
      const r = await cli(obj);
      await waitListening(r, 1);
      const idle = await mysql.createConnection({ host: '127.0.0.1', port, ...CREDENTIALS.app });
      idle.on('error', () => {});
      const raw = await RawClient.connect(port);
      await raw.readHandshake();
      r.child.kill('SIGTERM');
      expect(await exitWithin(r, 10_000)).toBe(0);
      expect(await raw.waitClosed(2000)).toBe(true);
      idle.destroy();
      raw.destroy();
    }, 30_000);
  }
});
