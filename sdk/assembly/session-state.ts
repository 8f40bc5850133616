// Per-session state for plugin authors: one instance serves every session of its service on a
// worker, so anything kept per session goes in a SessionState, keyed by session id. Entries are
// dropped automatically when the session ends.
//
//   const chosen = new SessionState<i32>();      // at top level
//   chosen.set(session.id, index);               // in onSessionStart
//   if (chosen.has(stmt.sessionId)) ...          // in route

export abstract class SessionStateBase {
  abstract drop(sessionId: u32): void;
}

const registered: SessionStateBase[] = [];

export class SessionState<T> extends SessionStateBase {
  private readonly map: Map<u32, T> = new Map<u32, T>();

  constructor() {
    super();
    registered.push(this);
  }

  has(sessionId: u32): bool { return this.map.has(sessionId); }

  /** The value for the session; traps if there is none (check `has`, or use getOr). */
  get(sessionId: u32): T { return this.map.get(sessionId); }

  /** Note: `fallback` is evaluated by the caller every time; for an object, prefer has() ? get() : new. */
  getOr(sessionId: u32, fallback: T): T {
    return this.map.has(sessionId) ? this.map.get(sessionId) : fallback;
  }

  set(sessionId: u32, value: T): void { this.map.set(sessionId, value); }

  delete(sessionId: u32): void { this.map.delete(sessionId); }

  get size(): i32 { return this.map.size; }

  drop(sessionId: u32): void { this.map.delete(sessionId); }
}

/** Called by the SDK at session end. */
export function dropSessionState(sessionId: u32): void {
  for (let i = 0; i < registered.length; i++) registered[i].drop(sessionId);
}
