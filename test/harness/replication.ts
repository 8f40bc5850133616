// GTID replication helpers that only need a root query function, so they work both on servers
// this process started and on the shared topology (started by vitest's global setup).
import type { Queryable } from './root-client.js';
import { CREDENTIALS } from './credentials.js';

/** Point a replica at the primary (GTID, from its empty slave_pos) and start replicating. */
export async function startReplication(replica: Queryable, primaryPort: number): Promise<void> {
  const { user, password } = CREDENTIALS.repl;
  await replica.query(
    `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primaryPort}, MASTER_USER='${user}', ` +
      `MASTER_PASSWORD='${password}', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; START SLAVE`,
  );
}

/** Wait until every replica has applied the primary's current @@gtid_binlog_pos. */
export async function waitForReplicas(primary: Queryable, replicas: Queryable[], timeoutMs = 30_000): Promise<void> {
  const [row] = await primary.query<{ pos: string }[]>('SELECT @@gtid_binlog_pos AS pos');
  const pos = row?.pos ?? '';
  if (pos === '') return;
  const deadline = Date.now() + timeoutMs;
  await Promise.all(replicas.map((r) => waitForGtid(r, pos, deadline)));
}

type SlaveStatus = Record<string, unknown>;

async function waitForGtid(replica: Queryable, pos: string, deadline: number): Promise<void> {
  for (;;) {
    const wait = Math.max(0.05, Math.min(1, (deadline - Date.now()) / 1000));
    const [row] = await replica.query<{ r: number | string | null }[]>('SELECT MASTER_GTID_WAIT(?, ?) AS r', [pos, wait]);
    if (row && Number(row.r) === 0) return;
    const [status] = await replica.query<SlaveStatus[]>('SHOW SLAVE STATUS');
    const sqlError = Number(status?.['Last_SQL_Errno'] ?? 0) !== 0;
    if (status === undefined || sqlError || Date.now() >= deadline) {
      const [cur] = await replica.query<{ p: string }[]>('SELECT @@gtid_slave_pos AS p');
      throw new Error(
        `replica ${replica.name} did not reach ${pos} (at ${cur?.p ?? '?'}): ` +
          (status === undefined
            ? 'replication is not configured'
            : `IO=${String(status['Slave_IO_Running'])} SQL=${String(status['Slave_SQL_Running'])} ` +
              `io_error=${String(status['Last_IO_Error'])} sql_error=${String(status['Last_SQL_Error'])}`),
      );
    }
  }
}
