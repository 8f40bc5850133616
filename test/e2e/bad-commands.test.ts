// Bad input after login (issue 2, item 6): wrong sequence ids, packets over the service's
// max_allowed_packet, empty packets and unknown commands, a client stalling mid-packet, and
// malformed COM_CHANGE_USER / COM_STMT_EXECUTE / COM_PROCESS_KILL. Where MariaDB's answer is
// meaningful the same bytes go to it directly and the proxy must answer alike: same error code
// and SQLSTATE, and the session closes, or survives, as it does there.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeChangeUser } from '../../host/protocol/change-user.js';
import { NATIVE_PASSWORD } from '../../host/protocol/constants.js';
import { decodeAuthSwitch } from '../../host/protocol/handshake.js';
import { tokenFromPassword } from '../../host/protocol/native-password.js';
import { CREDENTIALS } from '../harness/credentials.js';
import { CLIENT_CAPS, RawClient, firstValue, type Outcome } from '../harness/raw-client.js';
import { startCliProxy, type CliProxy } from '../harness/proxy.js';
import { sharedTopology } from '../harness/shared.js';
import { expectHealthy, expectLoggedOnce, waitFor } from './helpers.js';

let proxy: CliProxy;
let direct: number;

beforeAll(async () => {
  const t = sharedTopology();
  direct = t.primary.port;
  proxy = await startCliProxy({
    servers: [{ name: 'primary', port: t.primary.port }],
    workers: 1,
    service: { net_read_timeout: '1s', max_allowed_packet: '1MiB' },
  });
});
afterAll(async () => {
  if (proxy) expect(await proxy.stop()).toBe(0);
});

type Act = (c: RawClient) => void | Promise<void>;

interface Result { o: Outcome; id: number; ms: number; survived: boolean | null }

/** Logs in on `port`, runs `act`, reads what comes back; then checks whether the session still answers. */
async function run(port: number, act: Act, timeoutMs = 5000): Promise<Result> {
  const c = await RawClient.connect(port);
  try {
    await c.login(CREDENTIALS.app.user, CREDENTIALS.app.password);
    const t0 = Date.now();
    await act(c);
    const o = await c.outcome(timeoutMs, 300);
    const ms = Date.now() - t0;
    let survived: boolean | null = null;
    if (o.kind === 'err' && !o.closedAfter) survived = firstValue(await c.query('SELECT 6*7')) === '42';
    else if (o.kind === 'err' || o.kind === 'closed') survived = false;
    return { o, id: c.handshake!.connectionId, ms, survived };
  } finally {
    c.destroy();
  }
}

/** The proxy answers like MariaDB (code, SQLSTATE, closes or not); the event is logged once if `logMsg`. */
async function sameAsMariaDb(act: Act, logMsg?: string | RegExp): Promise<Result> {
  const viaProxy = await run(proxy.port, act);
  const viaServer = await run(direct, act);
  expect(viaServer.o.kind, 'MariaDB answers with an ERR').toBe('err');
  expect(viaProxy.o.kind, 'the proxy answers with an ERR').toBe('err');
  if (viaProxy.o.kind === 'err' && viaServer.o.kind === 'err') {
    expect({ code: viaProxy.o.err.code, sqlState: viaProxy.o.err.sqlState, survived: viaProxy.survived })
      .toEqual({ code: viaServer.o.err.code, sqlState: viaServer.o.err.sqlState, survived: viaServer.survived });
  }
  if (logMsg) await expectLoggedOnce(proxy.output, logMsg, viaProxy.id);
  await expectHealthy(proxy.port);
  return viaProxy;
}

const query = (sql: string): Buffer => Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)]);

describe('bad commands', () => {
  it('a command with a wrong sequence id gets 1156 08S01 and a close, as from MariaDB', async () => {
    const r = await sameAsMariaDb((c) => c.send(query('SELECT 1'), 3), 'command with a non-zero sequence id');
    expect(r.o.kind === 'err' && r.o.err.code).toBe(1156);
    expect(r.survived).toBe(false);
  });

  it('a packet over the service max_allowed_packet (1MiB) gets 1153 08S01 and a close', async () => {
    const r = await run(proxy.port, (c) => c.send(query(`SELECT '${'x'.repeat(2 << 20)}'`), 0));
    expect(r.o.kind).toBe('err');
    if (r.o.kind === 'err') expect([r.o.err.code, r.o.err.sqlState, r.o.closedAfter]).toEqual([1153, '08S01', true]);
    await expectLoggedOnce(proxy.output, 'packet larger than max_allowed_packet', r.id);
    // Under the limit is fine.
    const ok = await run(proxy.port, (c) => c.send(query(`SELECT LENGTH('${'x'.repeat(1000 * 1000)}')`), 0));
    expect(ok.o.kind).toBe('packet');
    await expectHealthy(proxy.port);
  });

  it('mysql2 sending an over-sized query gets error 1153', async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app });
    c.on('error', () => {});
    const err = await c.query(`SELECT '${'y'.repeat(3 << 20)}'`).catch((e: unknown) => e as { errno?: number; code?: string });
    expect((err as { errno?: number }).errno).toBe(1153);
    c.destroy();
    await expectHealthy(proxy.port);
  });

  it('an empty packet gets 1047 Unknown command and the session goes on, as on MariaDB', async () => {
    const r = await sameAsMariaDb((c) => c.send(Buffer.alloc(0), 0));
    expect(r.o.kind === 'err' && r.o.err.code).toBe(1047);
    expect(r.survived).toBe(true);
  });

  it('an unknown command byte gets 1047 and the session goes on, as on MariaDB', async () => {
    for (const cmd of [0x99, 0x20, 0xee]) {
      const r = await sameAsMariaDb((c) => c.send(Buffer.from([cmd, 1, 2, 3]), 0));
      expect(r.o.kind === 'err' && r.o.err.code).toBe(1047);
      expect(r.survived).toBe(true);
    }
  });

  it('a client stalling mid-packet gets 1159 after net_read_timeout (1s) and a close', async () => {
    const r = await run(proxy.port, (c) => c.sendRaw(Buffer.concat([Buffer.from([100, 0, 0, 0]), query('SELECT')])));
    expect(r.o.kind).toBe('err');
    if (r.o.kind === 'err') expect([r.o.err.code, r.o.err.sqlState, r.o.closedAfter]).toEqual([1159, '08S01', true]);
    expect(r.ms).toBeGreaterThanOrEqual(900);
    expect(r.ms).toBeLessThan(5000);
    await expectLoggedOnce(proxy.output, 'client stalled in the middle of a packet', r.id);
    await expectHealthy(proxy.port);
  });

  it('a packet that keeps trickling in is not cut off: net_read_timeout limits silence, as in MariaDB', async () => {
    const r = await run(proxy.port, async (c) => {
      const framed = Buffer.from([9, 0, 0, 0, ...query('SELECT 42')]);
      for (let i = 0; i < framed.length; i += 4) {
        c.sendRaw(framed.subarray(i, i + 4));
        await new Promise((res) => setTimeout(res, 600));
      }
    });
    expect(r.o.kind).toBe('packet');
  });

  it('malformed COM_CHANGE_USER: an ERR or a clean close, never a hang', async () => {
    const bodies = [
      Buffer.from([0x11]),
      Buffer.from([0x11, 0x61, 0x70, 0x70]),
      Buffer.from([0x11, 0x61, 0x70, 0x70, 0, 200, 1, 2]),
    ];
    for (const body of bodies) {
      const r = await run(proxy.port, (c) => c.send(body, 0), 5000);
      expect(['err', 'closed'], `COM_CHANGE_USER ${body.toString('hex')}: ${r.o.kind}`).toContain(r.o.kind);
      if (r.o.kind === 'err' && !r.o.closedAfter) expect(r.survived).toBe(true);
      await expectHealthy(proxy.port);
    }
  });

  it('failed COM_CHANGE_USER (auth switch + wrong token, wrong password, unknown database): ERR and the session goes on as before, as on MariaDB', async () => {
    // User "app", 20 bytes of token, database "test", a 1-byte "charset" read as plugin name "!".
    const odd = Buffer.from([0x11, 0x61, 0x70, 0x70, 0, 20, ...Buffer.alloc(20, 7), 0x74, 0x65, 0x73, 0x74, 0, 33]);
    const proper = (c: RawClient, password: string, database: string): Buffer => encodeChangeUser({
      user: 'app', authResponse: tokenFromPassword(password, c.handshake!.scramble), database,
      charset: 45, authPlugin: NATIVE_PASSWORD, attributes: null,
    }, CLIENT_CAPS);
    // MariaDB answers COM_CHANGE_USER with an auth switch (fresh scramble); the proxy may not.
    const changeUser = async (c: RawClient, body: Buffer, password: string): Promise<void> => {
      c.send(body, 0);
      const p = await c.next();
      if (p?.payload[0] === 0xfe) c.send(tokenFromPassword(password, decodeAuthSwitch(p.payload).data), p.seq + 1);
      else if (p) c.unread(p);
    };
    const cases: [string, (c: RawClient) => Promise<void>][] = [
      ['auth switch, wrong token', async (c) => {
        c.send(odd, 0);
        const sw = await c.next();
        expect(sw?.payload[0], 'auth switch request').toBe(0xfe);
        c.send(Buffer.alloc(20, 9), sw!.seq + 1);
      }],
      ['wrong password', async (c) => changeUser(c, proper(c, 'nope', 'test'), 'nope')],
      ['unknown database', async (c) => changeUser(c, proper(c, CREDENTIALS.app.password, 'no_such_db_x'), CREDENTIALS.app.password)],
    ];
    for (const [name, act] of cases) {
      const seen: unknown[] = [];
      for (const port of [direct, proxy.port]) {
        const c = await RawClient.connect(port);
        await c.login(CREDENTIALS.app.user, CREDENTIALS.app.password, { database: 'test' });
        await act(c);
        const o = await c.outcome(5000, 300);
        const after = o.kind === 'err' && !o.closedAfter
          ? `${firstValue(await c.query('SELECT CURRENT_USER()'))} ${firstValue(await c.query('SELECT DATABASE()'))}` : null;
        seen.push({ kind: o.kind, code: o.kind === 'err' ? o.err.code : null, closed: o.kind === 'err' && o.closedAfter, after });
        c.destroy();
      }
      expect(seen[1], `${name}: proxy vs MariaDB`).toEqual(seen[0]);
    }
    await expectHealthy(proxy.port);
  });

  it('COM_STMT_EXECUTE too short: the backend says 1835 and the session goes on, as on MariaDB', async () => {
    const r = await sameAsMariaDb((c) => c.send(Buffer.from([0x17, 1, 0]), 0));
    expect(r.o.kind === 'err' && r.o.err.code).toBe(1835);
    expect(r.survived).toBe(true);
  });

  it('COM_STMT_EXECUTE of an unknown statement id gets 1243 and the session goes on', async () => {
    const r = await sameAsMariaDb((c) => c.send(Buffer.from([0x17, 99, 0, 0, 0, 0, 1, 0, 0, 0]), 0));
    expect(r.o.kind === 'err' && r.o.err.code).toBe(1243);
    expect(r.survived).toBe(true);
  });

  it('COM_STMT_EXECUTE with parameters cut short after a real prepare', async () => {
    const act: Act = async (c) => {
      c.send(Buffer.concat([Buffer.from([0x16]), Buffer.from('SELECT ? + ?')]), 0);
      const prep = await c.next();
      expect(prep?.payload[0]).toBe(0);
      // Drain the parameter definitions (2, then EOF unless DEPRECATE_EOF).
      const id = prep!.payload.readUInt32LE(1);
      const drain = async (): Promise<void> => {
        const p = await c.next(300);
        if (p) await drain();
      };
      await drain();
      // stmt id, flags, iteration count, null bitmap, new-params-bound = 1, then no types.
      const exec = Buffer.alloc(11);
      exec[0] = 0x17;
      exec.writeUInt32LE(id, 1);
      exec.writeUInt32LE(1, 6);
      c.send(Buffer.concat([exec, Buffer.from([0, 1])]), 0);
    };
    const r = await sameAsMariaDb(act);
    expect(r.survived).toBe(true);
  });

  it('COM_PROCESS_KILL with a short payload is answered as MariaDB does (1094) and the session goes on', async () => {
    for (const body of [[0x0c], [0x0c, 0xff, 0xff]]) {
      const r = await sameAsMariaDb((c) => c.send(Buffer.from(body), 0));
      expect(r.o.kind === 'err' && r.o.err.code).toBe(1094);
      expect(r.survived).toBe(true);
    }
  });

  it('after all of it, no session is left behind', async () => {
    await waitFor('no sessions left', async () => (await proxy.stats()).sessions === 0, 5000);
  });
});
