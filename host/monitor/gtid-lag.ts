// Replication lag from GTIDs: the monitor remembers when it first saw each new @@gtid_binlog_pos
// of the primary. A replica's lag is the age of the oldest primary position it has not applied
// yet (0 when it has applied everything the primary had at this tick). The resolution is one
// monitor interval, and a replica that fell behind before the monitor started looks younger
// than it is, so the monitor takes the larger of this and Seconds_Behind_Master.
import { gtidContains, parseGtidList, type GtidEntry } from './gtid.js';

/** Entries kept at most (one per tick with a change): about 5.5 h of busy ticks at 2 s. */
const MAX_HISTORY = 10_000;

export class GtidLagTracker {
  private primary: string | null = null;
  private history: { pos: Map<number, GtidEntry>; text: string; seenAt: number }[] = [];

  /** Records the primary's position at `now`; a new primary starts a new history. */
  observePrimary(name: string, binlogPos: string, now: number): void {
    if (name !== this.primary) {
      this.primary = name;
      this.history = [];
    }
    if (this.history.at(-1)?.text === binlogPos) return;
    this.history.push({ pos: parseGtidList(binlogPos), text: binlogPos, seenAt: now });
    if (this.history.length > MAX_HISTORY) this.history.splice(0, this.history.length - MAX_HISTORY);
  }

  /** Lag in ms of a server at `pos` (its @@gtid_current_pos); -1 without a primary position. */
  lagOf(pos: string, now: number): number {
    if (this.history.length === 0) return -1;
    const have = parseGtidList(pos);
    const missing = this.history.find((h) => !gtidContains(have, h.pos));
    return missing ? Math.max(0, now - missing.seenAt) : 0;
  }

  /** Forgets history every given position has applied (call with every replica's position). */
  prune(positions: readonly string[]): void {
    const parsed = positions.map(parseGtidList);
    let drop = 0;
    while (drop < this.history.length - 1 && parsed.every((p) => gtidContains(p, this.history[drop]!.pos))) drop++;
    if (drop > 0) this.history.splice(0, drop);
  }

  reset(): void {
    this.primary = null;
    this.history = [];
  }
}
