// Shared bits of the e2e fault tests: a healthy-session check, JSON log inspection, polling.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { stringify } from 'yaml';
import { expect } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value; throws with the last value after timeoutMs. */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, timeoutMs = 10_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)}${lastErr ? `, error: ${(lastErr as Error).message}` : ''})`);
    }
    await sleep(everyMs);
  }
}

/** A fresh mysql2 session through the proxy runs a query with a computed, checked result. */
export async function expectHealthy(port: number): Promise<void> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port, ...CREDENTIALS.app, connectTimeout: 5000 });
  try {
    const n = Math.floor(Math.random() * 1_000_000);
    const [rows] = await c.query('SELECT ? * 7 AS v, CONNECTION_ID() AS id', [n]);
    expect((rows as { v: number }[])[0]!.v).toBe(n * 7);
  } finally {
    await c.end();
  }
}

export type LogLine = Record<string, unknown> & { level: number; msg: string };

export function logLines(output: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut by a concurrent read: ignore
    }
  }
  return out;
}

/** Waits until `msg` was logged for this session, then checks it was logged exactly once. */
export async function expectLoggedOnce(output: () => string, msg: string | RegExp, session: number): Promise<LogLine> {
  const matches = (): LogLine[] => logLines(output()).filter((l) =>
    l.session === session && (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)));
  await waitFor(`log line "${String(msg)}" for session ${session}`, () => matches().length > 0, 3000, 50);
  await sleep(100);
  const found = matches();
  expect(found, `log lines "${String(msg)}" for session ${session}`).toHaveLength(1);
  return found[0]!;
}

export interface CliRun {
  child: ChildProcess;
  file: string;
  output(): string;
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/**
 * Runs the real CLI (`dist/host/cli.js start`) on a config given as YAML text or as an object.
 * For configs startCliProxy cannot express (two services, bad files); waits for nothing.
 */
export async function spawnCli(config: string | Record<string, unknown>): Promise<CliRun> {
  const dir = await mkdtemp(join(tmpdir(), 'wasmscale-e2e-'));
  const file = join(dir, 'wasmscale.yaml');
  await writeFile(file, typeof config === 'string' ? config : stringify(config));
  const child = spawn(process.execPath, ['dist/host/cli.js', 'start', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  // 'close', not 'exit': by then everything the process wrote has been read.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    file,
    output: () => out,
    exited,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Waits until the CLI logged `count` "listening" lines (one per listener). */
export async function waitListening(run: CliRun, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (logLines(run.output()).filter((l) => l.msg === 'listening').length < count) {
    if (run.child.exitCode !== null) throw new Error(`wasmscale exited with ${run.child.exitCode}:\n${run.output()}`);
    if (Date.now() > deadline) throw new Error(`wasmscale did not start:\n${run.output()}`);
    await sleep(50);
  }
}
