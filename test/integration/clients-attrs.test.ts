// Connection attributes: custom attributes set by mysql2 and the mariadb connector reach the
// backend through the proxy unchanged (read from performance_schema.session_connect_attrs on a
// private server started with performance_schema ON), exactly as they do directly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopology, type Topology } from '../harness/mariadb.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { both, mariaConn, mysqlConn, useProxy, type Ports } from './clients-helpers.js';

const shared = useProxy();
const ATTRS = { app_name: 'clients-attrs', 'tenant-id': 'ü-42', empty: '', long_value: 'v'.repeat(300) };

describe('connection attributes on the shared topology', () => {
  it('clients with custom attributes connect and work', async () => {
    const out = await both(shared, async (port) => {
      const my = await mysqlConn(port, { connectAttributes: ATTRS });
      const [r1] = await my.query('SELECT 1 AS ok');
      await my.end();
      const ma = await mariaConn(port, { connectAttributes: ATTRS });
      const r2 = await ma.query('SELECT 2 AS ok');
      await ma.end();
      return [r1, r2];
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy).toEqual([[{ ok: 1 }], [{ ok: 2 }]]);
  });
});

describe('connection attributes seen by the server (performance_schema)', () => {
  let topo: Topology;
  let proxy: TestProxy;
  const ports = {} as Ports;

  beforeAll(async () => {
    topo = await startTopology({ replicas: 0, extraArgs: ['--performance-schema=ON', '--performance-schema-session-connect-attrs-size=4096'] });
    proxy = await startTestProxy({ servers: [{ name: 'primary', port: topo.primary.port }] });
    Object.assign(ports, { direct: topo.primary.port, proxy: proxy.port, proxyHandle: proxy });
  }, 120_000);
  afterAll(async () => {
    await proxy?.stop();
    await topo?.stop();
  });

  const ATTRS_SQL = 'SELECT ATTR_NAME AS k, ATTR_VALUE AS v FROM performance_schema.session_connect_attrs WHERE PROCESSLIST_ID = CONNECTION_ID() ORDER BY ORDINAL_POSITION';

  it('mysql2 and mariadb attributes arrive unchanged', async () => {
    const out = await both(ports, async (port) => {
      const my = await mysqlConn(port, { connectAttributes: ATTRS });
      const [a] = await my.query(ATTRS_SQL);
      await my.end();
      const ma = await mariaConn(port, { connectAttributes: ATTRS });
      const b = await ma.query(ATTRS_SQL);
      await ma.end();
      const plain = await mysqlConn(port);
      const [c] = await plain.query(ATTRS_SQL);
      await plain.end();
      return [a, [...b], c] as { k: string; v: string }[][];
    });
    expect(out.proxy).toEqual(out.direct);
    const [my, ma, plain] = out.proxy.map((rows) => Object.fromEntries(rows.map((r) => [r.k, r.v])));
    // performance_schema shows an empty value as NULL (directly too).
    const seen = { ...ATTRS, empty: null };
    expect(my).toMatchObject({ ...seen, _client_name: 'Node-MySQL-2' });
    // The mariadb connector turns the non-ASCII value into '?' (directly too): not checked here.
    expect(ma).toMatchObject({ ...seen, 'tenant-id': expect.stringMatching(/-42$/), _client_name: 'MariaDB connector/Node' });
    expect(plain).not.toHaveProperty('app_name');
    expect(plain!._client_name).toBe('Node-MySQL-2');
  });

  it('the mariadb CLI sends its program name', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const out = await both(ports, async (port) =>
      (await promisify(execFile)('mariadb', ['-h127.0.0.1', `-P${port}`, '-uapp', '-papp-pw', '-N', '-B', '-e', ATTRS_SQL])).stdout
        .replace(/^_pid\t\d+$/m, '_pid\tN'));
    expect(out.proxy).toBe(out.direct);
    expect(out.proxy).toMatch(/^program_name\tmysql$/m);
    expect(out.proxy).toMatch(/^_client_name\tlibmariadb$/m);
  });
});
