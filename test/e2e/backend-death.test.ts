// A backend that dies in the middle of a big result (issue 2, item 6). A private one-server
// topology is SIGKILLed while clients stream from it through the proxy; service "main" lists it
// first and the shared primary second, service "other" only the shared primary. The streaming
// clients get a well-formed ERR (2013, Lost connection) or a clean close, never a hang and never
// an ERR glued into the middle of a row; idle sessions on the dead server are closed; sessions of
// the other service see nothing; a new session on "main" goes to the next server.
import mysqlCb from 'mysql2';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeErr } from '../../host/protocol/ok-err.js';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTopology, type Topology } from '../harness/mariadb.js';
import { freePort } from '../harness/ports.js';
import { testConfigObject } from '../harness/proxy.js';
import { RawClient } from '../harness/raw-client.js';
import { sharedTopology } from '../harness/shared.js';
import { logLines, sleep, spawnCli, waitFor, waitListening, type CliRun } from './helpers.js';

let topo: Topology;
let cli: CliRun;
let mainPort: number;
let otherPort: number;
let adminPort: number;
const shared = (): number => sharedTopology().primary.port;

beforeAll(async () => {
  topo = await startTopology({ replicas: 0 });
  const obj = await testConfigObject({
    servers: [{ name: 'doomed', port: topo.primary.port }, { name: 'shared', port: shared() }],
    workers: 2,
    logLevel: 'info',
  }) as { services: Record<string, Record<string, unknown>>; listeners: Record<string, Record<string, unknown>>; admin: { port: number } };
  obj.services.other = { ...obj.services.main, servers: ['shared'] };
  obj.listeners.other = { service: 'other', host: '127.0.0.1', port: await freePort() };
  mainPort = obj.listeners.main!.port as number;
  otherPort = obj.listeners.other.port as number;
  adminPort = obj.admin.port;
  cli = await spawnCli(obj);
  await waitListening(cli, 2);
}, 120_000);

afterAll(async () => {
  if (cli) expect(await cli.stop()).toBe(0);
  await topo?.stop();
});

const BIG = "SELECT REPEAT('x', 60000) AS pad, seq FROM test.seq_1_to_1000000";

describe('backend killed in the middle of a result', () => {
  it('streaming clients get an ERR or a close, others are unaffected, new sessions fail over', async () => {
    // Other service, other server: four sessions querying continuously.
    const others = await Promise.all(Array.from({ length: 4 }, () =>
      mysql.createConnection({ host: '127.0.0.1', port: otherPort, ...CREDENTIALS.app })));
    const otherErrors: string[] = [];
    let otherQueries = 0;
    let running = true;
    const loops = others.map(async (c, i) => {
      c.on('error', (e) => otherErrors.push(`other ${i}: ${e.message}`));
      while (running) {
        const n = Math.floor(Math.random() * 1e6);
        try {
          const [rows] = await c.query('SELECT ? + 1 AS v', [n]);
          if ((rows as { v: number }[])[0]!.v !== n + 1) otherErrors.push(`other ${i}: wrong answer`);
          otherQueries++;
        } catch (e) {
          otherErrors.push(`other ${i}: ${(e as Error).message}`);
        }
      }
    });

    // An idle session on the doomed server.
    const idle = await RawClient.connect(mainPort);
    await idle.login(CREDENTIALS.app.user, CREDENTIALS.app.password);

    // A raw client streaming a result far bigger than will ever arrive.
    const raw = await RawClient.connect(mainPort);
    await raw.login(CREDENTIALS.app.user, CREDENTIALS.app.password);
    let rawBytes = 0;
    let killed = false;
    raw.socket.on('data', (d: Buffer) => {
      rawBytes += d.length;
      if (!killed) raw.discard();
    });
    raw.send(Buffer.concat([Buffer.from([0x03]), Buffer.from(BIG)]), 0);

    // mysql2 streaming rows the same way.
    const m2 = mysqlCb.createConnection({ host: '127.0.0.1', port: mainPort, ...CREDENTIALS.app });
    let m2Rows = 0;
    const m2Done = new Promise<{ error?: { code?: string; errno?: number; message: string }; ended: boolean }>((resolve) => {
      m2.on('error', (error) => resolve({ error, ended: false }));
      m2.query(BIG)
        .on('result', () => void m2Rows++)
        .on('error', (error) => resolve({ error: error as never, ended: false }))
        .on('end', () => resolve({ ended: true }));
    });

    await waitFor('both streams under way', () => (rawBytes > 4e6 && m2Rows > 50) || `raw ${rawBytes} bytes, mysql2 ${m2Rows} rows`.startsWith('x'), 20_000, 20)
      .catch((e: Error) => { throw new Error(`${e.message}: raw ${rawBytes} bytes, mysql2 ${m2Rows} rows\n${cli.output()}`); });
    killed = true;
    await topo.primary.kill();

    // The raw client: a close within seconds; an ERR, if any, is a whole packet after whole packets.
    expect(await raw.waitClosed(10_000), 'raw client closed').toBe(true);
    const tail = raw.tail();
    let last = null;
    for (let p = await raw.next(0); p; p = await raw.next(0)) last = p;
    console.log(`backend killed after ${rawBytes} bytes to the raw client; cut mid-packet: ${tail.length > 0}; last packet ${last?.payload.subarray(0, 40).toString('latin1')}`);
    if (last?.payload[0] === 0xff && tail.length === 0) expect(decodeErr(last.payload).code).toBe(2013);
    expect(tail.toString('latin1'), 'no ERR inside a cut row').not.toContain('Lost connection');

    // mysql2: an error, not a hang and not a normal end.
    const r = await Promise.race([m2Done, sleep(10_000).then(() => 'hang' as const)]);
    expect(r).not.toBe('hang');
    if (r !== 'hang') {
      expect(r.ended).toBe(false);
      expect(r.error?.message).toMatch(/Lost connection|closed|ECONNRESET|PROTOCOL_CONNECTION_LOST/i);
    }
    m2.destroy();

    // The idle session on the dead server is closed (no request pending: nothing to answer).
    expect(await idle.waitClosed(10_000), 'idle session closed').toBe(true);

    // New sessions on "main" reach the next server.
    const fresh = await mysql.createConnection({ host: '127.0.0.1', port: mainPort, ...CREDENTIALS.app });
    const [rows] = await fresh.query('SELECT @@port AS port, 6 * 7 AS v');
    expect(rows).toEqual([{ port: shared(), v: 42 }]);
    await fresh.end();

    // The other service never noticed.
    const before = otherQueries;
    await sleep(300);
    running = false;
    await Promise.all(loops);
    expect(otherErrors).toEqual([]);
    expect(otherQueries).toBeGreaterThan(before);
    await Promise.all(others.map((c) => c.end()));

    // Logged once per session, and all sessions gone.
    const lost = logLines(cli.output()).filter((l) => l.msg === 'backend connection lost');
    const perSession = new Map<unknown, number>();
    for (const l of lost) perSession.set(l.session, (perSession.get(l.session) ?? 0) + 1);
    expect(perSession.size).toBeGreaterThanOrEqual(3);
    expect([...perSession.values()].every((n) => n === 1)).toBe(true);
    raw.destroy();
    idle.destroy();
    await waitFor('no sessions left', async () => {
      const s = (await (await fetch(`http://127.0.0.1:${adminPort}/v1/stats`)).json()) as { sessions: number };
      return s.sessions === 0;
    }, 5000);
    expect(cli.child.exitCode).toBeNull();
  }, 90_000);

  it('a backend killed while a statement runs (no byte of the reply sent yet): ERR 2013 Lost connection', async () => {
    await topo.primary.start();
    const c = await mysql.createConnection({ host: '127.0.0.1', port: mainPort, ...CREDENTIALS.app });
    c.on('error', () => {});
    const [rows] = await c.query('SELECT @@port AS port');
    expect(rows).toEqual([{ port: topo.primary.port }]);
    const pending = c.query('SELECT SLEEP(20)').then(() => null, (e: unknown) => e as { errno?: number; message: string });
    await sleep(300);
    await topo.primary.kill();
    const err = await Promise.race([pending, sleep(10_000).then(() => 'hang' as const)]);
    expect(err).not.toBe('hang');
    expect(err).not.toBeNull();
    if (err && err !== 'hang') {
      expect(err.errno).toBe(2013);
      expect(err.message).toMatch(/Lost connection/);
    }
    c.destroy();
  }, 60_000);
});
