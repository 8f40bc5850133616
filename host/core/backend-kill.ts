import { createConnection } from 'mysql2/promise';
import type { ServerAddress } from '../session/backend-connection.js';

/**
 * KILL [QUERY] of a backend thread, issued as the service user on a connection of its own: the
 * session being killed may be busy, and its client's credentials are not ours to reuse.
 */
export async function killBackendThread(
  server: ServerAddress,
  user: string,
  password: string,
  threadId: number,
  query: boolean,
  timeoutMs: number,
): Promise<void> {
  const c = await createConnection({ host: server.address, port: server.port, user, password, connectTimeout: timeoutMs });
  try {
    await c.query({ sql: `KILL ${query ? 'QUERY' : 'CONNECTION'} ${threadId >>> 0}`, timeout: timeoutMs });
  } catch (err) {
    // 1094: the thread ended on its own meanwhile; that is what was wanted.
    if ((err as { errno?: number }).errno !== 1094) throw err;
  } finally {
    await c.end().catch(() => c.destroy());
  }
}
