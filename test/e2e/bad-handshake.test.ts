// Bad input before and during the handshake (issue 2, item 6): garbage, truncated or malformed
// handshake responses, wrong sequence ids, TLS requests, a client that stalls mid-packet. Each
// is sent through the proxy and, where MariaDB's answer is meaningful, to MariaDB directly: the
// proxy must give the same error code and SQLSTATE, close cleanly, log the event once, and
// leave the proxy serving healthy sessions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cap } from '../../host/protocol/constants.js';
import { CLIENT_CAPS, RawClient, type Outcome } from '../harness/raw-client.js';
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

type Act = (c: RawClient) => Promise<void>;

/** Runs `act` on a fresh connection to `port`; returns what came back and the connection id. */
async function run(port: number, act: Act, timeoutMs = 5000): Promise<{ o: Outcome; id: number; ms: number }> {
  const c = await RawClient.connect(port);
  try {
    const t0 = Date.now();
    await act(c);
    const o = await c.outcome(timeoutMs);
    return { o, id: c.handshake?.connectionId ?? 0, ms: Date.now() - t0 };
  } finally {
    c.destroy();
  }
}

/** Same bytes to the proxy and to MariaDB: both must answer with the same ERR and close. */
async function sameAsMariaDb(act: Act, logMsg: string | RegExp): Promise<number> {
  const viaProxy = await run(proxy.port, act);
  const viaServer = await run(direct, act);
  expect(viaServer.o.kind, 'MariaDB answers with an ERR').toBe('err');
  expect(viaProxy.o.kind, 'the proxy answers with an ERR').toBe('err');
  if (viaProxy.o.kind !== 'err' || viaServer.o.kind !== 'err') return 0;
  expect({ code: viaProxy.o.err.code, sqlState: viaProxy.o.err.sqlState })
    .toEqual({ code: viaServer.o.err.code, sqlState: viaServer.o.err.sqlState });
  expect(viaProxy.o.closedAfter, 'the proxy closes after the ERR').toBe(true);
  await expectLoggedOnce(proxy.output, logMsg, viaProxy.id);
  await expectHealthy(proxy.port);
  return viaProxy.o.err.code;
}

const HTTP = 'GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n';

describe('bad input before and during the handshake', () => {
  it('an HTTP request after the greeting gets the ERR MariaDB gives and a close', async () => {
    const code = await sameAsMariaDb(async (c) => {
      await c.readHandshake();
      c.sendRaw(HTTP);
    }, /handshake/);
    expect([1043, 1156]).toContain(code);
  });

  it('an HTTP request sent before reading anything', async () => {
    await sameAsMariaDb(async (c) => {
      c.sendRaw(HTTP);
      await c.readHandshake();
    }, /handshake/);
  });

  it('a truncated handshake response (10 bytes) gets 1043 Bad handshake', async () => {
    const code = await sameAsMariaDb(async (c) => {
      await c.readHandshake();
      c.send(Buffer.alloc(10, 0xff), 1);
    }, 'malformed handshake response');
    expect(code).toBe(1043);
  });

  it('a handshake response cut inside the user name / auth data', async () => {
    for (const cut of [33, 37, 40]) {
      await sameAsMariaDb(async (c) => {
        await c.readHandshake();
        const hs = c.handshakeResponse('app', 'app-pw');
        // No NUL-terminated user name or an auth response that is not all there.
        c.send(hs.subarray(0, cut), 1);
      }, 'malformed handshake response');
    }
  });

  it('an auth-response length byte that claims more than the packet holds', async () => {
    await sameAsMariaDb(async (c) => {
      await c.readHandshake();
      const caps = CLIENT_CAPS & ~Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA & ~Cap.PLUGIN_AUTH;
      const hs = c.handshakeResponse('app', 'app-pw', { caps });
      const at = 32 + 'app'.length + 1;
      hs[at] = 200;
      c.send(hs, 1);
    }, 'malformed handshake response');
  });

  it('connection attributes: a malformed block is ignored as MariaDB does, a bad block length refused', async () => {
    const withAttrs = (c: RawClient, block: number[]): Buffer => {
      const hs = c.handshakeResponse('app', 'app-pw', { caps: CLIENT_CAPS | Cap.CONNECT_ATTRS });
      // Replace the empty attribute block the encoder wrote.
      return Buffer.concat([hs.subarray(0, hs.length - 1), Buffer.from(block)]);
    };
    // 3 bytes holding a key that claims 50: MariaDB logs the client in anyway.
    const inner: Act = async (c) => {
      await c.readHandshake();
      c.send(withAttrs(c, [3, 50, 0x61, 0x62]), 1);
    };
    for (const port of [direct, proxy.port]) {
      const r = await run(port, inner);
      expect(r.o.kind === 'packet' && r.o.packet.payload[0], `login OK on ${port === direct ? 'MariaDB' : 'the proxy'}`).toBe(0);
    }
    // A block longer than the packet: Bad handshake on both.
    await sameAsMariaDb(async (c) => {
      await c.readHandshake();
      c.send(withAttrs(c, [30, 1, 0x61]), 1);
    }, 'malformed handshake response');
  });

  it('a handshake response with sequence id 0', async () => {
    await sameAsMariaDb(async (c) => {
      await c.readHandshake();
      c.send(c.handshakeResponse('app', 'app-pw'), 0);
    }, /sequence|order/);
  });

  it('a TLS request on a listener without TLS gets 1043 and a close', async () => {
    const r = await run(proxy.port, async (c) => {
      await c.readHandshake();
      const ssl = Buffer.alloc(32);
      ssl.writeUInt32LE(CLIENT_CAPS | Cap.SSL, 0);
      ssl.writeUInt32LE(1 << 24, 4);
      ssl[8] = 45;
      c.send(ssl, 1);
    });
    expect(r.o.kind).toBe('err');
    if (r.o.kind === 'err') {
      expect(r.o.err.code).toBe(1043);
      expect(r.o.closedAfter).toBe(true);
    }
    await expectLoggedOnce(proxy.output, /TLS/, r.id);
    await expectHealthy(proxy.port);
  });

  it('a client that stalls in the middle of its handshake response is cut off after net_read_timeout', async () => {
    const r = await run(proxy.port, async (c) => {
      await c.readHandshake();
      const hs = c.handshakeResponse('app', 'app-pw');
      const framed = Buffer.concat([Buffer.from([hs.length, 0, 0, 1]), hs]);
      c.sendRaw(framed.subarray(0, 20));
    }, 6000);
    expect(r.o.kind === 'err' || r.o.kind === 'closed', `outcome ${r.o.kind}`).toBe(true);
    if (r.o.kind === 'err') expect(r.o.err.code).toBe(1159);
    expect(r.ms).toBeGreaterThanOrEqual(900);
    expect(r.ms).toBeLessThan(4000);
    await expectLoggedOnce(proxy.output, 'client stalled in the middle of a packet', r.id);
    await expectHealthy(proxy.port);
  });

  it('a client that hangs up at every byte of its handshake response leaves nothing behind', async () => {
    const c0 = await RawClient.connect(proxy.port);
    await c0.readHandshake();
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 1]), c0.handshakeResponse('app', 'app-pw')]);
    framed[0] = framed.length - 4;
    c0.destroy();
    for (let cut = 0; cut < framed.length; cut += 3) {
      const c = await RawClient.connect(proxy.port);
      await c.readHandshake();
      c.sendRaw(framed.subarray(0, cut));
      c.destroy();
    }
    await expectHealthy(proxy.port);
    await waitFor('no sessions left', async () => (await proxy.stats()).sessions === 0, 5000);
  });
});
