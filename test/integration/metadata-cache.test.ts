// Metadata caching (MARIADB_CLIENT_CACHE_METADATA) through readwritesplit over a primary and one
// replica, with the `mariadb` connector, which asks for it. A server leaves an execute's column
// definitions out when they equal the ones it last sent on that connection; the client then uses
// the ones it last received — which, through the proxy, may have come from the other server. The
// statement `SELECT ? AS a` has parameter-typed metadata, so the two servers' last-sent
// definitions differ when the same statement ran with an integer on one and a string on the
// other. Every value must come back with the type it has directly on MariaDB.
import net from 'node:net';
import mariadb from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { connectSharedTopology, sharedTopology, type SharedTopologyClient } from '../harness/shared.js';
import { bundledPlugin } from '../unit/plugin-fixtures.js';

let proxy: TestProxy;
let topo: SharedTopologyClient;
let primaryPort: number;
let primaryId: number;
let replicaId: number;

beforeAll(async () => {
  const wasm = await bundledPlugin('routers/readwritesplit');
  const t = sharedTopology();
  topo = connectSharedTopology();
  primaryPort = t.primary.port;
  primaryId = t.primary.serverId;
  replicaId = t.replicas[0]!.serverId;
  await topo.primary.query('CREATE DATABASE IF NOT EXISTS mdc');
  await topo.primary.query('CREATE OR REPLACE TABLE mdc.t (id INT PRIMARY KEY, v VARCHAR(20), d DECIMAL(6,2))');
  await topo.primary.query("INSERT INTO mdc.t VALUES (1, 'one', 1.25), (2, 'two', 2.50)");
  await topo.waitForReplicas();
  proxy = await startTestProxy({
    servers: [
      { name: 'db1', port: t.primary.port },
      { name: 'db2', port: t.replicas[0]!.port },
    ],
    monitor: {},
    plugins: { rws: { file: wasm, config: {} } },
    service: { router: 'rws' },
  });
  for (let i = 0; i < 100; i++) {
    const c = await mariadb.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app, database: 'mdc' });
    const rows = await c.query('SELECT @@server_id AS id');
    await c.end();
    if (rows[0].id === replicaId) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}, 600_000);

afterAll(async () => {
  await proxy?.stop();
  topo?.close();
});

type Step = { trx: boolean; param: number | string };
/** The steps run one statement's executes with `steps`' parameters, each in a transaction (primary) or not (replica). */
async function runSteps(port: number, steps: Step[]): Promise<{ a: unknown; sid: number }[]> {
  const c = await mariadb.createConnection({ host: '127.0.0.1', port, ...CREDENTIALS.app, database: 'mdc' });
  try {
    expect(c.info?.serverPermitSkipMeta, 'the connector negotiated metadata caching').toBe(true);
    const st = await c.prepare('SELECT ? AS a, @@server_id AS sid');
    const out: { a: unknown; sid: number }[] = [];
    for (const s of steps) {
      if (s.trx) await c.beginTransaction();
      const rows = await st.execute([s.param]);
      if (s.trx) await c.commit();
      out.push({ a: rows[0].a, sid: Number(rows[0].sid) });
    }
    st.close();
    return out;
  } finally {
    await c.end();
  }
}

describe('metadata caching through readwritesplit', () => {
  it('an execute whose definitions the replica skips gets them, typed as directly', async () => {
    // int on the replica (it sends int definitions), string on the primary (the client now holds
    // string definitions), int on the replica again: the replica skips its (int) definitions.
    const steps: Step[] = [
      { trx: false, param: 5 }, { trx: true, param: 'abc' }, { trx: false, param: 7 },
      { trx: false, param: 8 }, { trx: true, param: 9 }, { trx: false, param: 'xyz' }, { trx: true, param: 'pq' }, { trx: false, param: 'rs' },
    ];
    const via = await runSteps(proxy.port, steps);
    const direct = await runSteps(primaryPort, steps);
    expect(via.map((r) => r.sid)).toEqual(steps.map((s) => (s.trx ? primaryId : replicaId)));
    expect(via.map((r) => r.a)).toEqual(direct.map((r) => r.a));
    expect(typeof via[2]!.a).toBe(typeof direct[2]!.a);
  });

  it('table columns, pipelined prepare + execute, many executes moving between servers', async () => {
    const sql = 'SELECT id, v, d FROM t WHERE id = ?';
    const c = await mariadb.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app, database: 'mdc' });
    const d = await mariadb.createConnection({ host: '127.0.0.1', port: primaryPort, ...CREDENTIALS.app, database: 'mdc' });
    try {
      for (let i = 0; i < 40; i++) {
        const trx = i % 3 === 1;
        if (trx) await c.beginTransaction();
        // execute() prepares and executes in one pipelined write (statement id -1), cached by the connector.
        const got = await c.execute(sql, [1 + (i % 2)]);
        const anyType = await c.execute('SELECT ? AS x', [i % 4 === 0 ? `s${i}` : i]);
        if (trx) await c.commit();
        expect(got).toEqual(await d.execute(sql, [1 + (i % 2)]));
        expect(anyType).toEqual(await d.execute('SELECT ? AS x', [i % 4 === 0 ? `s${i}` : i]));
      }
    } finally {
      await c.end();
      await d.end();
    }
  });
});

/** A TCP relay in front of a server whose connections can be cut (the last one that carried a COM_STMT_EXECUTE). */
async function relay(port: number): Promise<{ port: number; cutLast(): void; close(): void }> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let last: [net.Socket, net.Socket] | null = null;
  const server = net.createServer((front) => {
    const back = net.connect(port, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [front, back];
    pairs.add(pair);
    front.on('data', (d: Buffer) => {
      if (d.length > 4 && d[4] === 0x17) last = pair;
      back.write(d);
    });
    back.pipe(front);
    const drop = (): void => {
      pairs.delete(pair);
      front.destroy();
      back.destroy();
    };
    front.on('error', drop).on('close', drop);
    back.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    cutLast: () => {
      last?.[0].destroy();
      last?.[1].destroy();
    },
    close: () => {
      server.close();
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
    },
  };
}

describe('metadata caching: a reply being completed when its connection is lost', () => {
  it('the read is retried on the primary and the client gets its row, typed as directly', async () => {
    const t = sharedTopology();
    const r = await relay(t.replicas[0]!.port);
    const wasm = await bundledPlugin('routers/readwritesplit');
    const p = await startTestProxy({
      servers: [
        { name: 'db1', port: t.primary.port },
        { name: 'db2', port: r.port },
      ],
      monitor: {},
      plugins: { rws: { file: wasm, config: {} } },
      service: { router: 'rws' },
    });
    const c = await mariadb.createConnection({ host: '127.0.0.1', port: p.port, ...CREDENTIALS.app, database: 'mdc' });
    try {
      for (let i = 0; i < 100; i++) {
        if ((await c.query('SELECT @@server_id AS id'))[0].id === replicaId) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      const st = await c.prepare('SELECT ? AS a, SLEEP(?) AS s, @@server_id AS sid');
      expect(Number((await st.execute([5, 0]))[0].sid)).toBe(replicaId);
      await c.beginTransaction();
      expect((await st.execute(['abc', 0]))[0].a).toBe('abc'); // the client now holds string definitions
      await c.commit();
      // On the replica again: its definitions (int) differ from the client's, so the reply is
      // collected to be completed; the connection is cut while the statement sleeps.
      const pending = st.execute([7, 1]);
      await new Promise((res) => setTimeout(res, 400));
      r.cutLast();
      const rows = await pending;
      expect(Number(rows[0].sid)).toBe(primaryId);
      const direct = await mariadb.createConnection({ host: '127.0.0.1', port: primaryPort, ...CREDENTIALS.app, database: 'mdc' });
      try {
        const ds = await direct.prepare('SELECT ? AS a, SLEEP(?) AS s, @@server_id AS sid');
        expect(rows[0].a).toEqual((await ds.execute([7, 0]))[0].a);
        ds.close();
      } finally {
        await direct.end();
      }
      // And the session goes on: the replica is opened again for the next read.
      expect((await st.execute([8, 0]))[0].a).toEqual(typeof rows[0].a === 'bigint' ? 8n : 8);
      st.close();
    } finally {
      await c.end().catch(() => {});
      await p.stop();
      r.close();
    }
  }, 60_000);
});
