// A private mariadbd for the benchmarks (never the one on 3306), from the test harness.
import { startTopology, CREDENTIALS, type Topology } from '../../test/harness/mariadb.js';

export { CREDENTIALS };

export const SBTEST = { user: 'sbtest', password: 'sbtest-pw', db: 'sbtest' } as const;

export interface BenchDatabase {
  topology: Topology;
  port: number;
  version: string;
  stop(): Promise<void>;
}

/**
 * A private primary (and `replicas` GTID replicas of it, read-only, as the test harness starts
 * them) with the sbtest database and user; with replicas, returns once they have applied both.
 */
export async function startDatabase(maxConnections: number, extraArgs: string[] = [], replicas = 0): Promise<BenchDatabase> {
  const topology = await startTopology({ replicas, maxConnections, extraArgs });
  const primary = topology.primary;
  await primary.query(`CREATE DATABASE IF NOT EXISTS ${SBTEST.db}`);
  await primary.query(`CREATE USER IF NOT EXISTS '${SBTEST.user}'@'%' IDENTIFIED BY '${SBTEST.password}'`);
  await primary.query(`GRANT ALL ON ${SBTEST.db}.* TO '${SBTEST.user}'@'%'`);
  if (replicas > 0) await topology.waitForReplicas();
  const [row] = await primary.query<{ v: string }[]>('SELECT VERSION() AS v');
  return { topology, port: primary.port, version: row!.v, stop: () => topology.stop() };
}
