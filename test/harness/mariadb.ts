// A GTID replication topology of real mariadbd processes: one primary, N read-only replicas.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRIMARY_SETUP_SQL } from './credentials.js';
import { createServer, type MariaDbServer } from './mariadb-server.js';
import { trackDir, sweepStaleRuns } from './reaper.js';
import { startReplication, waitForReplicas } from './replication.js';

export type { MariaDbServer } from './mariadb-server.js';
export { CREDENTIALS, type Credentials } from './credentials.js';

export interface Topology {
  primary: MariaDbServer;
  replicas: MariaDbServer[];
  /** primary first, then the replicas */
  servers: MariaDbServer[];
  baseDir: string;
  /** Stop every server and remove baseDir. */
  stop(): Promise<void>;
  /** Wait until every running replica applied the primary's current @@gtid_binlog_pos. */
  waitForReplicas(): Promise<void>;
}

export interface TopologyOptions {
  /** default 2 */
  replicas?: number;
  /** default 500 */
  maxConnections?: number;
  /** extra mariadbd arguments for every server (after the standard ones, so they win) */
  extraArgs?: string[];
}

const RUN_PREFIX = 'wasmscale-mariadb-run-';

export async function startTopology(opts: TopologyOptions = {}): Promise<Topology> {
  const replicaCount = opts.replicas ?? 2;
  const common = { maxConnections: opts.maxConnections ?? 500 };
  const extra = opts.extraArgs ?? [];

  sweepStaleRuns(tmpdir(), RUN_PREFIX);
  const baseDir = await mkdtemp(join(tmpdir(), RUN_PREFIX));
  const untrackDir = trackDir(baseDir);
  await writeFile(join(baseDir, 'owner.pid'), `${process.pid}\n`);

  const servers: MariaDbServer[] = [];
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await rm(baseDir, { recursive: true, force: true, maxRetries: 3 });
      untrackDir();
    })());

  try {
    const specs = [
      { name: 'primary', serverId: 1, baseDir, ...common, extraArgs: extra },
      ...Array.from({ length: replicaCount }, (_, i) => ({
        name: `replica${i + 1}`,
        serverId: i + 2,
        baseDir,
        ...common,
        extraArgs: ['--read-only=1', ...extra],
      })),
    ];
    servers.push(...(await Promise.all(specs.map(createServer))));
    await Promise.all(servers.map((s) => s.start()));
    const [primary, ...replicas] = servers as [MariaDbServer, ...MariaDbServer[]];
    await primary.query(PRIMARY_SETUP_SQL);
    await Promise.all(replicas.map((r) => startReplication(r, primary.port)));

    const topology: Topology = {
      primary,
      replicas,
      servers: [...servers],
      baseDir,
      stop,
      waitForReplicas: () => {
        if (!primary.running) return Promise.reject(new Error('waitForReplicas: the primary is not running'));
        return waitForReplicas(primary, replicas.filter((r) => r.running));
      },
    };
    await topology.waitForReplicas();
    return topology;
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}
