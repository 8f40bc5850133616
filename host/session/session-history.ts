// Session-command history (MaxScale's "session command history"): the commands that changed the
// session's state on its backends (SET, USE, PREPARE, ...), with the outcome the client saw.
// A connection opened later, or reopened, replays them in order before its first statement, and
// its outcomes are compared with the recorded ones: a server that answers differently has a
// different session state and must not be used.

export interface HistoryEntry {
  /** The command payload (command byte first), a private copy. */
  readonly payload: Buffer;
  readonly command: number;
  /** For COM_STMT_PREPARE: the id the client knows the statement by. */
  readonly clientStmtId: number;
  /** For a command that names a prepared statement (a prepared SET executed): its client id. */
  readonly statement: number;
  /** What the client was told: true OK (or a result), false ERR. */
  ok: boolean;
  errorCode: number;
}

export class SessionHistory {
  private entries: HistoryEntry[] = [];
  /** Entries dropped from the front (so positions stay valid for connections). */
  private base = 0;
  /** Set once entries were dropped for the limit: a new connection can no longer be restored. */
  overflowed = false;

  constructor(private readonly limit: number) {}

  /** Position after the last entry: what a connection that saw everything has applied. */
  get end(): number {
    return this.base + this.entries.length;
  }

  get length(): number {
    return this.entries.length;
  }

  add(payload: Buffer, clientStmtId = 0, statement = 0): HistoryEntry {
    const e: HistoryEntry = { payload: Buffer.from(payload), command: payload[0]!, clientStmtId, statement, ok: true, errorCode: 0 };
    this.entries.push(e);
    if (this.limit > 0 && this.entries.length > this.limit) {
      // MaxScale's prune_sescmd_history keeps the newest entries; a connection opened later
      // then misses the oldest state. Prepares are kept: they are needed to run statements.
      const drop = this.entries.findIndex((x) => x.clientStmtId === 0);
      if (drop >= 0) {
        // Open connections are always in step with the history (session commands go to all of
        // them), so shifting positions by one keeps their `historyApplied` meaning the same.
        this.entries.splice(drop, 1);
        this.base++;
        this.overflowed = true;
      }
    }
    return e;
  }

  /** Entries from position `from` on (a connection's `historyApplied`). */
  since(from: number): readonly HistoryEntry[] {
    return this.entries.slice(Math.max(0, from - this.base));
  }

  /**
   * A prepared statement was closed: its prepare no longer needs replaying — unless a kept
   * command runs it (a prepared SET executed), which a new connection must be able to replay.
   */
  removePrepare(clientStmtId: number): void {
    if (this.entries.some((e) => e.statement === clientStmtId)) return;
    const i = this.entries.findIndex((e) => e.clientStmtId === clientStmtId);
    if (i >= 0) {
      this.entries.splice(i, 1);
      this.base++;
    }
  }

  /** COM_RESET_CONNECTION / COM_CHANGE_USER: the session starts over. */
  clear(): void {
    this.base += this.entries.length;
    this.entries = [];
    this.overflowed = false;
  }
}
