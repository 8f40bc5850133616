// One of a session's backend connections, with what the session needs to use several at once:
// its own ReplyTracker (replies are tracked per connection), what to do with each expected reply
// (forward it to the client, collect it for the proxy, or consume it unseen), and the mapping of
// the client's prepared-statement ids to this connection's.
import { Cap } from '../protocol/constants.js';
import { ReplyTracker, type ReplyEnd, type ReplyKind, type ReplyListener } from '../protocol/reply-tracker.js';
import type { BackendConnection } from './backend-connection.js';
import type { BackendServer } from './service-context.js';

export const enum ReplyMode {
  /** Bytes go to the client as they arrive (the hot path). */
  Forward = 0,
  /** Bytes are kept until the reply ends, then handed to the session (prepare responses). */
  Collect = 1,
  /** Bytes are dropped; only the outcome counts (session commands on other connections, replay). */
  Discard = 2,
}

export interface LinkOwner {
  /** Forwarded bytes of `link`. */
  linkData(link: BackendLink, chunk: Buffer): void;
  /** Bytes that arrived while no reply was expected (the server's goodbye, usually). */
  linkUnsolicited(link: BackendLink, chunk: Buffer): void;
  /** A reply ended; `collected` holds the bytes of a Collect reply (else null). */
  linkReplyEnd(link: BackendLink, end: ReplyEnd, mode: ReplyMode, collected: Buffer | null): void;
  linkInfile(link: BackendLink): void;
  /** A forwarded reply starts with an ERR: keep it back until it ends? (Only if a replay could follow.) */
  linkHoldsError(link: BackendLink): boolean;
  /** A held ERR reply ended: the owner forwards it (then ends it) or swallows it. */
  linkHeldError(link: BackendLink, end: ReplyEnd, bytes: Buffer): void;
  linkUnexpected(link: BackendLink, firstByte: number): void;
  /** An OK with session state arrived (only with tracker.captureOk); `ok` is valid during the call. */
  linkSessionState(link: BackendLink, ok: Buffer | null): void;
}

export class BackendLink implements ReplyListener {
  readonly tracker: ReplyTracker;
  /** Client statement id → this connection's statement id. */
  readonly statements = new Map<number, number>();
  /** Client statement ids whose parameter types this connection has been sent. */
  readonly typed = new Set<number>();
  /** History entries already applied on this connection (replayed or run live). */
  historyApplied = 0;
  /** When the statement whose reply is awaited was sent (performance.now()), 0 if not measured. */
  sentAt = 0;
  /** Expected replies' modes, oldest first (parallel to the tracker's queue). */
  private readonly modes: ReplyMode[] = [];
  private collected: Buffer[] = [];
  /** Mode of the reply whose bytes are arriving now. */
  private mode = ReplyMode.Forward;
  /** Bytes of a forwarded reply that began with an ERR, held until it ends (LinkOwner.linkHoldsError). */
  private held: Buffer[] | null = null;

  constructor(
    readonly conn: BackendConnection,
    readonly server: BackendServer,
    private readonly owner: LinkOwner,
  ) {
    this.tracker = new ReplyTracker(this);
    this.tracker.deprecateEof = (conn.capabilities & Cap.DEPRECATE_EOF) !== 0;
    this.tracker.captureOk = conn.tracksLastGtid;
    conn.onData = (chunk) => this.onData(chunk);
  }

  get name(): string {
    return this.server.name;
  }

  get pending(): number {
    return this.tracker.pending;
  }

  /** Whether every expected reply is forwarded (nothing collected or discarded is pending). */
  get forwardingOnly(): boolean {
    for (const m of this.modes) if (m !== ReplyMode.Forward) return false;
    return true;
  }

  expect(kind: ReplyKind, mode: ReplyMode): void {
    if (this.modes.length === 0) this.mode = mode;
    this.modes.push(mode);
    this.tracker.expect(kind);
  }

  private onData(chunk: Buffer): void {
    // Modes never mix inside a chunk: the session sends a collected or discarded command only
    // when nothing else is pending on the connection, and waits for its reply.
    if (this.modes.length === 0) {
      this.tracker.feed(chunk);
      this.owner.linkUnsolicited(this, chunk);
      return;
    }
    const mode = this.mode;
    if (mode === ReplyMode.Forward) {
      // An ERR that starts the only expected reply (byte 4: the first packet's first byte) may
      // be the server's "connection killed" before it closes: asked only then, so other replies
      // cost one byte compare.
      if (this.held === null && chunk.length > 4 && chunk[4] === 0xff && this.modes.length === 1 && !this.tracker.midReply && this.owner.linkHoldsError(this)) {
        this.held = [];
      }
      if (this.held !== null) {
        this.held.push(chunk);
        this.conn.keepChunk();
        this.tracker.feed(chunk);
        return;
      }
      // Forwarded first, then tracked: what happens at a reply's end (a transaction's
      // fingerprint, a deferred command) sees every byte of that reply already sent.
      this.owner.linkData(this, chunk);
      this.tracker.feed(chunk);
    } else {
      if (mode === ReplyMode.Collect) {
        this.collected.push(chunk);
        this.conn.keepChunk();
      }
      this.tracker.feed(chunk);
    }
  }

  onReplyEnd(end: ReplyEnd): void {
    // Nothing more to read on this connection for now: its read buffer may shrink back.
    if (this.tracker.pending === 0) this.conn.readsDone();
    const mode = this.modes.shift() ?? ReplyMode.Forward;
    let bytes: Buffer | null = null;
    if (mode === ReplyMode.Collect) {
      bytes = this.collected.length === 1 ? this.collected[0]! : Buffer.concat(this.collected);
      this.collected = [];
    }
    if (this.modes.length > 0) this.mode = this.modes[0]!;
    const held = this.held;
    if (held !== null && mode === ReplyMode.Forward) {
      this.held = null;
      return this.owner.linkHeldError(this, end, held.length === 1 ? held[0]! : Buffer.concat(held));
    }
    this.owner.linkReplyEnd(this, end, mode, bytes);
  }

  onLocalInfile(): void {
    this.owner.linkInfile(this);
  }

  onSessionState(ok: Buffer | null): void {
    this.owner.linkSessionState(this, ok);
  }

  onUnexpected(firstByte: number): void {
    this.owner.linkUnexpected(this, firstByte);
  }

  write(data: Buffer): boolean {
    return this.conn.write(data);
  }
}
