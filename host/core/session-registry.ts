import type { ClientSession } from '../session/client-session.js';

/** Low bits of a session id name the worker that owns it, so any worker can route a KILL. */
export const WORKER_BITS = 6;
export const MAX_WORKERS = (1 << WORKER_BITS) - 1;

export function ownerOf(sessionId: number): number {
  return sessionId & MAX_WORKERS;
}

/** Sessions of one worker, by id. Ids stay below 2^32 (they travel as 4-byte connection ids). */
export class SessionRegistry {
  private readonly sessions = new Map<number, ClientSession>();
  private counter = 0;

  constructor(readonly workerIndex: number) {}

  nextId(): number {
    this.counter = (this.counter % 0x3ffffff) + 1;
    return this.counter * (MAX_WORKERS + 1) + this.workerIndex;
  }

  add(s: ClientSession): void {
    this.sessions.set(s.id, s);
  }

  remove(s: ClientSession): void {
    if (this.sessions.get(s.id) === s) this.sessions.delete(s.id);
  }

  get(id: number): ClientSession | undefined {
    return this.sessions.get(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  all(): IterableIterator<ClientSession> {
    return this.sessions.values();
  }
}
