import type net from 'node:net';
import { ClassifyResult } from '../classify/index.js';
import { Cap, NATIVE_PASSWORD, PROXY_CAPS, PROXY_MARIA_CAPS, Status } from '../protocol/constants.js';
import { Er, type ErrorSpec } from '../protocol/errors.js';
import { PacketFramer, type FramedPacket, type FrameError } from '../protocol/framer.js';
import { encodeHandshakeV10 } from '../protocol/handshake.js';
import { newScramble } from '../protocol/native-password.js';
import { encodeErr } from '../protocol/ok-err.js';
import { ProtocolError } from '../protocol/reader.js';
import type { ReplyEnd, ReplyKind } from '../protocol/reply-tracker.js';
import { framePacket, framePacketParts } from '../protocol/writer.js';
import type { BackendLogin } from './backend-connection.js';
import { ReplyMode, type BackendLink, type LinkOwner } from './backend-link.js';
import type { FilterSession, ReplyInfo } from './filter.js';
import { SessionGtid } from './gtid-tracking.js';
import { columnsSent, forwardRewritten } from './metadata-cache.js';
import type { MultiOp } from './multi-op.js';
import { PreparedStatements } from './prepared-statements.js';
import type { ReadBuffer } from './read-buffer.js';
import { afterForwardedReply } from './reply-bookkeeping.js';
import type { RouterSession, SessionView } from './router.js';
import type { ServiceContext } from './service-context.js';
import { authenticate } from './session-auth.js';
import { EMPTY, HISTORY_LIMIT, Phase, TEE_LIMIT, type DeferredCommand, type MutableStatement, type RetryableRead, type SessionCore } from './session-core.js';
import { onCommand } from './session-dispatch.js';
import { SessionHistory } from './session-history.js';
import { killedBy } from './session-kill.js';
import { pendingReplies } from './session-links.js';
import { copyPacket } from './session-packets.js';
import type { TrxLog } from './trx-log.js';
import { heldError, holdsError } from './trx-replay.js';

// Handshake responses are small; a huge "length" is garbage (an HTTP request, a port scan).
const MAX_HANDSHAKE_PACKET = 64 * 1024;

export interface SessionHooks {
  onClose(session: ClientSession): void;
}

/**
 * One client connection: handshake and authentication by the proxy, then the command loop.
 * Commands are forwarded as framed (zero-copy for single packets); replies are forwarded chunk
 * by chunk while a ReplyTracker marks where each ends. Commands the proxy answers itself (KILL,
 * COM_CHANGE_USER) wait until earlier replies are complete.
 */
export class ClientSession implements SessionView, LinkOwner, SessionCore {
  user = '';
  database: string | null = null;
  readonly clientAddress: string;
  readonly service: string;

  phase = Phase.Handshake;
  readonly framer: PacketFramer;
  readonly scramble = newScramble();
  clientCaps = 0;
  stage1: Buffer | null = null;
  /** Capabilities offered in the handshake (the client's are masked with them). */
  advertised = 0;
  /** Open backend connections by server name. */
  readonly links = new Map<string, BackendLink>();
  /** The connection opened at login: the session ends with it (as with MaxScale's defaults). */
  main: BackendLink | null = null;
  /** Server of the main connection (kept while it is being reopened: master_reconnection). */
  mainName: string | null = null;
  /** mainName was the primary when the main connection opened: it is reopened on the primary of the moment. */
  mainOnPrimary = false;
  /** An autocommit read in flight on a connection other than the main one (retried on loss). */
  readonly retry: RetryableRead = {
    link: null, payload: EMPTY, clientStmtId: 0, kind: 1 as ReplyKind, seq: 0,
  };
  login: BackendLogin | null = null;
  readonly history = new SessionHistory(HISTORY_LIMIT);
  readonly stmts = new PreparedStatements();
  op: MultiOp | null = null;
  /** The open transaction, kept while transaction_replay is on. */
  trx: TrxLog | null = null;
  /** A transaction is being replayed on a new connection. */
  replaying = false;
  /** A replay failed while the client was idle: its next command gets this error, then the session ends. */
  failureForNext: string | null = null;
  /** causal_reads: the session's last write's GTID (set up with the client's capabilities). */
  gtid = new SessionGtid('none', 0);
  /** Server status of the last reply forwarded (transaction state). */
  serverStatus: number = Status.AUTOCOMMIT;
  routerSession: RouterSession | null = null;
  filterSessions: FilterSession[] = [];
  /** Filters that watch replies, in reply order (the reverse of the chain); empty: no reply hooks. */
  replyFilters: FilterSession[] = [];
  /** Filters that read result sets (on_result), in reply order. */
  resultFilters: FilterSession[] = [];
  /** The reply being kept for them (its connection and chunks), a bounded prefix. */
  teeLink: BackendLink | null = null;
  teeChunks: Buffer[] = [];
  teeColumns: Buffer | null = null;
  teeBytes = 0;
  teeBinary = false;
  readonly classified = new ClassifyResult();
  readonly replyInfo: ReplyInfo = { ok: true, errorCode: 0, server: '', affectedRows: 0, rows: 0 };
  infile = false;
  /** The connection a LOAD DATA LOCAL INFILE's file goes to. */
  infileLink: BackendLink | null = null;
  busy = false;
  /** A command waiting for earlier replies (runProxyCommand). */
  deferred: DeferredCommand | null = null;
  /** delayed_retry: when the statement being retried gives up. */
  retryDeadline: number | null = null;
  private backlog: FramedPacket[] = [];
  waiter: ((p: FramedPacket) => void) | null = null;
  lastCmdSeq = 0;
  handshakeTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private partialTimer: NodeJS.Timeout | null = null;
  clientPausedForBackend = false;
  private backendPausedForClient = false;

  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    readonly ctx: ServiceContext,
    private readonly hooks: SessionHooks,
    handshakeTimeoutMs: number,
    /** Set when the socket reads into a reused buffer (onread): chunks are then only borrowed. */
    private readonly reads: ReadBuffer | null = null,
  ) {
    this.service = ctx.name;
    this.clientAddress = socket.remoteAddress ?? 'unknown';
    this.framer = new PacketFramer(MAX_HANDSHAKE_PACKET);
    socket.setNoDelay(true);
    if (reads) reads.sink = (chunk) => this.onClientData(chunk);
    else socket.on('data', (chunk: Buffer) => this.onClientData(chunk));
    socket.on('error', (err) => this.ctx.log.debug({ session: this.id, err: err.message }, 'client socket error'));
    socket.on('close', () => this.close());
    socket.on('drain', () => {
      if (this.backendPausedForClient) {
        this.backendPausedForClient = false;
        for (const l of this.links.values()) l.conn.socket.resume();
      }
    });
    this.handshakeTimer = setTimeout(() => {
      this.logOnce('handshake timeout', { timeoutMs: handshakeTimeoutMs });
      this.close();
    }, handshakeTimeoutMs);
  }

  /** SHA1(password) of the logged-in user: what reconnecting to a backend as this client needs. */
  get credentials(): Buffer | null {
    return this.stage1;
  }

  get closed(): boolean {
    return this.phase === Phase.Closed;
  }

  /** Called by the owning worker once it holds the socket: only now does the protocol start. */
  start(): void {
    if (this.socket.destroyed) return this.close();
    const g = this.ctx.greeting();
    const caps = ((g.capabilities & PROXY_CAPS) & ~Cap.LONG_PASSWORD) | Cap.PROTOCOL_41 | Cap.SECURE_CONNECTION | Cap.PLUGIN_AUTH;
    this.socket.write(framePacket(encodeHandshakeV10({
      serverVersion: g.serverVersion,
      connectionId: this.id,
      scramble: this.scramble,
      capabilities: caps,
      mariaCapabilities: g.mariaCapabilities & PROXY_MARIA_CAPS,
      charset: g.charset,
      status: Status.AUTOCOMMIT,
      authPlugin: NATIVE_PASSWORD,
    }), 0).bytes);
    this.advertised = caps;
    this.socket.resume();
  }

  private readonly onPacketBound = (p: FramedPacket): boolean => this.onPacket(p);
  readonly statement: MutableStatement = { command: 0, payload: EMPTY, kind: 0, flags: 0, trx: 0, digestLo: 0, digestHi: 0, hint: 0, hintServer: '' };
  private firstSeq = -1;

  // ---- input ---------------------------------------------------------------------------------

  private onClientData(chunk: Buffer): void {
    if (this.phase === Phase.Closed) return;
    if (this.phase === Phase.Command && this.idleTimer) this.idleTimer.refresh();
    // Sequence id of the client's first header: garbage (e.g. "GET ") is refused as MariaDB does.
    if (this.phase === Phase.Handshake && this.firstSeq < 0 && !this.framer.hasPartial && chunk.length >= 4) this.firstSeq = chunk[3]!;
    const err = this.framer.push(chunk, this.onPacketBound);
    // The framer holds views of chunks while a packet is incomplete; without one, the client's
    // input is complete for now (its read buffer may shrink back after a big command).
    if (this.framer.hasPartial) this.reads?.keep();
    else this.reads?.transferDone();
    if (err) return this.onFrameError(err);
    this.armPartialTimer();
  }

  private armPartialTimer(): void {
    if (this.phase === Phase.Closed) return;
    if (this.framer.hasPartial) {
      if (!this.partialTimer) {
        this.partialTimer = setTimeout(() => {
          this.logOnce('client stalled in the middle of a packet', { timeoutMs: this.ctx.settings.netReadTimeoutMs });
          this.fail(Er.NET_READ_INTERRUPTED, 'Got timeout reading communication packets', this.replySeq());
        }, this.ctx.settings.netReadTimeoutMs);
      } else {
        // Like MariaDB's net_read_timeout: a limit on silence, not on the whole packet (a big
        // blob that keeps arriving must not time out).
        this.partialTimer.refresh();
      }
    } else if (this.partialTimer) {
      clearTimeout(this.partialTimer);
      this.partialTimer = null;
    }
  }

  private onFrameError(err: FrameError): void {
    if (err.kind === 'too-large') {
      if (this.phase === Phase.Handshake) {
        // MariaDB checks the sequence id first: an HTTP request ("GET ...") gets 1156, as there.
        if (this.firstSeq >= 0 && this.firstSeq !== 1) {
          this.logOnce('handshake response with wrong sequence id (garbage before the handshake?)', { seq: this.firstSeq, size: err.size });
          return this.fail(Er.NET_PACKETS_OUT_OF_ORDER, 'Got packets out of order', 1);
        }
        this.logOnce('handshake packet too large (garbage before the handshake?)', { size: err.size });
        return this.fail(Er.HANDSHAKE, 'Bad handshake', 2);
      }
      this.logOnce('packet larger than max_allowed_packet', { size: err.size, max: this.framer.maxPayload });
      return this.fail(Er.NET_PACKET_TOO_LARGE, "Got a packet bigger than 'max_allowed_packet' bytes", 1);
    }
    this.logOnce('packets out of order', { expected: err.expected, got: err.got });
    this.fail(Er.NET_PACKETS_OUT_OF_ORDER, 'Got packets out of order', 1);
  }

  private onPacket(p: FramedPacket): boolean {
    if (this.phase === Phase.Closed) return false;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(copyPacket(p));
      return true;
    }
    if (this.phase === Phase.Handshake) {
      this.phase = Phase.Authenticating;
      void authenticate(this, copyPacket(p)).catch((err: unknown) => this.internalError(err));
      return true;
    }
    if (this.phase === Phase.Authenticating || this.busy) {
      // Clients do not pipeline during authentication; after it, keep order behind proxy work.
      this.backlog.push(copyPacket(p));
      this.socket.pause();
      return true;
    }
    return onCommand(this, p);
  }

  drainBacklog(): void {
    while (this.backlog.length > 0 && !this.busy && this.phase === Phase.Command) {
      if (!onCommand(this, this.backlog.shift()!)) break;
    }
    if (this.backlog.length === 0 && !this.busy && this.phase === Phase.Command && !this.clientPausedForBackend) {
      this.socket.resume();
    }
  }

  // ---- LinkOwner: what the connections report --------------------------------------------------

  linkData(link: BackendLink, chunk: Buffer): void {
    if (this.teeLink === link && this.teeBytes < TEE_LIMIT) {
      this.teeChunks.push(chunk);
      this.teeBytes += chunk.length;
      link.conn.keepChunk();
    }
    if (this.trx !== null && this.trx.server === link.name) this.trx.replyBytes(chunk);
    const flushed = this.socket.write(chunk);
    // The chunk is a view of the connection's read buffer: a write still queued keeps it.
    if (this.socket.writableLength > 0) link.conn.keepChunk();
    if (!flushed && !this.backendPausedForClient) {
      this.backendPausedForClient = true;
      link.conn.socket.pause();
    }
  }

  linkUnsolicited(link: BackendLink, chunk: Buffer): void {
    // A server that kills or times out a connection says so first (ERR 1927, 4031). With a
    // transaction to replay the client must not see it: the connection will be replaced.
    if (this.trx !== null && this.trx.server === link.name && this.ctx.settings.trxReplay !== null && !this.trx.tooLarge) return;
    // Only the main connection's goodbye reaches the client (as it would directly), and not when
    // that connection will be reopened (master_reconnection).
    if (link !== this.main || this.ctx.settings.masterReconnection) return;
    this.linkData(link, chunk);
  }

  linkHoldsError(link: BackendLink): boolean {
    return holdsError(this, link);
  }

  linkHeldError(link: BackendLink, end: ReplyEnd, bytes: Buffer): void {
    heldError(this, link, end, bytes);
  }

  linkInfile(link: BackendLink): void {
    this.infile = true;
    this.infileLink = link;
  }

  linkUnexpected(link: BackendLink, firstByte: number): void {
    // The server speaks unasked only to say it is closing (e.g. wait_timeout); the client gets it.
    this.ctx.log.debug({ session: this.id, server: link.name, firstByte }, 'unsolicited packet from backend');
  }

  linkSessionState(link: BackendLink, ok: Buffer | null): void {
    this.gtid.okState(link, ok);
  }

  linkColumns(link: BackendLink, backendId: number, defs: Buffer, mode: ReplyMode): void {
    columnsSent(this, link, backendId, defs, mode);
  }

  linkRewrite(link: BackendLink, end: ReplyEnd, bytes: Buffer, backendId: number): void {
    forwardRewritten(this, link, end, bytes, backendId);
  }

  linkReplyEnd(link: BackendLink, end: ReplyEnd, mode: ReplyMode, collected: Buffer | null): void {
    const op = this.op;
    if (op && op.waiting.has(link)) {
      if (mode === ReplyMode.Forward) afterForwardedReply(this, link, end);
      const list = op.outcomes.get(link) ?? [];
      list.push({ ok: !end.error, errorCode: end.errorCode, reply: collected, affectedRows: end.affectedRows, resultSet: end.resultSet });
      op.outcomes.set(link, list);
      const left = op.waiting.get(link)! - 1;
      if (left > 0) op.waiting.set(link, left);
      else op.waiting.delete(link);
      if (op.waiting.size === 0) op.done();
      return;
    }
    afterForwardedReply(this, link, end);
  }

  // ---- commands: routing is in session-dispatch.ts; what every path uses is here -------------

  writeTo(link: BackendLink, p: FramedPacket): void {
    let ok: boolean;
    if (p.raw) ok = link.write(p.raw);
    else {
      const { parts } = framePacketParts(p.payload, p.seq);
      const socket = link.conn.socket;
      socket.cork();
      ok = true;
      for (const part of parts) ok = link.write(part) && ok;
      socket.uncork();
    }
    // A write still queued keeps the bytes, which may be a view of the client's read buffer.
    if (link.conn.socket.writableLength > 0) this.reads?.keep();
    if (!ok && !this.clientPausedForBackend) {
      this.clientPausedForBackend = true;
      this.socket.pause();
    }
  }

  /**
   * Runs a command the proxy handles itself (or a routed command that must wait), after every
   * earlier reply has been forwarded. `run` gets the packet (a private copy when it had to wait).
   */
  runProxyCommand(p: FramedPacket, run: (p: FramedPacket) => Promise<void>): boolean {
    if (pendingReplies(this) > 0 || this.op) {
      this.busy = true;
      const packet = copyPacket(p);
      this.deferred = { packet, run };
      this.socket.pause();
      return true;
    }
    this.busy = true;
    this.socket.pause();
    // A copy: `run` may use the packet after awaiting, when the read buffer holds newer bytes.
    run(this.reads ? copyPacket(p) : p)
      .catch((err: unknown) => this.internalError(err))
      .finally(() => {
        this.busy = false;
        if (!this.closed) this.drainBacklog();
      });
    return true;
  }

  /** Called for KILL from another session: stops the running statement or ends this session. */
  killedBy(query: boolean, killBackendThread: (server: string, threadId: number, query: boolean) => Promise<void>): Promise<void> {
    return killedBy(this, query, killBackendThread);
  }

  // ---- output and teardown --------------------------------------------------------------------

  replySeq(): number {
    return (this.lastCmdSeq + 1) & 0xff;
  }

  sendPacket(payload: Buffer, seq: number): void {
    if (!this.closed) this.socket.write(framePacket(payload, seq).bytes);
  }

  /** Sends an ERR packet and closes the session. */
  fail(spec: ErrorSpec, message: string, seq: number): void {
    if (this.closed) return;
    if (!this.socket.destroyed && this.socket.writable) this.socket.end(framePacket(encodeErr(spec, message), seq).bytes);
    this.close();
  }

  internalError(err: unknown): void {
    const message = err instanceof ProtocolError ? err.message : (err as Error)?.stack ?? String(err);
    this.ctx.log.error({ session: this.id, err: message }, 'session failed');
    this.fail(Er.HANDSHAKE, 'Internal proxy error', 1);
  }

  private logged = new Set<string>();

  /** Each kind of bad event is logged once per session so a misbehaving client cannot flood the log. */
  logOnce(msg: string, fields: Record<string, unknown>): void {
    if (this.logged.has(msg)) return;
    this.logged.add(msg);
    this.ctx.log.warn({ session: this.id, client: this.clientAddress, user: this.user || undefined, ...fields }, msg);
  }

  armIdleTimer(): void {
    const ms = this.ctx.settings.idleTimeoutMs;
    if (ms <= 0) return;
    this.idleTimer = setTimeout(() => {
      if (pendingReplies(this) > 0 || this.busy) {
        this.idleTimer?.refresh();
        return;
      }
      this.ctx.log.info({ session: this.id, user: this.user, idleTimeoutMs: ms }, 'closing idle session');
      for (const l of this.links.values()) l.conn.quit();
      this.close();
    }, ms);
  }

  close(): void {
    if (this.phase === Phase.Closed) return;
    this.phase = Phase.Closed;
    for (const t of [this.handshakeTimer, this.idleTimer, this.partialTimer]) if (t) clearTimeout(t);
    this.waiter = null;
    this.backlog = [];
    this.deferred = null;
    if (!this.socket.destroyed) {
      // end() lets a final ERR packet reach the client; destroy if it does not drain soon.
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    }
    for (const l of this.links.values()) {
      if (l.conn.isClosed) continue;
      if (l.pending > 0) l.conn.destroy();
      else l.conn.quit();
    }
    this.op = null;
    this.routerSession?.close();
    for (const f of this.filterSessions) f.close();
    this.filterSessions = [];
    this.replyFilters = [];
    this.hooks.onClose(this);
  }
}

export { EMPTY };
