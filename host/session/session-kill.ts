// KILL: the KILL statement and COM_PROCESS_KILL a client sends (answered by the proxy, which
// knows its own session ids), and what a session does when another one kills it.
import { Er } from '../protocol/errors.js';
import { encodeErr, encodeOk } from '../protocol/ok-err.js';
import type { SessionCore } from './session-core.js';
import { busyLink } from './session-links.js';

export async function kill(s: SessionCore, id: number, query: boolean): Promise<void> {
  if (id === s.id && !query) {
    for (const l of s.links.values()) l.conn.quit();
    return s.fail(Er.CONNECTION_KILLED, 'Connection was killed', 1);
  }
  if (id === s.id) {
    // KILL QUERY of one's own id interrupts the KILL statement itself: MariaDB answers 1317.
    return s.sendPacket(encodeErr(Er.QUERY_INTERRUPTED, 'Query execution was interrupted'), 1);
  }
  const found = await s.ctx.kill(id, query);
  if (s.closed) return;
  if (found) s.sendPacket(encodeOk({ status: s.serverStatus }), 1);
  else s.sendPacket(encodeErr(Er.NO_SUCH_THREAD, `Unknown thread id: ${id}`), 1);
}

/** Called for KILL from another session: stops the running statement or ends this session. */
export async function killedBy(s: SessionCore, query: boolean, killBackendThread: (server: string, threadId: number, query: boolean) => Promise<void>): Promise<void> {
  const be = busyLink(s);
  if (query) {
    if (be) await killBackendThread(be.name, be.conn.threadId, true);
    return;
  }
  // Close first: a client killed directly just sees its connection end. Killing the backend
  // thread first raced with that thread's socket closing, which sent a 2013 ERR instead.
  s.close();
  if (be) await killBackendThread(be.name, be.conn.threadId, false).catch(() => {});
}
