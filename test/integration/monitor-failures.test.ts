// The monitor against a private topology whose servers this file stops, breaks and restarts.
// Tests run in order and leave the topology healthy for the next one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopology, type Topology } from '../harness/mariadb.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { getJson, servers, sleep, waitForServer } from './monitor-helpers.js';

const INTERVAL_MS = 200;

let topo: Topology;
let proxy: TestProxy;

beforeAll(async () => {
  topo = await startTopology({ replicas: 2 });
  proxy = await startTestProxy({
    servers: topo.servers.map((s) => ({ name: s.name, port: s.port })),
    monitor: { monitor_interval: `${INTERVAL_MS}ms`, backend_connect_timeout: '1s', backend_read_timeout: '2s' },
  });
  await topo.primary.query('CREATE TABLE test.lag (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; INSERT INTO test.lag VALUES (1, 0)');
  await topo.waitForReplicas();
});
afterAll(async () => {
  await proxy?.stop();
  await topo?.stop();
});

const isReplica = (s: { state: string; role: string }) => s.state === 'up' && s.role === 'replica';
const primaryPos = async () => (await topo.primary.query<{ p: string }[]>('SELECT @@gtid_binlog_pos AS p'))[0]!.p;

describe('monitor with servers that fail', () => {
  it('a stopped replica is down within about two intervals, and a replica again once started', async () => {
    const [r1] = topo.replicas;
    await waitForServer(proxy.adminPort, r1!.name, isReplica);
    await r1!.stop();
    const down = await waitForServer(proxy.adminPort, r1!.name, (s) => s.state === 'down');
    expect(down.afterMs).toBeLessThan(4 * INTERVAL_MS + 1000);
    expect(down.server).toMatchObject({ role: 'unknown', status: ['Down'], lagMs: -1 });
    expect(down.server.error).toBeTruthy();
    // The others are unaffected.
    const s = await servers(proxy.adminPort);
    expect(s.primary).toMatchObject({ state: 'up', role: 'primary' });
    expect(s.replica2).toMatchObject({ state: 'up', role: 'replica' });

    await r1!.start();
    const up = await waitForServer(proxy.adminPort, r1!.name, isReplica);
    expect(up.afterMs).toBeLessThan(4 * INTERVAL_MS + 1000);
    await waitForServer(proxy.adminPort, r1!.name, (x) => x.replication?.[0]?.ioRunning === 'Yes');
  });

  it('STOP SLAVE makes a replica a broken one (role unknown); START SLAVE a replica again', async () => {
    const r2 = topo.replicas[1]!;
    await r2.query('STOP SLAVE');
    const { server } = await waitForServer(proxy.adminPort, r2.name, (s) => s.role !== 'replica');
    expect(server).toMatchObject({ state: 'up', role: 'unknown', status: ['Running'], replicatesFrom: null });
    expect(server.reason).toBe('replication from primary is not running (IO No, SQL No)');
    expect(server.replication).toMatchObject([{ master: 'primary', ioRunning: 'No', sqlRunning: false }]);

    await r2.query('START SLAVE');
    await waitForServer(proxy.adminPort, r2.name, isReplica);
  });

  it('STOP SLAVE SQL_THREAD: GTID position and lag show the replica behind; START SLAVE catches up', async () => {
    const r2 = topo.replicas[1]!;
    await r2.query('STOP SLAVE SQL_THREAD');
    await topo.primary.query('UPDATE test.lag SET v = v + 1 WHERE id = 1');
    const pos = await primaryPos();
    const { server } = await waitForServer(proxy.adminPort, r2.name, (s) => s.role === 'unknown' && s.lagMs > 2 * INTERVAL_MS);
    expect(server.gtid).not.toBe(pos);
    expect(server.replication?.[0]).toMatchObject({ ioRunning: 'Yes', sqlRunning: false, gtidIoPos: pos });
    expect(server.reason).toMatch(/^replication from primary is not running \(IO Yes, SQL No\)/);
    // The lag keeps growing while the replica stays behind.
    await sleep(3 * INTERVAL_MS);
    expect((await servers(proxy.adminPort))[r2.name]!.lagMs).toBeGreaterThan(server.lagMs);

    await r2.query('START SLAVE SQL_THREAD');
    const caught = await waitForServer(proxy.adminPort, r2.name, (s) => isReplica(s) && s.gtid === pos);
    expect(caught.server.lagMs).toBe(0);
  });

  it('a replica blocked on a row lock stays a replica with a growing lag, and catches up', async () => {
    const r1 = topo.replicas[0]!;
    await waitForServer(proxy.adminPort, r1.name, isReplica);
    // Hold the row the next replicated UPDATE needs: the SQL thread waits, both threads "running".
    await r1.query('BEGIN; SELECT * FROM test.lag WHERE id = 1 FOR UPDATE');
    try {
      await topo.primary.query('UPDATE test.lag SET v = v + 1 WHERE id = 1');
      const pos = await primaryPos();
      const { server } = await waitForServer(proxy.adminPort, r1.name, (s) => s.lagMs >= 1000);
      expect(server).toMatchObject({ state: 'up', role: 'replica' });
      expect(server.gtid).not.toBe(pos);
      await r1.query('COMMIT');
      const caught = await waitForServer(proxy.adminPort, r1.name, (s) => s.gtid === pos && s.lagMs === 0);
      expect(caught.server.role).toBe('replica');
    } finally {
      await r1.query('ROLLBACK').catch(() => {});
    }
  });

  it('a stopped primary is down; its replicas stay (stale) replicas and it is the primary again once back', async () => {
    await topo.primary.stop();
    await waitForServer(proxy.adminPort, 'primary', (s) => s.state === 'down');
    // Replicas notice the lost primary (IO thread Connecting) and stay replicas: detect_stale_slave.
    for (const r of topo.replicas) {
      const { server } = await waitForServer(proxy.adminPort, r.name, (s) => s.replication?.[0]?.ioRunning === 'Connecting');
      expect(server).toMatchObject({ state: 'up', role: 'replica', lagMs: -1 });
    }
    expect(await getJson(proxy.adminPort, '/v1/monitors')).toMatchObject([{ primary: 'primary' }]);

    await topo.primary.start();
    await waitForServer(proxy.adminPort, 'primary', (s) => s.state === 'up' && s.role === 'primary');
    for (const r of topo.replicas) {
      await waitForServer(proxy.adminPort, r.name, (s) => isReplica(s) && s.replication?.[0]?.ioRunning === 'Yes');
    }
  });
});
