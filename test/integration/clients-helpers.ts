// Shared helpers of the clients-*.test.ts files: the same client code is run against MariaDB
// directly and through a wasmscale proxy, and the two outcomes are compared.
import * as mariadb from 'mariadb';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTestProxy, type TestProxy, type TestProxyOptions } from '../harness/proxy.js';
import { sharedTopology } from '../harness/shared.js';

export type Via = 'direct' | 'proxy';
export const VIAS: readonly Via[] = ['direct', 'proxy'];

export interface Ports {
  direct: number;
  proxy: number;
  proxyHandle: TestProxy;
}

/**
 * WASMSCALE_TEST_ROUTER=readwritesplit runs the same client tests through readwritesplit over the
 * primary and both replicas (causal_reads=global, so a read sees every earlier write, as a
 * client talking to one server expects); the default is the first-available placeholder.
 */
export const ROUTER = process.env.WASMSCALE_TEST_ROUTER ?? 'first-available';

async function splitterOptions(opts: Partial<TestProxyOptions>): Promise<TestProxyOptions> {
  const t = sharedTopology();
  const { bundledPlugin } = await import('../unit/plugin-fixtures.js');
  return {
    servers: [
      { name: 'primary', port: t.primary.port },
      { name: 'replica1', port: t.replicas[0]!.port },
      { name: 'replica2', port: t.replicas[1]!.port },
    ],
    monitor: {},
    plugins: { rws: { file: await bundledPlugin('routers/readwritesplit') } },
    ...opts,
    service: { router: 'rws', causal_reads: 'global', ...opts.service },
  };
}

/** The monitor has found the roles once a plain read through the proxy lands on a replica. */
async function untilReadsReachReplicas(port: number): Promise<void> {
  const replicas = sharedTopology().replicas.map((r) => r.serverId);
  for (let i = 0; i < 200; i++) {
    const c = await mysqlConn(port);
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id');
    await c.end();
    if (replicas.includes(rows[0]!.id as number)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('readwritesplit never routed a read to a replica');
}

/** Starts a proxy in front of the shared primary for the current file; stopped after it. */
export function useProxy(opts: Partial<TestProxyOptions> = {}): Ports {
  const ports = {} as Ports;
  beforeAll(async () => {
    const t = sharedTopology();
    ports.direct = t.primary.port;
    ports.proxyHandle = await startTestProxy(ROUTER === 'readwritesplit' ? await splitterOptions(opts) : { servers: [{ name: 'primary', port: t.primary.port }], ...opts });
    ports.proxy = ports.proxyHandle.port;
    if (ROUTER === 'readwritesplit') await untilReadsReachReplicas(ports.proxy);
  });
  afterAll(async () => {
    if (!ports.proxyHandle) return;
    // Every client of the file has ended: no session may be left behind in the proxy.
    let sessions = -1;
    for (let i = 0; i < 100 && sessions !== 0; i++) {
      sessions = (await ports.proxyHandle.stats()).sessions;
      if (sessions !== 0) await new Promise((r) => setTimeout(r, 50));
    }
    await ports.proxyHandle.stop();
    expect(sessions, 'sessions left in the proxy after the file').toBe(0);
  });
  return ports;
}

export function mysqlConn(port: number, opts: Partial<mysql.ConnectionOptions> = {}): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port, ...CREDENTIALS.app, database: 'test', ...opts });
}

export function mariaConn(port: number, opts: Partial<mariadb.ConnectionConfig> = {}): Promise<mariadb.Connection> {
  // connectTimeout: the connector's 1 s default is too short on a loaded test machine.
  return mariadb.createConnection({ host: '127.0.0.1', port, ...CREDENTIALS.app, database: 'test', connectTimeout: 10_000, ...opts });
}

/** Runs `fn` directly then through the proxy (sequentially: tests share tables). */
export async function both<T>(ports: Ports, fn: (port: number, via: Via) => Promise<T>): Promise<Record<Via, T>> {
  const direct = await fn(ports.direct, 'direct');
  const proxy = await fn(ports.proxy, 'proxy');
  return { direct, proxy };
}

export interface ErrInfo {
  errno: number | undefined;
  sqlState: string | undefined;
  fatal?: boolean;
}

/** The error a promise rejects with, reduced to what must match between direct and proxy. */
export async function errOf(p: Promise<unknown>): Promise<ErrInfo | null> {
  try {
    await p;
    return null;
  } catch (e) {
    const err = e as { errno?: number; sqlState?: string };
    return { errno: err.errno, sqlState: err.sqlState };
  }
}

/** Drops the fields that legitimately differ between direct and proxy (thread ids, timings). */
export function stripVolatile<T>(v: T): T {
  return JSON.parse(JSON.stringify(v, (k, val: unknown) => {
    if (typeof val === 'bigint') return `${val}n`;
    if (val instanceof Buffer) return val.toString('hex');
    if (k === 'connectionId' || k === 'threadId') return undefined;
    return val;
  })) as T;
}
