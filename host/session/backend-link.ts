// One of a session's backend connections, with what the session needs to use several at once:
// its own ReplyTracker (replies are tracked per connection), what to do with each expected reply
// (forward it to the client, collect it for the proxy, or consume it unseen), and the mapping of
// the client's prepared-statement ids to this connection's.
import { Cap, Com, MariaCap } from '../protocol/constants.js';
import { prepareColumnDefs } from '../protocol/column-cache.js';
import { ReplyKind, ReplyTracker, type ReplyEnd, type ReplyListener } from '../protocol/reply-tracker.js';
import type { BackendConnection } from './backend-connection.js';
import type { BackendServer } from './service-context.js';

export const enum ReplyMode {
  /** Bytes go to the client as they arrive (the hot path). */
  Forward = 0,
  /** Bytes are kept until the reply ends, then handed to the session (prepare responses). */
  Collect = 1,
  /** Bytes are dropped; only the outcome counts (session commands on other connections, replay). */
  Discard = 2,
  /**
   * Bytes are kept until the reply ends, then handed to the session to be forwarded with the
   * column definitions the server skipped put back in (host/session/metadata-cache.ts).
   */
  Rewrite = 3,
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
  /**
   * Metadata caching: an execute's reply of statement `backendId` (this connection's id) carried
   * column definitions (`defs`, as BackendLink.meta keeps them), in a reply of `mode`.
   */
  linkColumns(link: BackendLink, backendId: number, defs: Buffer, mode: ReplyMode): void;
  /** A ReplyMode.Rewrite reply ended: the owner forwards it (column definitions put back) and ends it. */
  linkRewrite(link: BackendLink, end: ReplyEnd, bytes: Buffer, backendId: number): void;
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
  /** MARIADB_CLIENT_CACHE_METADATA is on for this connection (the client asked for it). */
  readonly cacheMetadata: boolean;
  /**
   * With cacheMetadata: this connection's statement id → the column definitions the server last
   * sent for it (prepare or execute), which it leaves out of an execute's reply while they hold.
   */
  readonly meta = new Map<number, Buffer>();
  /** Expected replies' modes, oldest first (parallel to the tracker's queue). */
  private readonly modes: ReplyMode[] = [];
  /** Parallel to modes: an execute's statement id (this connection's), -1 for a prepare, else 0. */
  private readonly tags: number[] = [];
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
    this.cacheMetadata = (conn.mariaCapabilities & MariaCap.CACHE_METADATA) !== 0;
    this.tracker.cacheMetadata = this.cacheMetadata;
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

  /** Whether every expected reply is for the client (forwarded, or collected to be completed first). */
  get forClientOnly(): boolean {
    for (const m of this.modes) if (m !== ReplyMode.Forward && m !== ReplyMode.Rewrite) return false;
    return true;
  }

  /** The reply arriving now is collected before the client gets any of it (ReplyMode.Rewrite). */
  get withholding(): boolean {
    return this.modes.length > 0 && this.mode === ReplyMode.Rewrite;
  }

  /**
   * A reply of `kind` will come, kept per `mode`. `payload`: the command as written to this
   * connection, for metadata caching to know whose execute or prepare it answers.
   */
  expect(kind: ReplyKind, mode: ReplyMode, payload?: Buffer): void {
    if (this.modes.length === 0) this.mode = mode;
    this.modes.push(mode);
    let tag = 0;
    if (this.cacheMetadata && payload !== undefined) {
      if (kind === ReplyKind.Prepare) tag = -1;
      else if (kind === ReplyKind.Result && payload[0] === Com.STMT_EXECUTE && payload.length >= 5) {
        tag = payload.readUInt32LE(1);
        kind = ReplyKind.Execute;
      }
    }
    this.tags.push(tag);
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
      if (mode === ReplyMode.Collect || mode === ReplyMode.Rewrite) {
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
    const tag = this.tags.shift() ?? 0;
    let bytes: Buffer | null = null;
    if (mode === ReplyMode.Collect || mode === ReplyMode.Rewrite) {
      bytes = this.collected.length === 1 ? this.collected[0]! : Buffer.concat(this.collected);
      this.collected = [];
    }
    if (this.modes.length > 0) this.mode = this.modes[0]!;
    if (tag === -1 && bytes !== null && !end.error) {
      // A prepare's column definitions are what the server compares the first execute with.
      const p = prepareColumnDefs(bytes, this.tracker.deprecateEof);
      if (p !== null) {
        if (p.defs !== null) this.meta.set(p.id, p.defs);
        else this.meta.delete(p.id);
      }
    }
    if (mode === ReplyMode.Rewrite) return this.owner.linkRewrite(this, end, bytes!, tag);
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

  onColumns(defs: Buffer | null): void {
    if (defs === null) return;
    const id = this.tags[0] ?? 0;
    if (id <= 0) return;
    this.meta.set(id, defs);
    this.owner.linkColumns(this, id, defs, this.mode);
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
