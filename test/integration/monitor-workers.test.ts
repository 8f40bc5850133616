// Monitored states reach forked routing workers (and restarted ones): the placeholder router
// tries servers that are not down first, so a session skips a server the monitor knows is down
// instead of waiting for its connect timeout.
import net from 'node:net';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { sharedTopology } from '../harness/shared.js';
import { servers, sleep } from './monitor-helpers.js';

const CONNECT_TIMEOUT_MS = 8000;

let proxy: TestProxy;
let blackhole: net.Server;
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  // Accepts TCP connections and never says a word: a server that hangs.
  blackhole = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
  const t = sharedTopology();
  proxy = await startTestProxy({
    workers: 1,
    servers: [
      { name: 'hang', port: (blackhole.address() as net.AddressInfo).port },
      { name: t.primary.name, port: t.primary.port },
    ],
    service: { connect_timeout: `${CONNECT_TIMEOUT_MS}ms` },
    monitor: { backend_connect_timeout: '300ms' },
  });
});
afterAll(async () => {
  await proxy?.stop();
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => (blackhole ? blackhole.close(() => r()) : r()));
});

async function timedSession(): Promise<{ ms: number; serverId: number }> {
  const started = Date.now();
  const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app, connectTimeout: 10_000 });
  try {
    const ms = Date.now() - started;
    const [rows] = await c.query('SELECT @@server_id AS id');
    return { ms, serverId: (rows as { id: number }[])[0]!.id };
  } finally {
    await c.end();
  }
}

describe('server states in routing workers', () => {
  it('the monitor reports the hanging server down', async () => {
    const s = await servers(proxy.adminPort);
    expect(s.hang).toMatchObject({ state: 'down', role: 'unknown' });
    expect(s[sharedTopology().primary.name]).toMatchObject({ state: 'up', role: 'primary' });
  });

  it('sessions skip the down server', async () => {
    for (let i = 0; i < 4; i++) {
      const { ms, serverId } = await timedSession();
      expect(serverId).toBe(1);
      expect(ms).toBeLessThan(CONNECT_TIMEOUT_MS / 2);
    }
  });

  it('a restarted worker gets the states with its init', async () => {
    const before = await proxy.stats();
    for (const w of before.workers) process.kill(w.pid, 'SIGKILL');
    const deadline = Date.now() + 40_000;
    for (;;) {
      const st = await proxy.stats();
      if (st.workers.every((w) => w.alive && (w.restarts ?? 0) >= 1)) break;
      if (Date.now() > deadline) throw new Error(`workers did not restart: ${JSON.stringify(st)}`);
      await sleep(100);
    }
    for (let i = 0; i < 4; i++) {
      const { ms, serverId } = await timedSession();
      expect(serverId).toBe(1);
      expect(ms).toBeLessThan(CONNECT_TIMEOUT_MS / 2);
    }
  });
});
