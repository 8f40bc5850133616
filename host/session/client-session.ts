import type net from 'node:net';
import { classify, ClassifyResult } from '../classify/index.js';
import { Cap, Com, NATIVE_PASSWORD, PROXY_CAPS, PROXY_MARIA_CAPS, Status } from '../protocol/constants.js';
import { Er, type ErrorSpec } from '../protocol/errors.js';
import { ReadBuffer } from './read-buffer.js';
import { PacketFramer, type FramedPacket, type FrameError } from '../protocol/framer.js';
import { encodeHandshakeV10 } from '../protocol/handshake.js';
import { mayBeKill, parseKill } from '../protocol/kill.js';
import { newScramble } from '../protocol/native-password.js';
import { encodeErr } from '../protocol/ok-err.js';
import { ProtocolError } from '../protocol/reader.js';
import type { ReplyEnd, ReplyKind } from '../protocol/reply-tracker.js';
import { framePacket, framePacketParts } from '../protocol/writer.js';
import { type BackendLogin } from './backend-connection.js';
import { BackendLink, ReplyMode, type LinkOwner } from './backend-link.js';
import { replyKindOf } from './command-kind.js';
import { FilterAction, type FilterSession, type ReplyInfo } from './filter.js';
import { LAST_PREPARED, typesAt, PreparedStatements, withTypes } from './prepared-statements.js';
import type { RouteDecision, RouterSession, SessionView } from './router.js';
import { SessionHistory } from './session-history.js';
import { TrxLog } from './trx-log.js';
import { SessionGtid } from './gtid-tracking.js';
import { copyPacket, rewrittenPacket } from './session-packets.js';
import { afterForwardedReply } from './reply-bookkeeping.js';
import { kill, killedBy } from './session-kill.js';
import { authenticate, changeUser } from './session-auth.js';
import { mergeFromAll, prepareEverywhere, sessionCommand, statementToAll } from './fan-out.js';
import { causalTarget, needsCausalWait } from './causal-read-routing.js';
import { heldError, holdsError, recordForReplay } from './trx-replay.js';
import { connectLink, onlyForwarding, openLink, otherPending, pendingReplies } from './session-links.js';
import { CLASSIFIED_READ, CLASSIFIED_SESSION_WRITE, EMPTY, HISTORY_LIMIT, Phase, RETRY_STEP_MS, ROUTER_REFUSED, TEE_LIMIT, type DeferredCommand, type MutableStatement, type RetryableRead, type SessionCore } from './session-core.js';
import { type MultiOp } from './multi-op.js';
import type { ServiceContext } from './service-context.js';

// Handshake responses are small; a huge "length" is garbage (an HTTP request, a port scan).
const MAX_HANDSHAKE_PACKET = 64 * 1024;

export interface SessionHooks {
  onClose(session: ClientSession): void;
}

const TRX_ACTIVE = 1;
const TRX_READ_ONLY = 2;
const TRX_AUTOCOMMIT = 4;
/** Bits 0-2 are known (the host tracks them): without it, trx = 0 would read as "unknown". */
const TRX_TRACKED = 8;

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
  teeBytes = 0;
  teeBinary = false;
  readonly classified = new ClassifyResult();
  readonly replyInfo: ReplyInfo = { ok: true, errorCode: 0, server: '', affectedRows: 0, rows: 0 };
  infile = false;
  busy = false;
  private backlog: FramedPacket[] = [];
  waiter: ((p: FramedPacket) => void) | null = null;
  lastCmdSeq = 0;
  handshakeTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private partialTimer: NodeJS.Timeout | null = null;
  clientPausedForBackend = false;
  backendPausedForClient = false;

  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    readonly ctx: ServiceContext,
    private readonly hooks: SessionHooks,
    handshakeTimeoutMs: number,
    /** Set when the socket reads into a reused buffer (onread): chunks are then only borrowed. */
    readonly reads: ReadBuffer | null = null,
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

  advertised = 0;
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
    // The framer holds views of chunks while a packet is incomplete.
    if (this.framer.hasPartial) this.reads?.keep();
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
    return this.onCommand(p);
  }

  drainBacklog(): void {
    while (this.backlog.length > 0 && !this.busy && this.phase === Phase.Command) {
      if (!this.onCommand(this.backlog.shift()!)) break;
    }
    if (this.backlog.length === 0 && !this.busy && this.phase === Phase.Command && !this.clientPausedForBackend) {
      this.socket.resume();
    }
  }

  // ---- authentication --------------------------------------------------------------------------

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

  infileLink: BackendLink | null = null;

  linkUnexpected(link: BackendLink, firstByte: number): void {
    // The server speaks unasked only to say it is closing (e.g. wait_timeout); the client gets it.
    this.ctx.log.debug({ session: this.id, server: link.name, firstByte }, 'unsolicited packet from backend');
  }

  linkSessionState(link: BackendLink, ok: Buffer | null): void {
    this.gtid.okState(link, ok);
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

  // ---- commands --------------------------------------------------------------------------------

  private onCommand(p: FramedPacket): boolean {
    if (this.failureForNext !== null) {
      this.fail(Er.LOST_CONNECTION, this.failureForNext, (p.lastSeq + 1) & 0xff);
      return false;
    }
    if (this.infile) {
      // LOAD DATA LOCAL INFILE: the file's packets go to the server until the empty one.
      if (this.infileLink) this.writeTo(this.infileLink, p);
      if (p.payload.length === 0) {
        this.infile = false;
        this.infileLink = null;
      }
      return true;
    }
    if (p.seq !== 0) {
      this.logOnce('command with a non-zero sequence id', { seq: p.seq });
      this.fail(Er.NET_PACKETS_OUT_OF_ORDER, 'Got packets out of order', (p.seq + 1) & 0xff);
      return false;
    }
    if (p.payload.length === 0) {
      this.sendPacket(encodeErr(Er.UNKNOWN_COM, 'Unknown command'), 1);
      return true;
    }
    const cmd = p.payload[0]!;
    switch (cmd) {
      case Com.QUIT:
        for (const l of this.links.values()) l.conn.quit();
        this.close();
        return false;
      case Com.CHANGE_USER:
        return this.runProxyCommand(p, (pk) => changeUser(this, copyPacket(pk)));
      case Com.PROCESS_KILL: {
        // MariaDB reads the 4-byte id whatever the length (zeros past the end) and answers 1094
        // for an unknown id; a short packet must not become 1047 here.
        const idBytes = Buffer.alloc(4);
        p.payload.copy(idBytes, 0, 1, 5);
        const killId = idBytes.readUInt32LE(0);
        return this.runProxyCommand(p, () => kill(this, killId, false));
      }
      case Com.QUERY:
        if (mayBeKill(p.payload)) {
          const k = parseKill(p.payload.toString('utf8', 1));
          if (k) return this.runProxyCommand(p, () => kill(this, k.id, k.query));
        }
        break;
    }
    const kind = replyKindOf(cmd);
    if (kind === undefined) {
      this.sendPacket(encodeErr(Er.UNKNOWN_COM, 'Unknown command'), 1);
      return true;
    }
    if (cmd === Com.STMT_CLOSE || cmd === Com.STMT_SEND_LONG_DATA) {
      // No reply: the command goes to every connection that has the statement, id rewritten.
      // A client may pipeline them behind a reply, so keep the order behind pending replies.
      if (this.op || !onlyForwarding(this)) return this.runProxyCommand(p, (pk) => Promise.resolve(statementToAll(this, pk)));
      statementToAll(this, p);
      return true;
    }
    // One reused Statement per session: routing every statement must not allocate.
    const stmt = this.statement;
    stmt.command = cmd;
    stmt.payload = p.payload;
    stmt.trx = this.trxBits();
    stmt.kind = 0;
    stmt.flags = 0;
    stmt.digestLo = 0;
    stmt.digestHi = 0;
    stmt.hint = 0;
    stmt.hintServer = '';
    if ((cmd === Com.QUERY || cmd === Com.STMT_PREPARE) && (this.ctx.classifies || this.ctx.settings.trxReplay !== null)) {
      const c = classify(p.payload, 1, p.payload.length, this.classified);
      stmt.kind = c.kind;
      stmt.flags = c.flags;
      stmt.digestLo = c.digestLo;
      stmt.digestHi = c.digestHi;
      stmt.hint = c.hint;
      // Only a `route to server NAME` hint sets hintStart/hintEnd; no string otherwise.
      if (c.hintEnd > c.hintStart) stmt.hintServer = p.payload.toString('utf8', c.hintStart, c.hintEnd);
    }
    if ((cmd === Com.STMT_EXECUTE || cmd === Com.STMT_BULK_EXECUTE) && p.payload.length >= 5) {
      const ps = this.stmts.get(p.payload.readUInt32LE(1));
      if (ps) {
        stmt.kind = ps.kind;
        stmt.flags = ps.flags;
      }
    }
    if (this.filterSessions.length > 0) {
      const blocked = this.runFilters(stmt, p.lastSeq, kind !== null);
      if (blocked) {
        stmt.payload = EMPTY;
        return true;
      }
      if (stmt.payload !== p.payload) p = rewrittenPacket(stmt.payload);
    }
    const decision = this.routerSession!.route(stmt);
    stmt.payload = EMPTY;
    if (decision.kind === 'error') {
      if (this.ctx.settings.delayedRetryMs > 0) return this.runProxyCommand(p, (pk) => this.retryRouting(pk, cmd, kind, decision.message));
      // A router refusing the statement is ER_UNKNOWN_ERROR (sdk/ABI.md RouteDecision).
      this.sendPacket(encodeErr(ROUTER_REFUSED, decision.message), (p.lastSeq + 1) & 0xff);
      return true;
    }
    return this.dispatch(p, cmd, kind, decision);
  }

  /**
   * delayed_retry: the router found no server for the statement (no primary during a failover,
   * say); ask it again every RETRY_STEP_MS until it finds one or delayed_retry_timeout passes.
   */
  private async retryRouting(p: FramedPacket, cmd: number, kind: ReplyKind | null, firstError: string): Promise<void> {
    // One deadline per statement, even when the retry itself fails to connect and comes back here.
    this.retryDeadline ??= Date.now() + this.ctx.settings.delayedRetryMs;
    const deadline = this.retryDeadline;
    let message = firstError;
    while (Date.now() < deadline && !this.closed) {
      await new Promise((r) => setTimeout(r, RETRY_STEP_MS));
      if (this.closed) return;
      const stmt = this.statement;
      stmt.payload = p.payload;
      stmt.trx = this.trxBits();
      const decision = this.routerSession!.route(stmt);
      stmt.payload = EMPTY;
      if (decision.kind !== 'error') {
        const server = decision.kind === 'server' ? decision.server : null;
        if (server !== null && !this.links.has(server)) {
          try {
            await connectLink(this, server);
          } catch (err) {
            message = (err as Error).message;
            continue;
          }
          if (this.closed) return;
        }
        this.retryDeadline = null;
        this.ctx.log.info({ session: this.id, waitedMs: this.ctx.settings.delayedRetryMs - (deadline - Date.now()) }, 'delayed retry: the statement found a server');
        this.dispatch(p, cmd, kind, decision);
        return;
      }
      message = decision.message;
    }
    this.retryDeadline = null;
    this.sendPacket(encodeErr(ROUTER_REFUSED, message), (p.lastSeq + 1) & 0xff);
  }

  retryDeadline: number | null = null;

  private trxBits(): number {
    const st = this.serverStatus;
    return TRX_TRACKED | (st & Status.IN_TRANS ? TRX_ACTIVE : 0) | (st & Status.IN_TRANS_READONLY ? TRX_READ_ONLY : 0) | (st & Status.AUTOCOMMIT ? TRX_AUTOCOMMIT : 0);
  }

  /**
   * Sends a routed command. The fast path — the target connection is open and no other connection
   * has replies pending — writes it at once (pipelining stays possible); everything else (a
   * connection to open, a session command for every connection, a prepare, replies pending
   * elsewhere, whose order must be kept) runs as a proxy command after earlier replies.
   */
  private dispatch(p: FramedPacket, cmd: number, kind: ReplyKind | null, decision: RouteDecision): boolean {
    const sessionWide = cmd === Com.INIT_DB || cmd === Com.SET_OPTION || cmd === Com.RESET_CONNECTION || cmd === Com.STMT_RESET;
    if (cmd === Com.STMT_PREPARE) {
      const answering = decision.kind === 'server' ? decision.server : this.main?.name ?? this.mainName ?? '';
      const kindOf = this.statement.kind;
      const flags = this.statement.flags;
      return this.runProxyCommand(p, (pk) => prepareEverywhere(this, pk, answering, kindOf, flags));
    }
    if (decision.kind === 'merge') return this.runProxyCommand(p, (pk) => mergeFromAll(this, pk));
    // A statement that only changes session state (the classifier's kind 3: SET, USE, ...) runs
    // on every connection and goes into the history, whatever connection the router named: a
    // connection opened later (lazy connect, transaction replay) must be in the same state.
    // Unless the router said "this server only" for USE / COM_INIT_DB / SET (schemarouter: the
    // database exists on one shard; the other shards keep theirs).
    const only = decision.kind === 'server' && decision.only === true && (cmd === Com.INIT_DB || cmd === Com.QUERY);
    if (!only && (decision.kind === 'all' || sessionWide || this.statement.kind === CLASSIFIED_SESSION_WRITE)) {
      return this.runProxyCommand(p, (pk) => sessionCommand(this, pk, kind!));
    }
    let target = decision.kind === 'server' ? decision.server : '';
    if (cmd === Com.STMT_FETCH && p.payload.length >= 5) {
      // Rows of a cursor come from where it was opened.
      target = this.stmts.get(p.payload.readUInt32LE(1))?.lastServer ?? target;
    }
    if (cmd === Com.STMT_EXECUTE && this.ctx.discoversDatabases === true && p.payload.length >= 5) {
      // Shards hold different tables: a statement runs where it was prepared unless the router's server has it too.
      const ps = this.stmts.get(p.payload.readUInt32LE(1));
      if (ps?.lastServer && !this.links.get(target)?.statements.has(ps.clientId)) target = ps.lastServer;
    }
    const link = this.links.get(target);
    if (needsCausalWait(this, target, cmd)) {
      return this.runProxyCommand(p, async (pk) => {
        const where = await causalTarget(this, target);
        const l = this.links.get(where) ?? (await openLink(this, where));
        if (l && !this.closed) this.sendTo(l, pk, kind);
      });
    }
    if (link && !this.op && onlyForwarding(this) && !otherPending(this, link)) {
      return this.sendTo(link, p, kind);
    }
    return this.runProxyCommand(p, async (pk) => {
      let l = this.links.get(target) ?? null;
      if (!l && this.ctx.settings.delayedRetryMs > 0) {
        // delayed_retry covers a server that cannot be reached too: route again until one is.
        try {
          l = await connectLink(this, target);
        } catch (err) {
          if (this.closed) return;
          return this.retryRouting(pk, cmd, kind, (err as Error).message);
        }
      }
      l ??= await openLink(this, target);
      if (l && !this.closed) this.sendTo(l, pk, kind);
    });
  }

  /** Writes a command to one connection, its reply to be forwarded. */
  sendTo(link: BackendLink, p: FramedPacket, kind: ReplyKind | null): boolean {
    const cmd = p.payload[0];
    if (link !== this.main && kind !== null && this.statement.kind === CLASSIFIED_READ && !(this.serverStatus & Status.IN_TRANS) && link.pending === 0) {
      // A read that may be sent again elsewhere if this connection dies before answering.
      const r = this.retry;
      r.link = link;
      // A copy: the packet may be a view of the socket's reused read buffer.
      r.payload = Buffer.from(p.payload);
      r.clientStmtId = p.payload.length >= 5 && cmd !== Com.QUERY ? p.payload.readUInt32LE(1) : 0;
      r.kind = kind;
      r.seq = p.lastSeq;
    }
    if (this.ctx.settings.trxReplay !== null) recordForReplay(this, link, p.payload, kind);
    if (this.ctx.settings.causalReads !== 'none' && this.statement.kind !== CLASSIFIED_READ && link.server.role === 'primary') this.gtid.wrote();
    if (cmd === Com.STMT_EXECUTE || cmd === Com.STMT_FETCH || cmd === Com.STMT_BULK_EXECUTE) {
      const mapped = this.mapStatement(link, p);
      if (mapped === null) return true;
      p = mapped;
    }
    this.lastCmdSeq = p.lastSeq;
    if (kind !== null) {
      if (this.resultFilters.length > 0 && kind === 1 /* ReplyKind.Result */ && link.pending === 0 && this.teeLink === null) {
        this.teeLink = link;
        this.teeBinary = cmd === Com.STMT_EXECUTE;
      }
      link.expect(kind, ReplyMode.Forward);
      this.routerSession?.opStarted?.(link.name);
      // Response time of a lone statement (pipelined ones would measure queueing too).
      link.sentAt = link.pending === 1 ? performance.now() : 0;
    }
    this.writeTo(link, p);
    return true;
  }

  /**
   * The command with the client's statement id replaced by the connection's (in place: the
   * payload is ours), parameter types added if this connection never got them; null (ERR sent)
   * for an unknown statement.
   */
  private mapStatement(link: BackendLink, p: FramedPacket): FramedPacket | null {
    if (p.payload.length < 5) return p;
    const clientId = p.payload.readUInt32LE(1);
    const ps = this.stmts.get(clientId);
    const backendId = ps ? link.statements.get(ps.clientId) : undefined;
    if (!ps || backendId === undefined) {
      this.sendPacket(encodeErr(Er.UNKNOWN_STMT_HANDLER, `Unknown prepared statement handler (${clientId === LAST_PREPARED ? -1 : clientId}) given to mysqld_stmt_execute`), (p.lastSeq + 1) & 0xff);
      return null;
    }
    p.payload.writeUInt32LE(backendId, 1);
    if (p.payload[0] !== Com.STMT_EXECUTE) return p;
    ps.lastServer = link.name;
    const at = typesAt(p.payload, ps.params);
    if (at > 0) {
      // Kept for connections that never saw them; copied only when they change (compared in
      // place: an execute allocates nothing here).
      const end = at + 2 * ps.params;
      if (ps.types === null || ps.types.compare(p.payload, at, end) !== 0) ps.types = Buffer.from(p.payload.subarray(at, end));
      if (this.links.size > 1) link.typed.add(ps.clientId);
    } else if (ps.params > 0 && ps.types && !link.typed.has(ps.clientId)) {
      link.typed.add(ps.clientId);
      return rewrittenPacket(withTypes(p.payload, ps.params, ps.types));
    }
    return p;
  }

  /**
   * Passes the statement through the filters in order. A rewrite replaces stmt.payload (later
   * filters and the router see the new SQL); a block answers the client with the filter's ERR
   * (nothing, for a command that has no reply) and returns true.
   */
  private runFilters(stmt: MutableStatement, lastSeq: number, hasReply: boolean): boolean {
    for (const f of this.filterSessions) {
      const v = f.statement(stmt);
      if (v === null) continue;
      if (v.action === FilterAction.Block) {
        if (hasReply) this.sendPacket(encodeErr({ code: v.errorCode, sqlState: v.sqlState }, v.text), (lastSeq + 1) & 0xff);
        return true;
      }
      if (v.action === FilterAction.Rewrite) {
        const text = Buffer.from(v.text, 'utf8');
        const payload = Buffer.allocUnsafe(1 + text.length);
        payload[0] = stmt.command;
        text.copy(payload, 1);
        stmt.payload = payload;
      }
    }
    return false;
  }

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

  deferred: DeferredCommand | null = null;

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
