// Role derivation: a pure function from what the monitor observed (plus its previous choice of
// primary) to each server's role. It follows MaxScale's mariadbmon where that is cheap:
//
// Replication edges. A server S replicates from a monitored server M when one of S's slave
// connections points at M (Master_Host:Master_Port equal to M's configured address and port;
// or, when the IO thread is connected or assume_unique_hostnames is off, Master_Server_Id equal
// to M's @@server_id). The edge is *running* when the SQL thread runs and the IO thread is
// connected (Yes), or, with detect_stale_slave (default on), still trying to connect
// (Connecting: the primary is down or unreachable; the replica's data is stale but usable).
// A stopped IO thread (No) or a stopped SQL thread (STOP SLAVE, an SQL error) is not running.
// Down servers keep their last known edges, so replicas behind a downed relay still count.
//
// Primary. A candidate is up, readable by the monitor, writable (read_only off) and not itself
// replicating (running edge) from a monitored server; replicating from an external server is
// fine. The previous primary keeps its role while it is a valid candidate, and while it is
// down unless it has been down more than `failcount` ticks and has no running replicas left
// (MaxScale's master invalidation rules 1-3). Otherwise the candidate with the most servers
// replicating from it (directly or through relays) wins, ties going to the earlier server in
// the monitor's `servers`; without detect_standalone_master a candidate needs at least one.
// A down primary is still "the primary" (reported by the monitor), but its published role is
// 'unknown' with state 'down': routers must not send it anything.
//
// Replica: up and reachable from the primary through running edges (a relay is a replica too).
// Standalone: up, not the primary, with no slave connections and nobody replicating from it.
// Unknown: down, unreadable, or replication broken (stopped threads, an SQL error, replicating
// from a server that is not in the primary's tree, or no primary at all).
import type { ServerRole } from '../session/router.js';
import type { ServerObservation, SlaveConnection } from './server-state.js';

export interface RoleRuleOptions {
  failcount: number;
  detect_stale_slave: boolean;
  detect_standalone_master: boolean;
  assume_unique_hostnames: boolean;
  ignore_external_masters: boolean;
}

export const DEFAULT_ROLE_OPTIONS: RoleRuleOptions = {
  failcount: 5,
  detect_stale_slave: true,
  detect_standalone_master: true,
  assume_unique_hostnames: true,
  ignore_external_masters: false,
};

export interface RoleInput {
  name: string;
  address: string;
  port: number;
  up: boolean;
  /** The latest observation; for a down server the last one seen, if any. */
  obs?: ServerObservation;
  /** Consecutive ticks this server has been down (0 while up). */
  downTicks: number;
}

export interface RoleVerdict {
  name: string;
  role: ServerRole;
  /** MaxScale-style status words. */
  status: string[];
  reason?: string;
  /** The monitored server this one replicates from over a running edge, else null. */
  replicatesFrom: string | null;
  /** For each of obs.slaves: the monitored server it points at, or null (external/unknown). */
  masters: (string | null)[];
}

export interface RoleResult {
  /** The selected primary; may be down (it keeps the role until invalidated). */
  primary: string | null;
  servers: RoleVerdict[];
}

interface Edge {
  from: number;
  to: number;
  conn: SlaveConnection;
  running: boolean;
}

function resolveMaster(conn: SlaveConnection, servers: readonly RoleInput[], self: number, opts: RoleRuleOptions): number {
  if (opts.assume_unique_hostnames) {
    const host = conn.masterHost.toLowerCase();
    const i = servers.findIndex((s, j) => j !== self && s.address.toLowerCase() === host && s.port === conn.masterPort);
    if (i >= 0) return i;
  }
  // Master_Server_Id is only current once the IO thread has connected.
  if (conn.masterServerId > 0 && (conn.ioRunning === 'Yes' || !opts.assume_unique_hostnames)) {
    return servers.findIndex((s, j) => j !== self && s.obs?.serverId === conn.masterServerId);
  }
  return -1;
}

function isRunning(conn: SlaveConnection, masterUp: boolean, opts: RoleRuleOptions): boolean {
  if (!conn.sqlRunning) return false;
  if (conn.ioRunning === 'Yes') return opts.detect_stale_slave || masterUp;
  return conn.ioRunning === 'Connecting' && opts.detect_stale_slave;
}

function threads(conn: SlaveConnection): string {
  const err = conn.lastSqlError || conn.lastIoError;
  return `IO ${conn.ioRunning}, SQL ${conn.sqlRunning ? 'Yes' : 'No'}${err ? `: ${err}` : ''}`;
}

export function deriveRoles(servers: readonly RoleInput[], previousPrimary: string | null, opts: RoleRuleOptions): RoleResult {
  const masters = servers.map((s, i) => (s.obs?.slaves ?? []).map((c) => resolveMaster(c, servers, i, opts)));
  const edges: Edge[] = [];
  servers.forEach((s, i) => {
    (s.obs?.slaves ?? []).forEach((conn, j) => {
      const to = masters[i]![j]!;
      if (to >= 0) edges.push({ from: i, to, conn, running: isRunning(conn, servers[to]!.up, opts) });
    });
  });
  const replicating = (i: number) => edges.some((e) => e.from === i && e.running);
  const isCandidate = (i: number) => {
    const s = servers[i]!;
    return s.up && s.obs !== undefined && !s.obs.readOnly && !replicating(i);
  };
  /** Servers replicating from `root` through running edges, directly or through relays. */
  const treeOf = (root: number): Set<number> => {
    const seen = new Set<number>([root]);
    const queue = [root];
    while (queue.length) {
      const at = queue.shift()!;
      for (const e of edges) {
        if (e.to === at && e.running && !seen.has(e.from)) {
          seen.add(e.from);
          queue.push(e.from);
        }
      }
    }
    seen.delete(root);
    return seen;
  };

  let primary = -1;
  const prev = previousPrimary === null ? -1 : servers.findIndex((s) => s.name === previousPrimary);
  if (prev >= 0) {
    const p = servers[prev]!;
    if (p.up) {
      if (isCandidate(prev)) primary = prev;
    } else {
      const runningReplicas = [...treeOf(prev)].filter((i) => servers[i]!.up).length;
      if (p.downTicks <= opts.failcount || runningReplicas > 0) primary = prev;
    }
  }
  if (primary < 0) {
    let best = -1;
    for (let i = 0; i < servers.length; i++) {
      if (!isCandidate(i)) continue;
      const size = treeOf(i).size;
      if (!opts.detect_standalone_master && size === 0) continue;
      if (best < 0 || size > treeOf(best).size) best = i;
    }
    primary = best;
  }

  const tree = primary >= 0 ? treeOf(primary) : new Set<number>();
  const primaryName = primary >= 0 ? servers[primary]!.name : null;
  const verdicts = servers.map((s, i): RoleVerdict => {
    const mine = edges.filter((e) => e.from === i);
    const runningTo = mine.find((e) => e.running);
    const base = {
      name: s.name,
      replicatesFrom: runningTo ? servers[runningTo.to]!.name : null,
      masters: masters[i]!.map((m) => (m >= 0 ? servers[m]!.name : null)),
    };
    if (!s.up) return { ...base, role: 'unknown', status: ['Down'] };
    if (!s.obs) return { ...base, role: 'unknown', status: ['Running'], reason: 'the monitor cannot read its state' };

    const external = !opts.ignore_external_masters &&
      s.obs.slaves.some((c, j) => masters[i]![j]! < 0 && isRunning(c, true, opts));
    const withExternal = (words: string[]) => (external ? [...words, 'Slave of External Server', 'Running'] : [...words, 'Running']);
    if (i === primary) return { ...base, role: 'primary', status: withExternal(['Master']) };
    if (tree.has(i)) {
      const relay = edges.some((e) => e.to === i && e.running && tree.has(e.from));
      return { ...base, role: 'replica', status: withExternal(relay ? ['Slave', 'Relay Master'] : ['Slave']) };
    }
    const feeds = edges.some((e) => e.to === i && e.running && servers[e.from]!.up);
    if (s.obs.slaves.length === 0 && !feeds) {
      const reason = !s.obs.readOnly && primaryName ? `writable, but ${primaryName} is the primary` : undefined;
      return { ...base, role: 'standalone', status: ['Running'], ...(reason ? { reason } : {}) };
    }
    return { ...base, role: 'unknown', status: withExternal([]), reason: brokenReason(s.obs, mine, servers, primaryName, tree) };
  });
  return { primary: primaryName, servers: verdicts };
}

function brokenReason(obs: ServerObservation, mine: Edge[], servers: readonly RoleInput[], primary: string | null, tree: Set<number>): string {
  if (mine.length === 0) {
    if (obs.slaves.length > 0) return 'replicates only from servers this monitor does not know';
    if (primary === null) return obs.readOnly ? 'read_only is on, so it cannot be the primary' : 'there is no primary';
    return `servers replicate from it, but ${primary} is the primary`;
  }
  if (primary === null) return 'there is no primary';
  const toPrimary = mine.find((e) => servers[e.to]!.name === primary);
  if (toPrimary && !toPrimary.running) return `replication from ${primary} is not running (${threads(toPrimary.conn)})`;
  const stopped = mine.find((e) => !e.running);
  if (stopped && (tree.has(stopped.to) || servers[stopped.to]!.name === primary)) {
    return `replication from ${servers[stopped.to]!.name} is not running (${threads(stopped.conn)})`;
  }
  const other = mine.find((e) => e.running) ?? mine[0]!;
  return `replicates from ${servers[other.to]!.name}, which does not replicate from the primary ${primary}`;
}
