// Configurable timeouts (issue 2, item 6): handshake_timeout on the listener, idle_timeout and
// net_read_timeout on the service, all set to 1s. Silent clients are closed and logged once;
// their backend connection goes with them; busy or active sessions are never cut.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { RawClient } from '../harness/raw-client.js';
import { startCliProxy, type CliProxy } from '../harness/proxy.js';
import { connectSharedTopology, sharedTopology, type SharedTopologyClient } from '../harness/shared.js';
import { expectHealthy, expectLoggedOnce, sleep, waitFor } from './helpers.js';

let proxy: CliProxy;
let root: SharedTopologyClient;

beforeAll(async () => {
  proxy = await startCliProxy({
    servers: [{ name: 'primary', port: sharedTopology().primary.port }],
    workers: 1,
    listener: { handshake_timeout: '1s' },
    service: { idle_timeout: '1s', net_read_timeout: '1s' },
  });
  root = connectSharedTopology();
});
afterAll(async () => {
  root?.close();
  if (proxy) expect(await proxy.stop()).toBe(0);
});

async function backendAlive(threadId: number): Promise<boolean> {
  const rows = await root.primary.query<unknown[]>('SELECT ID FROM information_schema.PROCESSLIST WHERE ID = ?', [threadId]);
  return rows.length > 0;
}

/** Time until the peer closes, or null if it did not within limitMs. */
async function closesWithin(c: RawClient, limitMs: number): Promise<number | null> {
  const t0 = Date.now();
  return (await c.waitClosed(limitMs)) ? Date.now() - t0 : null;
}

describe('timeouts', () => {
  it('handshake_timeout closes a client that never answers the greeting', async () => {
    const c = await RawClient.connect(proxy.port);
    await c.readHandshake();
    const ms = await closesWithin(c, 4000);
    expect(ms).not.toBeNull();
    expect(ms!).toBeGreaterThanOrEqual(700);
    await expectLoggedOnce(proxy.output, 'handshake timeout', c.handshake!.connectionId);
    await expectHealthy(proxy.port);
  });

  it('handshake_timeout also closes a client that sent half its handshake response', async () => {
    const c = await RawClient.connect(proxy.port);
    await c.readHandshake();
    const hs = c.handshakeResponse('app', 'app-pw');
    c.send(hs, 1);
    c.destroy();
    const d = await RawClient.connect(proxy.port);
    await d.readHandshake();
    d.sendRaw(Buffer.concat([Buffer.from([hs.length, 0, 0, 1]), hs.subarray(0, 10)]));
    expect(await closesWithin(d, 4000)).not.toBeNull();
    await expectHealthy(proxy.port);
  });

  it('idle_timeout closes an idle session and its backend connection; mysql2 sees the close', async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app });
    const lost = new Promise<string>((resolve) => c.on('error', (e: { code?: string }) => resolve(e.code ?? '')));
    const [rows] = await c.query('SELECT CONNECTION_ID() AS tid');
    const tid = (rows as { tid: number }[])[0]!.tid;
    expect(await backendAlive(tid)).toBe(true);
    const code = await Promise.race([lost, sleep(5000).then(() => 'still open')]);
    expect(code).toBe('PROTOCOL_CONNECTION_LOST');
    await waitFor('backend thread gone', async () => !(await backendAlive(tid)), 5000);
    expect(proxy.output()).toMatch(/"msg":"closing idle session"/);
    c.destroy();
  });

  it('an active session (a query every 300 ms) and a long statement are not cut by idle_timeout', async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app });
    for (let i = 0; i < 8; i++) {
      const [rows] = await c.query('SELECT ? + 1 AS v', [i]);
      expect(rows).toEqual([{ v: i + 1 }]);
      await sleep(300);
    }
    const [slow] = await c.query('SELECT SLEEP(2) AS s, 7 AS v');
    expect(slow).toEqual([{ s: 0, v: 7 }]);
    await c.end();
  });

  it('a client that never answers the auth switch of a COM_CHANGE_USER is closed after net_read_timeout', async () => {
    const c = await RawClient.connect(proxy.port);
    await c.login(CREDENTIALS.app.user, CREDENTIALS.app.password);
    const tidRows = await c.query('SELECT CONNECTION_ID()');
    const tid = Number(tidRows[2]!.payload.subarray(1, 1 + tidRows[2]!.payload[0]!).toString());
    // Plugin name "x" (not mysql_native_password): the proxy asks the client to switch.
    c.send(Buffer.from([0x11, 0x61, 0x70, 0x70, 0, 0, 0, 45, 0, 0x78, 0]), 0);
    const sw = await c.next();
    expect(sw?.payload[0]).toBe(0xfe);
    const o = await c.outcome(4000);
    expect(['err', 'closed']).toContain(o.kind);
    if (o.kind === 'err') expect(o.err.code).toBe(1159);
    expect(await c.waitClosed(2000)).toBe(true);
    await expectLoggedOnce(proxy.output, 'client did not answer the authentication switch', c.handshake!.connectionId);
    await waitFor('backend thread gone', async () => !(await backendAlive(tid)), 5000);
  });

  it('no session is left behind', async () => {
    await waitFor('no sessions left', async () => (await proxy.stats()).sessions === 0, 5000);
  });
});
