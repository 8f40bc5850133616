// vitest globalSetup: one shared topology (primary + 2 replicas) for the whole run.
import type { TestProject } from 'vitest/node';
import { startTopology } from './mariadb.js';
import type { SharedTopologyInfo } from './shared.js';

export default async function setup({ provide }: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const topology = await startTopology({ replicas: 2 });
  const info: SharedTopologyInfo = {
    primary: { name: topology.primary.name, port: topology.primary.port, serverId: topology.primary.serverId },
    replicas: topology.replicas.map((r) => ({ name: r.name, port: r.port, serverId: r.serverId })),
    baseDir: topology.baseDir,
  };
  provide('topology', info);
  if (process.env['WASMSCALE_HARNESS_VERBOSE']) {
    console.log(`[harness] shared MariaDB topology up in ${Date.now() - started} ms: ${JSON.stringify(info)}`);
  }
  return () => topology.stop();
}
