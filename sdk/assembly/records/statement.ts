// The Statement record (ABI.md §6), read in place from the exchange buffer: nothing is decoded
// or allocated unless asked for (`sql` allocates; `sqlStartsWith`, `sqlByte` do not). The view is
// valid only during the hook call that received it.
import { NO_SERVER, Trx } from "../abi";
import { afterStr, listAt, listCount, strAt, strLen, u16At, u32At, u64At, u8At } from "./read";
import { findSession, Session } from "./session";

const OFF_ID: u32 = 4;
const OFF_CURRENT: u32 = 8;
const OFF_COMMAND: u32 = 12;
const OFF_KIND: u32 = 13;
const OFF_TRX: u32 = 14;
const OFF_FLAGS: u32 = 16;
const OFF_SQL_TOTAL: u32 = 20;
const OFF_DIGEST: u32 = 24;
const OFF_SQL: u32 = 32;

@inline function lower(c: u32): u32 {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

export class Statement {
  base: usize = 0;
  size: u32 = 0;

  /** Points the view at a record (done by the SDK before each hook). */
  reset(base: usize, size: u32): void {
    this.base = base;
    this.size = size;
  }

  get sessionId(): u32 { return u32At(this.base, this.size, OFF_ID); }

  /** The session this statement belongs to (null only if the host never announced it). */
  get session(): Session | null { return findSession(this.sessionId); }

  /** Index of the server the session is connected to; -1 if none yet. */
  get currentServer(): i32 {
    const v = OFF_CURRENT + 4 <= this.size ? load<u32>(this.base + OFF_CURRENT) : NO_SERVER;
    return v == NO_SERVER ? -1 : <i32>v;
  }

  /** COM_* command byte (Command.QUERY, ...). */
  get command(): u8 { return u8At(this.base, this.size, OFF_COMMAND); }
  /** Classifier kind (StatementKind); UNKNOWN when the host did not classify it. */
  get kind(): u8 { return u8At(this.base, this.size, OFF_KIND); }
  get trx(): u16 { return u16At(this.base, this.size, OFF_TRX); }
  get inTransaction(): bool { return (this.trx & Trx.ACTIVE) != 0; }
  get readOnlyTransaction(): bool { return (this.trx & Trx.READ_ONLY) != 0; }
  get autocommit(): bool { return (this.trx & Trx.AUTOCOMMIT) != 0; }
  /** Whether inTransaction/readOnlyTransaction/autocommit are known (the host tracks them). */
  get trxKnown(): bool { return (this.trx & Trx.TRACKED) != 0; }
  /** Classifier flags; 0 when unknown. */
  get flags(): u32 { return u32At(this.base, this.size, OFF_FLAGS); }
  /** 64-bit hash of the canonical form; 0 when unknown. */
  get digest(): u64 { return u64At(this.base, this.size, OFF_DIGEST); }

  /** Bytes of SQL text present in the record (may be less than sqlTotal). */
  get sqlLength(): i32 { return <i32>strLen(this.base, this.size, OFF_SQL); }
  /** Length of the full statement text. */
  get sqlTotal(): u32 { return u32At(this.base, this.size, OFF_SQL_TOTAL); }
  get truncated(): bool { return <u32>this.sqlLength < this.sqlTotal; }
  /** Address of the first byte of SQL text in the exchange buffer. */
  get sqlPtr(): usize { return this.base + OFF_SQL + 4; }

  /** Byte `i` of the SQL text (no bounds check beyond the text: returns 0). */
  sqlByte(i: i32): u8 {
    return i >= 0 && i < this.sqlLength ? load<u8>(this.sqlPtr + i) : 0;
  }

  /** The SQL text (allocates a string). */
  get sql(): string {
    const n = this.sqlLength;
    return n == 0 ? "" : String.UTF8.decodeUnsafe(this.sqlPtr, n);
  }

  /**
   * Whether the text, after leading whitespace, starts with `prefix` (ASCII, case-insensitive).
   * No allocation: the way to test for "SELECT" on the hot path.
   */
  sqlStartsWith(prefix: string): bool {
    const n = this.sqlLength;
    const p = this.sqlPtr;
    let i = 0;
    while (i < n) {
      const c = load<u8>(p + i);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      i++;
    }
    const m = prefix.length;
    if (n - i < m) return false;
    for (let j = 0; j < m; j++) {
      if (lower(load<u8>(p + i + j)) != lower(<u32>prefix.charCodeAt(j))) return false;
    }
    return true;
  }

  private get opsOffset(): u32 { return afterStr(this.base, this.size, OFF_SQL); }

  /** Number of servers in the server_ops list (the server table's size when the host sends it). */
  get serverOpsCount(): i32 { return <i32>listCount(this.base, this.size, this.opsOffset); }

  /** Operations in progress on server `index` (this worker, this service); 0 if unknown. */
  serverOps(index: i32): u32 { return listAt(this.base, this.size, this.opsOffset, <u32>index, 0); }

  // ABI 1.1: hint u8 and hint_server str follow server_ops. A 1.0 host's record ends before
  // them, so they read as Hint.NONE and "".
  private get hintOffset(): u32 {
    const ops = this.opsOffset;
    return ops + 4 + (listCount(this.base, this.size, ops) << 2);
  }

  /** The routing hint in the statement's comments (Hint.*); Hint.NONE if none or a 1.0 host. */
  get hint(): u8 { return u8At(this.base, this.size, this.hintOffset); }

  /** Hint.SERVER: byte length of the server name; 0 otherwise. */
  get hintServerLength(): i32 { return <i32>strLen(this.base, this.size, this.hintOffset + 1); }

  /** Hint.SERVER: the server name from `route to server NAME` (allocates); "" otherwise. */
  get hintServer(): string { return strAt(this.base, this.size, this.hintOffset + 1); }

  /**
   * Whether the hinted server name is `name` (ASCII case-insensitive, as MaxScale compares
   * server names). No allocation: the way to look the name up in the server table.
   */
  hintServerIs(name: string): bool {
    const off = this.hintOffset + 1;
    const n = <i32>strLen(this.base, this.size, off);
    if (n == 0 || n != String.UTF8.byteLength(name)) return false;
    const p = this.base + off + 4;
    for (let i = 0; i < n; i++) {
      const c = <u32>name.charCodeAt(i);
      if (c > 0x7f) return String.UTF8.decodeUnsafe(p, n) == name; // non-ASCII: exact match
      if (lower(load<u8>(p + i)) != lower(c)) return false;
    }
    return true;
  }

  // ABI 1.2: server_response_us list<u32> follows hint_server (routers; empty for filters and
  // from older hosts).
  private get timesOffset(): u32 { return afterStr(this.base, this.size, this.hintOffset + 1); }

  /**
   * Average response time of server `index` as this worker measured it for this service, in µs
   * (a moving average over statements); 0 if unknown. For adaptive routing.
   */
  serverResponseUs(index: i32): u32 { return listAt(this.base, this.size, this.timesOffset, <u32>index, 0); }
}

/** The one statement view, re-pointed before each hook. */
export const statementView = new Statement();
