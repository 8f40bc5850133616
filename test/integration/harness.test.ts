import { existsSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { CREDENTIALS, startTopology, type Topology } from '../harness/mariadb.js';
import { connectSharedTopology, sharedTopology } from '../harness/shared.js';

type Row = Record<string, unknown>;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('shared topology (global setup)', () => {
  const shared = connectSharedTopology();
  afterAll(() => shared.close());

  it('has primary server_id 1 and replicas 2 and 3, on the provided ports', async () => {
    const info = sharedTopology();
    expect(info.primary.serverId).toBe(1);
    expect(info.replicas.map((r) => r.serverId)).toEqual([2, 3]);
    for (const server of [shared.primary, ...shared.replicas]) {
      expect(server.port).not.toBe(3306);
      const [row] = await server.query<Row[]>('SELECT @@server_id AS id, @@port AS port, @@read_only AS ro');
      expect(row).toEqual({ id: server.serverId, port: server.port, ro: server.serverId === 1 ? 0 : 1 });
    }
  });

  it('replicates a row inserted on the primary to both replicas', async () => {
    const table = `test.harness_${process.pid}_${Date.now()}`;
    await shared.primary.query(`CREATE TABLE ${table} (id INT PRIMARY KEY, v VARCHAR(20))`);
    await shared.primary.query(`INSERT INTO ${table} VALUES (?, ?)`, [1, 'replicated']);
    await shared.waitForReplicas();
    for (const replica of shared.replicas) {
      expect(await replica.query<Row[]>(`SELECT id, v FROM ${table}`)).toEqual([{ id: 1, v: 'replicated' }]);
    }
    await shared.primary.query(`DROP TABLE ${table}`);
  });

  it("lets 'app' log in with mysql2 and 'wsproxy' read replication status", async () => {
    for (const server of [shared.primary, ...shared.replicas]) {
      const app = await mysql.createConnection({ host: '127.0.0.1', port: server.port, ...CREDENTIALS.app });
      const [rows] = await app.query('SELECT CURRENT_USER() AS u');
      expect(rows).toEqual([{ u: 'app@%' }]);
      await app.end();
    }
    const [replica] = shared.replicas;
    const ws = await mysql.createConnection({ host: '127.0.0.1', port: replica!.port, ...CREDENTIALS.wsproxy });
    const [status] = await ws.query('SHOW SLAVE STATUS');
    expect((status as Row[])[0]).toMatchObject({ Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes' });
    await ws.end();
  });
});

describe('own topology with a replica crash', () => {
  let topology: Topology | undefined;
  afterAll(() => topology?.stop());

  it('survives replica.kill() + replica.start() and catches up', async () => {
    const started = Date.now();
    topology = await startTopology({ replicas: 1 });
    console.log(`[harness] startTopology({ replicas: 1 }) took ${Date.now() - started} ms`);
    const { primary, replicas, baseDir } = topology;
    const replica = replicas[0]!;
    expect(topology.servers).toEqual([primary, replica]);

    await primary.query('CREATE TABLE test.crash (id INT PRIMARY KEY)');
    await primary.query('INSERT INTO test.crash VALUES (1)');
    await topology.waitForReplicas();

    const { pid: oldPid, port } = replica;
    expect(oldPid).toBeDefined();
    await replica.kill();
    expect(replica.running).toBe(false);
    expect(replica.pid).toBeUndefined();
    expect(isAlive(oldPid!)).toBe(false);
    await expect(replica.query('SELECT 1')).rejects.toThrow();

    await primary.query('INSERT INTO test.crash VALUES (2), (3)');
    await topology.waitForReplicas(); // only running replicas: returns at once

    await replica.start();
    expect(replica.running).toBe(true);
    expect(replica.port).toBe(port);
    expect(replica.pid).not.toBe(oldPid);
    await topology.waitForReplicas();
    expect(await replica.query<Row[]>('SELECT id FROM test.crash ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(await replica.query<Row[]>('SELECT @@read_only AS ro')).toEqual([{ ro: 1 }]);

    const pids = topology.servers.map((s) => s.pid!);
    await topology.stop();
    expect(pids.some(isAlive)).toBe(false);
    expect(existsSync(baseDir)).toBe(false);
  });
});
