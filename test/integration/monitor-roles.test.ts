// The monitor against the shared topology: primary (server_id 1) and two GTID replicas.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { connectSharedTopology, sharedTopology, type SharedTopologyClient } from '../harness/shared.js';
import { getJson, servers, waitForServer } from './monitor-helpers.js';

let proxy: TestProxy;
let topo: SharedTopologyClient;

beforeAll(async () => {
  const t = sharedTopology();
  topo = connectSharedTopology();
  await topo.waitForReplicas();
  proxy = await startTestProxy({
    servers: [
      // Replicas first: the role must not come from the order.
      ...t.replicas.map((r) => ({ name: r.name, port: r.port })),
      { name: t.primary.name, port: t.primary.port },
    ],
    monitor: {},
  });
});
afterAll(async () => {
  await proxy?.stop();
  topo?.close();
});

describe('monitor roles (shared topology)', () => {
  it('GET /v1/servers: the primary is server_id 1, the other two are replicas', async () => {
    const t = sharedTopology();
    const s = await servers(proxy.adminPort);
    expect(s[t.primary.name]).toMatchObject({
      monitor: 'mon', state: 'up', role: 'primary', serverId: 1, readOnly: false, lagMs: 0,
      status: ['Master', 'Running'], replicatesFrom: null, weight: 1, port: t.primary.port,
    });
    for (const r of t.replicas) {
      expect(s[r.name]).toMatchObject({
        monitor: 'mon', state: 'up', role: 'replica', serverId: r.serverId, readOnly: true,
        status: ['Slave', 'Running'], replicatesFrom: t.primary.name,
        replication: [expect.objectContaining({ master: t.primary.name, ioRunning: 'Yes', sqlRunning: true })],
      });
    }
    const monitors = await getJson<{ name: string; primary: string }[]>(proxy.adminPort, '/v1/monitors');
    expect(monitors).toMatchObject([{ name: 'mon', module: 'mariadbmon', primary: t.primary.name }]);
    const one = await getJson<{ name: string; role: string }>(proxy.adminPort, `/v1/servers/${t.primary.name}`);
    expect(one).toMatchObject({ name: t.primary.name, role: 'primary' });
    expect((await fetch(`http://127.0.0.1:${proxy.adminPort}/v1/servers/nope`)).status).toBe(404);
  });

  it('reports GTID positions and zero lag once the replicas caught up', async () => {
    const t = sharedTopology();
    await topo.primary.query('CREATE TABLE IF NOT EXISTS test.monitor_roles (id INT PRIMARY KEY)');
    await topo.primary.query('REPLACE INTO test.monitor_roles VALUES (1)');
    await topo.waitForReplicas();
    const [row] = await topo.primary.query<{ pos: string }[]>('SELECT @@gtid_binlog_pos AS pos');
    for (const r of t.replicas) {
      const { server } = await waitForServer(proxy.adminPort, r.name, (s) => s.gtid === row!.pos && s.lagMs === 0);
      expect(server.role).toBe('replica');
    }
    const p = (await servers(proxy.adminPort))[t.primary.name]!;
    expect(p.gtidBinlogPos).toBe(row!.pos);
  });
});
