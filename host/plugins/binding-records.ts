// The records a service's plugins (router or filter) are told about servers and sessions, built
// the same way for both kinds so that they see the same table.
import type { ServerView, SessionView } from '../session/router.js';
import type { ServerRecord, SessionRecord } from './abi/records.js';

/** Table entries for `servers`, with this worker's connection counts per server index. */
export function serverRecords(servers: readonly ServerView[], counts: ArrayLike<number>): ServerRecord[] {
  return servers.map((s, i) => ({
    name: s.name,
    role: s.role ?? 'unknown',
    state: s.state,
    weight: s.weight ?? 1,
    lagMs: s.lagMs ?? -1,
    connections: counts[i] ?? 0,
  }));
}

/** Whether the plugin, last sent `sent`, would see a difference in `servers`. */
export function tableChanged(servers: readonly ServerView[], sent: readonly ServerRecord[]): boolean {
  if (servers.length !== sent.length) return true;
  for (let i = 0; i < servers.length; i++) {
    const s = servers[i]!;
    const t = sent[i]!;
    if (s.name !== t.name || s.state !== t.state || (s.role ?? 'unknown') !== t.role || (s.weight ?? 1) !== t.weight || (s.lagMs ?? -1) !== t.lagMs) return true;
  }
  return false;
}

export function sessionRecord(v: SessionView, currentServer: number, tenant: string): SessionRecord {
  return {
    id: v.id,
    currentServer,
    user: v.user,
    database: v.database ?? '',
    clientAddress: v.clientAddress,
    service: v.service,
    tenant,
  };
}
