// The open transaction, kept for transaction_replay (MaxScale's readwritesplit feature): each
// statement sent in it and a fingerprint of the reply the client got. When the connection the
// transaction runs on is lost between statements (or before a reply started), the session opens a
// new connection, replays the statements and compares fingerprints: equal means the client can
// go on as if nothing happened; different means the data changed under it, and the client gets
// an error.
import { createHash, type Hash } from 'node:crypto';
import type { ReplyEnd, ReplyKind } from '../protocol/reply-tracker.js';

/** What a fingerprint is made of (a ReplyEnd has it all). */
export type ReplyFacts = Pick<ReplyEnd, 'resultSet' | 'error' | 'errorCode' | 'affectedRows'>;

export interface TrxStatement {
  /** The command as the client sent it (client statement ids), a private copy. */
  readonly payload: Buffer;
  readonly kind: ReplyKind;
  /** A COMMIT (the classifier's kind): lost in flight, it may have committed already. */
  readonly commit: boolean;
  /** Fingerprint of the reply; null while it is still coming (the statement in flight). */
  fingerprint: string | null;
}

export class TrxLog {
  readonly statements: TrxStatement[] = [];
  private bytes = 0;
  /** Set when the transaction outgrew the limit: it can no longer be replayed. */
  tooLarge = false;
  private hash: Hash | null = null;

  constructor(
    /** Server the transaction runs on (changes when a replay moves it to a new primary). */
    public server: string,
    private readonly maxSize: number,
    /** It began on the primary: a replay goes to the primary of the moment (host/session/primary-follow.ts). */
    readonly onPrimary: boolean,
  ) {}

  /** A statement sent in the transaction (before its reply). */
  add(payload: Buffer, kind: ReplyKind, commit = false): void {
    if (this.tooLarge) return;
    this.bytes += payload.length;
    if (this.bytes > this.maxSize) {
      this.tooLarge = true;
      this.statements.length = 0;
      return;
    }
    this.statements.push({ payload: Buffer.from(payload), kind, commit, fingerprint: null });
    this.hash = null;
  }

  /** Bytes of the reply to the last statement, as forwarded to the client. */
  replyBytes(chunk: Buffer): void {
    if (this.tooLarge || this.statements.length === 0) return;
    (this.hash ??= createHash('sha1')).update(chunk);
  }

  /** The reply to the last statement ended. */
  replyEnd(end: ReplyEnd): void {
    const last = this.statements[this.statements.length - 1];
    if (!last || last.fingerprint !== null) return;
    last.fingerprint = fingerprint(end, this.hash);
    this.hash = null;
  }

  /** The statement whose reply had not started when the connection was lost, if any. */
  get inFlight(): TrxStatement | null {
    const last = this.statements[this.statements.length - 1];
    return last && last.fingerprint === null ? last : null;
  }
}

/**
 * What must be the same on replay: a result set's bytes (rows and metadata), or for an OK/ERR the
 * outcome and affected rows — not the whole OK, whose insert id may differ on replay (an
 * auto-increment value is not reused after the lost transaction rolled back).
 */
export function fingerprint(end: ReplyFacts, hash: Hash | null): string {
  if (end.resultSet && hash) return `rs:${hash.digest('hex')}`;
  return end.error ? `err:${end.errorCode}` : `ok:${end.affectedRows}`;
}

/** The fingerprint of a collected reply (the replay), computed as for a forwarded one. */
export function fingerprintOf(end: ReplyFacts, reply: Buffer | null): string {
  const h = end.resultSet && reply ? createHash('sha1').update(reply) : null;
  return fingerprint(end, h);
}
