// Routing workers under a hang-up storm (issue 2, item 4). The real CLI with two workers; a few
// thousand raw connections, ~64 in flight, each hung up at a random point of the hand-off, the
// greeting, the handshake response, authentication or right after OK (FIN or RST), while eight
// mysql2 sessions query continuously. Afterwards: no error on the healthy sessions, the same
// primary and worker processes, session counts back to the healthy ones and then to zero, and
// no backend connection left open on the server.
import net from 'node:net';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeErr } from '../../host/protocol/ok-err.js';
import { CREDENTIALS } from '../harness/credentials.js';
import { RawClient } from '../harness/raw-client.js';
import { startCliProxy, type CliProxy } from '../harness/proxy.js';
import { connectSharedTopology, sharedTopology, type SharedTopologyClient } from '../harness/shared.js';
import { logLines, sleep, waitFor } from './helpers.js';

const TOTAL = Number(process.env.STORM_TOTAL ?? 2500);
const IN_FLIGHT = 64;

let proxy: CliProxy;
let root: SharedTopologyClient;
let logins = 0;
const loginMs: number[] = [];

beforeAll(async () => {
  proxy = await startCliProxy({
    servers: [{ name: 'primary', port: sharedTopology().primary.port }],
    workers: 2,
    // The storm is about the hand-off, not backend latency: on a loaded 2-core machine a backend
    // login among 64 concurrent ones can take more than the default 3 s.
    service: { connect_timeout: '15s' },
  });
  root = connectSharedTopology();
});
afterAll(async () => {
  root?.close();
  if (proxy) expect(await proxy.stop()).toBe(0);
});

/** Backend connections on the primary that are not the root connection asking. */
async function backendThreads(): Promise<number> {
  const rows = await root.primary.query<{ Value: string }[]>("SHOW STATUS LIKE 'Threads_connected'");
  return Number(rows[0]!.Value);
}

/** Connects without waiting for anything, then hangs up: before or during the hand-off. */
function hangUpAtOnce(port: number, rst: boolean, delayMs: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.on('error', () => {});
    s.once('close', () => resolve());
    const hangUp = (): void => void (rst && s.readyState === 'open' ? s.resetAndDestroy() : s.destroy());
    if (delayMs === 0) hangUp();
    else s.once('connect', () => setTimeout(hangUp, delayMs));
  });
}

type Stage = 'greeting-part' | 'greeting' | 'response-part' | 'response' | 'ok' | 'query';
const STAGES: Stage[] = ['greeting-part', 'greeting', 'response-part', 'response', 'ok', 'query'];

/** Goes as far as `stage` in the protocol, then hangs up (RST or FIN). */
async function hangUpAt(port: number, stage: Stage, rst: boolean): Promise<void> {
  const c = await RawClient.connect(port);
  const hangUp = (): void => {
    if (rst && !c.socket.destroyed) c.socket.resetAndDestroy();
    else c.destroy();
  };
  try {
    if (stage === 'greeting-part') {
      // Hang up as soon as the first bytes of the greeting arrive (or before).
      await new Promise<void>((r) => {
        c.socket.once('data', () => r());
        setTimeout(r, Math.random() * 3);
      });
      return;
    }
    await c.readHandshake();
    if (stage === 'greeting') return;
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 1]), c.handshakeResponse(CREDENTIALS.app.user, CREDENTIALS.app.password)]);
    framed.writeUIntLE(framed.length - 4, 0, 3);
    if (stage === 'response-part') {
      c.sendRaw(framed.subarray(0, 1 + Math.floor(Math.random() * (framed.length - 1))));
      await sleep(Math.random() * 2);
      return;
    }
    c.sendRaw(framed);
    if (stage === 'response') {
      // Authentication (account check, backend login) is in progress now.
      await sleep(Math.random() * 4);
      return;
    }
    const t0 = Date.now();
    const ok = await c.next(30_000);
    loginMs.push(Date.now() - t0);
    expect(ok?.payload[0], `login OK for a storm connection${ok?.payload[0] === 0xff ? `: ${JSON.stringify(decodeErr(ok.payload))}` : ''}`).toBe(0);
    logins++;
    if (stage === 'query') {
      c.send(Buffer.from("\x03SELECT REPEAT('z', 100000), SLEEP(0.01)"), 0);
      await sleep(Math.random() * 10);
    }
  } finally {
    hangUp();
  }
}

interface Healthy { queries: number; errors: string[]; stop(): Promise<void> }

/** Eight mysql2 sessions, each querying a computed value in a loop and checking every answer. */
async function healthySessions(port: number): Promise<Healthy> {
  const conns = await Promise.all(Array.from({ length: 8 }, () =>
    mysql.createConnection({ host: '127.0.0.1', port, ...CREDENTIALS.app })));
  const h: Healthy = { queries: 0, errors: [], stop: async () => {} };
  let running = true;
  const loops = conns.map(async (c, i) => {
    c.on('error', (err) => h.errors.push(`conn ${i}: ${err.message}`));
    while (running) {
      const n = Math.floor(Math.random() * 1e9);
      try {
        const [rows] = await c.query('SELECT ? * 3 + 1 AS v, ? AS i', [n, i]);
        const row = (rows as { v: number; i: number }[])[0]!;
        if (row.v !== n * 3 + 1 || row.i !== i) h.errors.push(`conn ${i}: wrong answer ${JSON.stringify(row)} for ${n}`);
        h.queries++;
      } catch (err) {
        h.errors.push(`conn ${i}: ${(err as Error).message}`);
        await sleep(50);
      }
    }
  });
  h.stop = async () => {
    running = false;
    await Promise.all(loops);
    await Promise.all(conns.map((c) => c.end()));
  };
  return h;
}

describe('worker hand-off storm', () => {
  it(`${TOTAL} connections hung up at random points leave no crash, no leak and no error`, async () => {
    const before = await proxy.stats();
    expect(before.workers).toHaveLength(2);
    const pids = before.workers.map((w) => w.pid);
    const baseline = await backendThreads();

    const healthy = await healthySessions(proxy.port);
    const started = Date.now();
    let next = 0;
    const storm = async (): Promise<void> => {
      while (next < TOTAL) {
        next++;
        const pick = Math.random();
        const rst = Math.random() < 0.5;
        try {
          if (pick < 0.15) await hangUpAtOnce(proxy.port, rst, 0);
          else if (pick < 0.25) await hangUpAtOnce(proxy.port, rst, Math.random() * 2);
          else await hangUpAt(proxy.port, STAGES[Math.floor(Math.random() * STAGES.length)]!, rst);
        } catch (err) {
          // A storm connection may be refused or reset by the hang-up race; only a login that
          // should have succeeded and did not is a failure, and that throws from expect().
          if ((err as Error).name === 'AssertionError') throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, storm));
    const stormMs = Date.now() - started;

    // Healthy sessions kept working through the storm.
    const queriesDuring = healthy.queries;
    expect(healthy.errors).toEqual([]);
    expect(queriesDuring, `healthy queries during a ${stormMs} ms storm`).toBeGreaterThan(100);

    // The primary and both workers are the same processes.
    expect(proxy.child.exitCode).toBeNull();
    const after = await proxy.stats();
    expect(after.workers.map((w) => [w.pid, w.alive, w.restarts])).toEqual(pids.map((pid) => [pid, true, 0]));

    // Only the eight healthy sessions remain, in the workers' registries and in the primary's counts.
    await waitFor('sessions back to the 8 healthy ones', async () => {
      const s = await proxy.stats();
      return s.sessions === 8 && s.workers.reduce((n, w) => n + (w.assigned ?? 0), 0) === 8;
    }, 5000);
    await healthy.stop();
    expect(healthy.errors).toEqual([]);
    await waitFor('sessions back to 0', async () => {
      const s = await proxy.stats();
      return s.sessions === 0 && s.workers.every((w) => w.assigned === 0);
    }, 5000);

    // No backend connection leaked: the primary's thread count is back to where it was.
    await waitFor(`Threads_connected back to ${baseline}`, async () => (await backendThreads()) <= baseline, 10_000, 250);
    // Nothing went wrong inside the proxy: no internal error, no worker death, no crash.
    const bad = logLines(proxy.output()).filter((l) => l.level >= 50);
    expect(bad.map((l) => l.msg)).toEqual([]);
    const kinds = new Map<string, number>();
    for (const l of logLines(proxy.output())) kinds.set(l.msg, (kinds.get(l.msg) ?? 0) + 1);
    console.log(`storm log: ${JSON.stringify([...kinds])}; logins ${logins}`);
    expect(logins, 'storm connections that got as far as OK').toBeGreaterThan(TOTAL / 5);
    loginMs.sort((a, b) => a - b);
    console.log(`login ms: median ${loginMs[loginMs.length >> 1]}, p99 ${loginMs[Math.floor(loginMs.length * 0.99)]}, max ${loginMs[loginMs.length - 1]}`);
    console.log(`storm: ${TOTAL} connections in ${stormMs} ms, ${queriesDuring} healthy queries meanwhile`);
  }, 180_000);
});
