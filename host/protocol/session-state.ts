// The session state change block of an OK packet (CLIENT_SESSION_TRACK): what the server reports
// having changed in the session — tracked system variables (e.g. last_gtid after a commit), the
// current schema, "state changed", GTIDs, transaction characteristics and state. Layout after the
// OK's status and warnings: info (lenenc string), then, when SERVER_SESSION_STATE_CHANGED is set,
// a lenenc length and that many bytes of entries: type (1 byte), lenenc length, data.

import { Status } from './constants.js';
import { PayloadReader } from './reader.js';

export const SessionTrack = {
  SYSTEM_VARIABLES: 0,
  SCHEMA: 1,
  STATE_CHANGE: 2,
  GTIDS: 3,
  TRANSACTION_CHARACTERISTICS: 4,
  TRANSACTION_STATE: 5,
} as const;

export type SessionStateChange =
  | { type: 0; name: string; value: string }
  | { type: 1; schema: string }
  | { type: 2; changed: boolean }
  | { type: 3 | 4 | 5; data: string }
  /** A type this decoder does not know (the protocol lets servers add types): kept raw. */
  | { type: number; raw: Buffer };

/**
 * The session state block of an OK payload (header 0x00, or 0xFE ending a result set with
 * DEPRECATE_EOF) on a connection that negotiated SESSION_TRACK; null when the OK reports no change.
 * Throws ProtocolError on a truncated packet.
 */
export function sessionStateOf(ok: Buffer): Buffer | null {
  const r = new PayloadReader(ok, 1);
  r.lenenc(); // affected rows
  r.lenenc(); // last insert id
  if (r.remaining < 4) return null;
  const status = r.u16();
  r.u16(); // warnings
  if (!(status & Status.SESSION_STATE_CHANGED) || r.remaining === 0) return null;
  r.lenencBytes(); // info
  if (r.remaining === 0) return null;
  return r.lenencBytes();
}

/** Every entry of a session state block, in order. */
export function decodeSessionState(block: Buffer): SessionStateChange[] {
  const out: SessionStateChange[] = [];
  const r = new PayloadReader(block);
  while (r.remaining > 0) {
    const type = r.u8();
    const data = r.lenencBytes();
    const d = new PayloadReader(data);
    switch (type) {
      case SessionTrack.SYSTEM_VARIABLES: {
        const name = d.lenencBytes().toString('utf8');
        out.push({ type, name, value: d.lenencBytes().toString('utf8') });
        break;
      }
      case SessionTrack.SCHEMA:
        out.push({ type, schema: d.lenencBytes().toString('utf8') });
        break;
      case SessionTrack.STATE_CHANGE:
        // The entry's data is the flag itself ('1'), not a nested lenenc string.
        out.push({ type, changed: data.toString('latin1') === '1' });
        break;
      case SessionTrack.GTIDS:
        // One byte of encoding specification, then the GTIDs as a lenenc string.
        d.u8();
        out.push({ type, data: d.lenencBytes().toString('utf8') });
        break;
      case SessionTrack.TRANSACTION_CHARACTERISTICS:
      case SessionTrack.TRANSACTION_STATE:
        out.push({ type, data: d.lenencBytes().toString('utf8') });
        break;
      default:
        out.push({ type, raw: Buffer.from(data) });
    }
  }
  return out;
}

/**
 * The last value a session state block reports for system variable `name` (ASCII, lower case),
 * or null: the one lookup the hot path needs, without building the whole list.
 */
export function trackedVariable(block: Buffer, name: string): string | null {
  let found: string | null = null;
  const r = new PayloadReader(block);
  while (r.remaining > 0) {
    const type = r.u8();
    const data = r.lenencBytes();
    if (type !== SessionTrack.SYSTEM_VARIABLES) continue;
    const d = new PayloadReader(data);
    const n = d.lenencBytes();
    if (n.length === name.length && n.toString('latin1').toLowerCase() === name) found = d.lenencBytes().toString('utf8');
  }
  return found;
}
