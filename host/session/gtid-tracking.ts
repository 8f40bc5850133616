// The GTID of the session's last write on the primary, for causal_reads. MariaDB reports it in the
// OK packet of every statement that committed one (session state tracking of `last_gtid`), so a
// read that follows a write can wait for it on a replica without asking the primary first —
// what MaxScale does. Without tracking the session asks the primary (SELECT @@last_gtid).
//
// When tracking is used (a choice, and why):
// - Only for clients that negotiated CLIENT_SESSION_TRACK. Replies are forwarded unparsed and
//   zero-copy; an OK with a session-state block sent to a client that did not negotiate the
//   capability would be misread (it expects the rest of the packet to be the info string), and
//   stripping the block would mean rewriting packets — and their lengths — in the forwarding
//   path. Other clients keep the SELECT @@last_gtid round trip, which is correct, just slower.
// - The backend connection is told to track last_gtid right after its login, before the session
//   history is replayed on it, by SET session_track_system_variables (appending last_gtid to the
//   connection's value, as MaxScale does). It is not a session command: it is not in the history
//   and the client never sees its reply. Unavoidably, the client's own
//   `SELECT @@session_track_system_variables` shows last_gtid appended, and tracking clients get
//   last_gtid entries in their OKs (they handle any tracked variable: that is the protocol).
// - A client that sets session_track_system_variables itself, resets the connection or changes
//   user may drop last_gtid from the list: tracking stops for the rest of the session (fallback).

import { Cap, Com } from '../protocol/constants.js';
import type { ReplyEnd } from '../protocol/reply-tracker.js';
import { sessionStateOf, trackedVariable } from '../protocol/session-state.js';
import type { BackendLink } from './backend-link.js';
import type { CausalReads } from './causal-reads.js';

/** Appends last_gtid to the connection's tracked variables (unless it is there, or '*'). */
export const TRACK_LAST_GTID = Buffer.from(
  '\x03SET @@session.session_track_system_variables = IF(' +
    "@@session.session_track_system_variables = '*' OR FIND_IN_SET('last_gtid', @@session.session_track_system_variables), " +
    '@@session.session_track_system_variables, ' +
    "CONCAT_WS(',', NULLIF(@@session.session_track_system_variables, ''), 'last_gtid'))",
);


export class SessionGtid {
  /** The session's connections are asked to report last_gtid. */
  tracking: boolean;
  /** The session's last write's GTID on the primary, once known. */
  last: string | null = null;
  /** A write was sent to the primary whose GTID is not known yet: ask the primary for it. */
  dirty = false;
  /**
   * While dirty, a reply ended that may have committed a GTID without reporting it: an ERR (a
   * non-transactional write can be partly applied and binlogged; MariaDB 10.11 reports the new
   * last_gtid in no later OK either) or a result set (INSERT ... RETURNING: its closing OK is not
   * captured). Only asking the primary clears it.
   */
  private unsure = false;

  constructor(mode: CausalReads, clientCaps: number) {
    this.tracking = (mode === 'local' || mode === 'fast') && (clientCaps & Cap.SESSION_TRACK) !== 0;
  }

  /** What BackendConnection.connect must run after the login (null: nothing). */
  get setup(): Buffer | null {
    return this.tracking ? TRACK_LAST_GTID : null;
  }

  /** A statement that is not a read was sent to the primary. */
  wrote(): void {
    this.dirty = true;
  }

  /** An OK with session state from `link` (BackendLink.onSessionState; null: too large to keep). */
  okState(link: BackendLink, ok: Buffer | null): void {
    if (!this.tracking || link.server.role !== 'primary') return;
    try {
      const block = ok ? sessionStateOf(ok) : null;
      const gtid = block ? trackedVariable(block, 'last_gtid') : null;
      if (gtid) this.last = gtid;
      else if (!ok) this.unknown();
    } catch {
      this.unknown(); // a malformed block tells nothing
    }
  }

  /** last_gtid may have changed unseen: the next causal read asks the primary. */
  private unknown(): void {
    this.dirty = true;
    this.unsure = true;
  }

  /**
   * A reply from `link` reached the client (called while dirty). On a tracking primary connection
   * an OK means last_gtid is known: it came with the OK, or the statement committed nothing. An
   * ERR or a result set leaves it unknown (see unsure). Replies still pending on the link may be
   * writes too.
   */
  replyEnded(link: BackendLink, end: ReplyEnd): void {
    if (!this.tracking || !link.tracker.captureOk || link.server.role !== 'primary') return;
    if (end.error || end.resultSet) this.unknown();
    else if (!this.unsure && link.pending === 0) this.dirty = false;
  }

  /** A session command the client sent: it may stop the connections from tracking last_gtid. */
  sessionCommand(payload: Buffer): void {
    if (!this.tracking) return;
    const cmd = payload[0];
    // Session commands are rare: a lower-cased copy is cheap enough.
    if (cmd === Com.RESET_CONNECTION || (cmd === Com.QUERY && payload.toString('latin1').toLowerCase().includes('session_track_system_variables'))) this.stop();
  }

  /** Tracking can no longer be trusted (COM_CHANGE_USER, reset, the client's own tracking list). */
  stop(): void {
    this.tracking = false;
  }

  /** The primary answered SELECT @@last_gtid (null: no answer). */
  queried(gtid: string | null): void {
    this.dirty = false;
    this.unsure = false;
    if (gtid) this.last = gtid;
  }
}
