import { Status } from './constants.js';

/** Bytes of the length-encoded integer at `pos` (0 when it does not fit before `end` or is invalid). */
function lenencSize(buf: Buffer, pos: number, end: number): number {
  if (pos >= end) return 0;
  const first = buf[pos]!;
  const size = first < 0xfb ? 1 : first === 0xfc ? 3 : first === 0xfd ? 4 : first === 0xfe ? 9 : 0;
  return pos + size <= end ? size : 0;
}

function lenencValue(buf: Buffer, pos: number, size: number): number {
  switch (size) {
    case 1: return buf[pos]!;
    case 3: return buf.readUInt16LE(pos + 1);
    case 4: return buf.readUIntLE(pos + 1, 3);
    default: return buf.readUInt32LE(pos + 5) * 0x100000000 + buf.readUInt32LE(pos + 1);
  }
}

/** Shape of the reply a command produces. */
export const enum ReplyKind {
  /** COM_QUERY, COM_STMT_EXECUTE: OK | ERR | LOCAL INFILE | result set(s), chained by MORE_RESULTS. */
  Result = 1,
  /** COM_STMT_PREPARE: OK with column/param definitions, or ERR. */
  Prepare = 2,
  /** COM_STMT_FETCH, COM_FIELD_LIST: packets until an EOF/OK terminator or ERR. */
  Rows = 3,
  /** One packet of any kind: OK, ERR, EOF or, for COM_STATISTICS, a string. */
  Single = 4,
  /**
   * COM_STMT_EXECUTE's reply (a Result) on a connection with metadata caching: the listener
   * hears whether its first result set carried column definitions (onColumns).
   */
  Execute = 5,
}

export interface ReplyEnd {
  /** Server status of the final OK/EOF; 0 after an ERR. */
  status: number;
  /** The reply ended with an ERR packet. */
  error: boolean;
  /** Error code when error is true. */
  errorCode: number;
  /** Affected rows of the last OK (0 for result sets and errors; exact up to 2^53). */
  affectedRows: number;
  /** Rows in the reply's result sets (all of them, for multi-results). */
  rows: number;
  /** The reply held at least one result set (column definitions), possibly empty. */
  resultSet: boolean;
}

export interface ReplyListener {
  onReplyEnd(end: ReplyEnd): void;
  /** The server asked the client for a file (LOAD DATA LOCAL INFILE). */
  onLocalInfile(): void;
  /** A packet arrived while no reply was expected (e.g. the server's timeout ERR before it closes). */
  onUnexpected(firstByte: number): void;
  /**
   * With captureOk: an OK packet (header 0x00, starting a reply) whose status has
   * SERVER_SESSION_STATE_CHANGED; `ok` is its payload, valid only during the call, or null when
   * the packet was too large to keep (the state it reports is unknown). Called before the reply's
   * onReplyEnd.
   */
  onSessionState?(ok: Buffer | null): void;
  /**
   * ReplyKind.Execute with cacheMetadata: the first result set's column definitions as sent
   * (the packets, headers with sequence id 0, a private copy), or null when the server skipped
   * them because the client has them already (MARIADB_CLIENT_CACHE_METADATA).
   */
  onColumns?(defs: Buffer | null): void;
}

const enum St {
  Idle,
  First,
  ColDefs,
  ColDefsEof,
  Rows,
  PrepFirst,
  PrepParams,
  PrepParamsEof,
  PrepCols,
  PrepColsEof,
  Single,
}

const PREFIX = 24;
/** Largest OK packet kept whole for onSessionState (a few tracked variables fit easily). */
const CAPTURE_MAX = 4096;

/**
 * Knows where every reply ends by scanning backend bytes as they are forwarded: it reads packet
 * headers and at most the first 24 bytes of each payload into a fixed buffer, so forwarding stays
 * zero-copy and a reply of any size costs no allocation. Replies to pipelined commands are queued.
 */
export class ReplyTracker {
  deprecateEof = false;
  /**
   * Keep whole the packets that can be a reply's OK (the first packet of a reply, when small) and
   * report those that carry session state (causal_reads uses last_gtid). Off: no copy at all.
   * Result-set rows are never copied, so an OK ending a result set is not reported.
   */
  captureOk = false;
  /**
   * MARIADB_CLIENT_CACHE_METADATA is on: a result set's column-count packet has one more byte,
   * 0 when the column definitions are skipped (COM_STMT_EXECUTE of a statement whose metadata
   * the client has; the EOF that would follow them is still sent without DEPRECATE_EOF).
   */
  cacheMetadata = false;
  /** Sequence id of the last physical packet seen. */
  lastSeq = 0;

  private readonly queue: ReplyKind[] = [];
  private state = St.Idle;
  private left = 0;
  private prepCols = 0;
  // A packet of the current reply has been seen. The parser state alone cannot tell: a chain
  // (MORE_RESULTS_EXISTS) or a LOCAL INFILE request returns to First, and Rows starts in Rows.
  private started = false;

  private readonly hdr = Buffer.alloc(4);
  private hdrLen = 0;
  private inBody = false;
  private bodyLeft = 0;
  private curLen = 0;
  private curIsContinuation = false;
  private prevWasMax = false;
  private readonly prefix = Buffer.alloc(PREFIX);
  private prefixLen = 0;
  private capture: Buffer | null = null;
  private capturing = false;
  // ReplyKind.Execute with cacheMetadata: the first result set's column definitions are copied.
  private wantColumns = false;
  private columnParts: Buffer[] | null = null;
  private columnPart: Buffer | null = null;
  // One ReplyEnd for every reply: listeners read it during onReplyEnd and must not keep it.
  private readonly end: ReplyEnd = { status: 0, error: false, errorCode: 0, affectedRows: 0, rows: 0, resultSet: false };
  private sets = 0;
  private rows = 0;
  private affected = 0;

  constructor(private readonly listener: ReplyListener) {}

  /** Number of replies still expected (including the one in progress). */
  get pending(): number {
    return this.queue.length;
  }

  /** True while the bytes of a reply are in the middle of being received. */
  get midReply(): boolean {
    return this.started || this.inBody || this.hdrLen > 0;
  }

  /**
   * True while a packet is cut: its header or body only partly received, or a 16 MiB part awaits
   * its continuation. Nothing may be sent to the client then: it would be read as part of that packet.
   */
  get midPacket(): boolean {
    return this.inBody || this.hdrLen > 0 || this.prevWasMax;
  }

  expect(kind: ReplyKind): void {
    this.queue.push(kind);
    if (this.queue.length === 1) this.begin(kind);
  }

  reset(): void {
    this.rows = 0;
    this.sets = 0;
    this.affected = 0;
    this.queue.length = 0;
    this.state = St.Idle;
    this.started = false;
    this.hdrLen = 0;
    this.inBody = false;
    this.prevWasMax = false;
    this.wantColumns = false;
    this.columnParts = null;
    this.columnPart = null;
  }

  private begin(kind: ReplyKind): void {
    this.wantColumns = kind === ReplyKind.Execute && this.cacheMetadata;
    switch (kind) {
      case ReplyKind.Result: this.state = St.First; break;
      case ReplyKind.Execute: this.state = St.First; break;
      case ReplyKind.Prepare: this.state = St.PrepFirst; break;
      case ReplyKind.Rows: this.state = St.Rows; break;
      case ReplyKind.Single: this.state = St.Single; break;
    }
  }

  feed(chunk: Buffer): void {
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      if (!this.inBody) {
        if (this.hdrLen === 0 && end - pos >= 4) {
          this.curLen = chunk[pos]! | (chunk[pos + 1]! << 8) | (chunk[pos + 2]! << 16);
          this.lastSeq = chunk[pos + 3]!;
          pos += 4;
        } else {
          while (this.hdrLen < 4 && pos < end) this.hdr[this.hdrLen++] = chunk[pos++]!;
          if (this.hdrLen < 4) return;
          this.hdrLen = 0;
          this.curLen = this.hdr[0]! | (this.hdr[1]! << 8) | (this.hdr[2]! << 16);
          this.lastSeq = this.hdr[3]!;
        }
        this.inBody = true;
        this.bodyLeft = this.curLen;
        this.prefixLen = 0;
        this.curIsContinuation = this.prevWasMax;
        this.prevWasMax = this.curLen === 0xffffff;
        this.capturing = this.captureOk && !this.curIsContinuation && this.curLen <= CAPTURE_MAX && (this.state === St.First || this.state === St.Single);
        if (this.columnParts !== null && this.state === St.ColDefs) {
          // Sequence id 0: definitions are compared and re-sent by content, not position.
          const part = Buffer.alloc(4 + this.curLen);
          part.writeUIntLE(this.curLen, 0, 3);
          this.columnPart = part;
        }
      }
      const take = Math.min(this.bodyLeft, end - pos);
      if (!this.curIsContinuation && this.prefixLen < PREFIX && take > 0) {
        // A byte loop: for at most 24 bytes it is cheaper than Buffer.copy's native call.
        const n = Math.min(take, PREFIX - this.prefixLen);
        const prefix = this.prefix;
        for (let i = 0, o = this.prefixLen; i < n; i++) prefix[o + i] = chunk[pos + i]!;
        this.prefixLen += n;
      }
      if (this.capturing && take > 0) {
        this.capture ??= Buffer.allocUnsafe(CAPTURE_MAX);
        chunk.copy(this.capture, this.curLen - this.bodyLeft, pos, pos + take);
      }
      if (this.columnPart !== null && take > 0) chunk.copy(this.columnPart, 4 + this.curLen - this.bodyLeft, pos, pos + take);
      pos += take;
      this.bodyLeft -= take;
      if (this.bodyLeft === 0) {
        this.inBody = false;
        if (!this.curIsContinuation) this.onPacket();
      }
    }
  }

  private okStatus(): number {
    // OK: header, affected rows (lenenc), last insert id (lenenc), status (2). Decoded inline:
    // this runs for every OK and every DEPRECATE_EOF terminator, and must not allocate.
    const prefix = this.prefix;
    const len = this.prefixLen;
    const aSize = lenencSize(prefix, 1, len);
    if (aSize === 0) return 0;
    this.affected = lenencValue(prefix, 1, aSize);
    const bSize = lenencSize(prefix, 1 + aSize, len);
    if (bSize === 0) return 0;
    const p = 1 + aSize + bSize;
    return p + 2 <= len ? prefix.readUInt16LE(p) : 0;
  }

  private eofStatus(): number {
    return this.prefixLen >= 5 ? this.prefix.readUInt16LE(3) : 0;
  }

  private terminatorStatus(): number {
    return this.deprecateEof ? this.okStatus() : this.eofStatus();
  }

  private isTerminator(b0: number): boolean {
    return b0 === 0xfe && (this.deprecateEof ? this.curLen < 0xffffff : this.curLen < 9);
  }

  private reportSessionState(status: number): void {
    if (!this.captureOk || !(status & Status.SESSION_STATE_CHANGED)) return;
    this.listener.onSessionState?.(this.capturing ? this.capture!.subarray(0, this.curLen) : null);
  }

  private isProgress(b0: number): boolean {
    return b0 === 0xff && this.prefixLen >= 3 && this.prefix.readUInt16LE(1) === 0xffff;
  }

  private finish(status: number, error: boolean): void {
    const errorCode = error && this.prefixLen >= 3 ? this.prefix.readUInt16LE(1) : 0;
    this.queue.shift();
    this.started = false;
    if (this.queue.length > 0) this.begin(this.queue[0]!);
    else this.state = St.Idle;
    const e = this.end;
    e.status = status;
    e.error = error;
    e.errorCode = errorCode;
    e.affectedRows = error ? 0 : this.affected;
    e.rows = this.rows;
    e.resultSet = this.sets > 0;
    this.sets = 0;
    this.rows = 0;
    this.affected = 0;
    this.listener.onReplyEnd(e);
  }

  private onPacket(): void {
    const b0 = this.curLen > 0 ? this.prefix[0]! : -1;
    if (this.state !== St.Idle) this.started = true;
    switch (this.state) {
      case St.Idle:
        this.listener.onUnexpected(b0);
        return;
      case St.Single:
        if (this.isProgress(b0)) return;
        if (b0 === 0x00) {
          const status = this.okStatus();
          this.reportSessionState(status);
          return this.finish(status, false);
        }
        this.finish(b0 === 0xfe ? this.eofStatus() : 0, b0 === 0xff);
        return;
      case St.First: {
        if (b0 === 0x00) {
          const status = this.okStatus();
          this.reportSessionState(status);
          if (!(status & Status.MORE_RESULTS_EXISTS)) this.finish(status, false);
          return;
        }
        if (b0 === 0xff) {
          if (!this.isProgress(b0)) this.finish(0, true);
          return;
        }
        if (b0 === 0xfb) {
          // The OK or ERR that ends the LOAD DATA comes after the client has sent the file.
          this.listener.onLocalInfile();
          return;
        }
        const size = lenencSize(this.prefix, 0, this.prefixLen);
        this.left = size ? lenencValue(this.prefix, 0, size) : 0;
        this.sets++;
        if (this.cacheMetadata && this.left > 0 && size > 0 && this.prefixLen > size && this.prefix[size] === 0) {
          // Metadata skipped: no definitions, but without DEPRECATE_EOF their EOF still comes.
          if (this.wantColumns && this.sets === 1) this.listener.onColumns?.(null);
          this.state = this.deprecateEof ? St.Rows : St.ColDefsEof;
          return;
        }
        if (this.wantColumns && this.sets === 1) this.columnParts = [];
        this.state = this.left > 0 ? St.ColDefs : St.Rows;
        return;
      }
      case St.ColDefs:
        if (b0 === 0xff) {
          this.columnParts = null;
          this.columnPart = null;
          return this.finish(0, true);
        }
        if (this.columnParts !== null && this.columnPart !== null) {
          this.columnParts.push(this.columnPart);
          this.columnPart = null;
        }
        if (--this.left === 0) {
          this.state = this.deprecateEof ? St.Rows : St.ColDefsEof;
          const parts = this.columnParts;
          if (parts !== null) {
            this.columnParts = null;
            this.listener.onColumns?.(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
          }
        }
        return;
      case St.ColDefsEof: {
        // A cursor was opened (COM_STMT_EXECUTE with a cursor flag): rows come with COM_STMT_FETCH.
        const status = this.eofStatus();
        if (status & Status.CURSOR_EXISTS) this.finish(status, false);
        else this.state = St.Rows;
        return;
      }
      case St.Rows: {
        if (b0 === 0xff) {
          if (!this.isProgress(b0)) this.finish(0, true);
          return;
        }
        if (this.isTerminator(b0)) {
          this.affected = 0;
          const status = this.terminatorStatus();
          if (status & Status.MORE_RESULTS_EXISTS && (this.queue[0] === ReplyKind.Result || this.queue[0] === ReplyKind.Execute)) this.state = St.First;
          else this.finish(status, false);
        } else this.rows++;
        return;
      }
      case St.PrepFirst: {
        if (b0 !== 0x00) return this.finish(0, b0 === 0xff);
        this.prepCols = this.prefixLen >= 7 ? this.prefix.readUInt16LE(5) : 0;
        const params = this.prefixLen >= 9 ? this.prefix.readUInt16LE(7) : 0;
        if (params > 0) {
          this.left = params;
          this.state = St.PrepParams;
        } else this.startPrepCols();
        return;
      }
      case St.PrepParams:
        if (--this.left === 0) {
          if (this.deprecateEof) this.startPrepCols();
          else this.state = St.PrepParamsEof;
        }
        return;
      case St.PrepParamsEof:
        this.startPrepCols();
        return;
      case St.PrepCols:
        if (--this.left === 0) {
          if (this.deprecateEof) this.finish(0, false);
          else this.state = St.PrepColsEof;
        }
        return;
      case St.PrepColsEof:
        this.finish(this.eofStatus(), false);
        return;
    }
  }

  private startPrepCols(): void {
    if (this.prepCols > 0) {
      this.left = this.prepCols;
      this.state = St.PrepCols;
    } else this.finish(0, false);
  }
}
