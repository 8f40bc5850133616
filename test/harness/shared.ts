// The topology vitest's global setup started once per run (see global-setup.ts). It lives in
// another process: tests get its ports, never its processes, so they cannot stop or kill it.
// Tests that stop/kill servers must start their own topology with startTopology().
import { inject } from 'vitest';
import type { Queryable } from './root-client.js';
import { RootClient } from './root-client.js';
import { waitForReplicas } from './replication.js';

export interface SharedServerInfo {
  name: string;
  port: number;
  serverId: number;
}

export interface SharedTopologyInfo {
  primary: SharedServerInfo;
  replicas: SharedServerInfo[];
  baseDir: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    topology: SharedTopologyInfo;
  }
}

export function sharedTopology(): SharedTopologyInfo {
  const topology = inject('topology');
  if (!topology) throw new Error("no shared topology: is test/harness/global-setup.ts in vitest's globalSetup?");
  return topology;
}

export interface SharedServer extends Readonly<SharedServerInfo>, Queryable {}

export interface SharedTopologyClient {
  primary: SharedServer;
  replicas: SharedServer[];
  waitForReplicas(): Promise<void>;
  /** Close the cached root connections. */
  close(): void;
}

/** Root query access (cached connections) to the shared topology, plus waitForReplicas(). */
export function connectSharedTopology(): SharedTopologyClient {
  const info = sharedTopology();
  const clients: RootClient[] = [];
  const attach = (server: SharedServerInfo): SharedServer => {
    const client = new RootClient(() => server.port);
    clients.push(client);
    return { ...server, query: (sql, params) => client.query(sql, params) };
  };
  const primary = attach(info.primary);
  const replicas = info.replicas.map(attach);
  return {
    primary,
    replicas,
    waitForReplicas: () => waitForReplicas(primary, replicas),
    close: () => clients.forEach((c) => c.close()),
  };
}
