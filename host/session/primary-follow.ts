// Where a connection lost on the primary is reopened. After a failover (the old primary is down
// and the monitor reports another server as primary) a transaction that ran on the primary is
// replayed on the new one, and master_reconnection reopens the main connection there: the
// session follows the primary, as MaxScale's readwritesplit does. A connection that was not on
// the primary (a read-only transaction on a replica; no monitor, so no roles) goes back to its
// own server.
import type { BackendServer } from './service-context.js';

/** The server the monitor reports as primary and not down now; null during a failover. */
export function currentPrimary(servers: readonly BackendServer[]): BackendServer | null {
  for (const s of servers) if (s.role === 'primary' && s.state !== 'down' && s.state !== 'maintenance') return s;
  return null;
}

/**
 * The server to reopen a connection to, that was on `lost` (`wasPrimary`: `lost` was the primary
 * then): `lost` itself, or the primary of now; null while there is none (ask again later).
 */
export function reopenTarget(lost: string, wasPrimary: boolean, servers: readonly BackendServer[]): string | null {
  if (!wasPrimary) return lost;
  return currentPrimary(servers)?.name ?? null;
}
