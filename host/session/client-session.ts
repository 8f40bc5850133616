import type net from 'node:net';
import { Cap, Com, NATIVE_PASSWORD, PROXY_CAPS, PROXY_MARIA_CAPS, Status } from '../protocol/constants.js';
import { decodeChangeUser } from '../protocol/change-user.js';
import { Er, type ErrorSpec } from '../protocol/errors.js';
import { PacketFramer, type FramedPacket, type FrameError } from '../protocol/framer.js';
import { decodeHandshakeResponse, encodeAuthSwitch, encodeHandshakeV10, isSslRequest, type HandshakeResponse } from '../protocol/handshake.js';
import { mayBeKill, parseKill } from '../protocol/kill.js';
import { newScramble } from '../protocol/native-password.js';
import { encodeErr, encodeOk } from '../protocol/ok-err.js';
import { ProtocolError } from '../protocol/reader.js';
import { ReplyTracker, type ReplyEnd, type ReplyListener } from '../protocol/reply-tracker.js';
import { framePacket, framePacketParts } from '../protocol/writer.js';
import { verifyNativePassword } from './authenticator.js';
import { BackendConnection, BackendRefused, type BackendLogin } from './backend-connection.js';
import { replyKindOf } from './command-kind.js';
import { FilterAction, type FilterSession, type ReplyInfo } from './filter.js';
import type { RouterSession, SessionView } from './router.js';
import type { ServiceContext } from './service-context.js';

const enum Phase {
  Handshake,
  Authenticating,
  Command,
  Closed,
}

const EMPTY = Buffer.alloc(0);
const ROUTER_REFUSED = { code: 1105, sqlState: 'HY000' } as const;
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
export class ClientSession implements SessionView, ReplyListener {
  user = '';
  database: string | null = null;
  readonly clientAddress: string;
  readonly service: string;

  private phase = Phase.Handshake;
  private readonly framer: PacketFramer;
  private readonly scramble = newScramble();
  private clientCaps = 0;
  private stage1: Buffer | null = null;
  private backend: BackendConnection | null = null;
  private routerSession: RouterSession | null = null;
  private filterSessions: FilterSession[] = [];
  /** Filters that watch replies, in reply order (the reverse of the chain); empty: no reply hooks. */
  private replyFilters: FilterSession[] = [];
  private readonly replyInfo: ReplyInfo = { ok: true, errorCode: 0, server: '', affectedRows: 0, rows: 0 };
  private readonly tracker = new ReplyTracker(this);
  private infile = false;
  private busy = false;
  private backlog: FramedPacket[] = [];
  private waiter: ((p: FramedPacket) => void) | null = null;
  private lastCmdSeq = 0;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private partialTimer: NodeJS.Timeout | null = null;
  private clientPausedForBackend = false;
  private backendPausedForClient = false;

  constructor(
    readonly id: number,
    private readonly socket: net.Socket,
    private readonly ctx: ServiceContext,
    private readonly hooks: SessionHooks,
    handshakeTimeoutMs: number,
  ) {
    this.service = ctx.name;
    this.clientAddress = socket.remoteAddress ?? 'unknown';
    this.framer = new PacketFramer(MAX_HANDSHAKE_PACKET);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onClientData(chunk));
    socket.on('error', (err) => this.ctx.log.debug({ session: this.id, err: err.message }, 'client socket error'));
    socket.on('close', () => this.close());
    socket.on('drain', () => {
      if (this.backendPausedForClient) {
        this.backendPausedForClient = false;
        this.backend?.socket.resume();
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

  private advertised = 0;
  private readonly onPacketBound = (p: FramedPacket): boolean => this.onPacket(p);
  private readonly statement: { command: number; payload: Buffer } = { command: 0, payload: EMPTY };
  private firstSeq = -1;

  // ---- input ---------------------------------------------------------------------------------

  private onClientData(chunk: Buffer): void {
    if (this.phase === Phase.Closed) return;
    if (this.phase === Phase.Command && this.idleTimer) this.idleTimer.refresh();
    // Sequence id of the client's first header: garbage (e.g. "GET ") is refused as MariaDB does.
    if (this.phase === Phase.Handshake && this.firstSeq < 0 && !this.framer.hasPartial && chunk.length >= 4) this.firstSeq = chunk[3]!;
    const err = this.framer.push(chunk, this.onPacketBound);
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
      void this.authenticate(copyPacket(p)).catch((err: unknown) => this.internalError(err));
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

  private drainBacklog(): void {
    while (this.backlog.length > 0 && !this.busy && this.phase === Phase.Command) {
      if (!this.onCommand(this.backlog.shift()!)) break;
    }
    if (this.backlog.length === 0 && !this.busy && this.phase === Phase.Command && !this.clientPausedForBackend) {
      this.socket.resume();
    }
  }

  // ---- authentication --------------------------------------------------------------------------

  private nextClientPacket(errSeq: number): Promise<FramedPacket> {
    return new Promise((resolve) => {
      // A client that never answers an auth switch (COM_CHANGE_USER has no handshake timer, and
      // the idle timer skips busy sessions) must not hold the session and its backend forever.
      const timer = setTimeout(() => {
        if (this.closed) return;
        this.logOnce('client did not answer the authentication switch', { timeoutMs: this.ctx.settings.netReadTimeoutMs });
        this.fail(Er.NET_READ_INTERRUPTED, 'Got timeout reading communication packets', errSeq);
      }, this.ctx.settings.netReadTimeoutMs);
      this.waiter = (p) => {
        clearTimeout(timer);
        resolve(p);
      };
    });
  }

  private async authenticate(first: FramedPacket): Promise<void> {
    if (first.seq !== 1) {
      this.logOnce('handshake response with wrong sequence id', { seq: first.seq });
      // Same answer as MariaDB: packets out of order, not "Bad handshake".
      return this.fail(Er.NET_PACKETS_OUT_OF_ORDER, 'Got packets out of order', 1);
    }
    if (isSslRequest(first.payload)) {
      this.logOnce('client requested TLS, which this listener does not offer', {});
      return this.fail(Er.HANDSHAKE, 'Bad handshake: TLS is not enabled on this listener', 2);
    }
    let hs: HandshakeResponse;
    try {
      hs = decodeHandshakeResponse(first.payload);
    } catch (err) {
      this.logOnce('malformed handshake response', { reason: (err as Error).message });
      return this.fail(Er.HANDSHAKE, 'Bad handshake', 2);
    }
    this.clientCaps = hs.capabilities & this.advertised;
    this.user = hs.user;
    let seq = first.seq + 1;
    let token = hs.authResponse;
    if (hs.authPlugin !== null && hs.authPlugin !== NATIVE_PASSWORD) {
      // Ask the client to use mysql_native_password (e.g. a MySQL 8 client starting with caching_sha2).
      this.socket.write(framePacket(encodeAuthSwitch(NATIVE_PASSWORD, this.scramble), seq).bytes);
      const reply = await this.nextClientPacket(seq + 2);
      if (this.closed) return;
      token = reply.payload;
      seq = reply.seq + 1;
    }
    const verdict = await verifyNativePassword(this.ctx.accounts, hs.user, this.clientAddress, token, this.scramble);
    if (this.closed) return;
    if (!verdict.ok) {
      this.logOnce('authentication failed', { user: hs.user, reason: verdict.reason });
      return this.fail(verdict.error, verdict.message, seq);
    }
    this.stage1 = verdict.stage1;
    this.database = hs.database;
    const login: BackendLogin = {
      user: hs.user,
      stage1: verdict.stage1,
      database: hs.database,
      capabilities: this.clientCaps & PROXY_CAPS,
      mariaCapabilities: hs.mariaCapabilities & PROXY_MARIA_CAPS,
      charset: hs.charset,
      maxPacket: hs.maxPacket,
      attributes: hs.attributes,
    };
    const connected = await this.connectFirstBackend(login, seq);
    if (!connected || this.closed) return;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.socket.write(framePacket(encodeOk({ status: this.backend!.status }), seq).bytes);
    this.phase = Phase.Command;
    this.framer.maxPayload = this.ctx.settings.maxAllowedPacket;
    this.armIdleTimer();
    this.drainBacklog();
  }

  private async connectFirstBackend(login: BackendLogin, seq: number): Promise<boolean> {
    const servers = this.ctx.servers();
    this.routerSession = this.ctx.router.newSession(this, servers);
    const refusal = this.routerSession.refusal;
    if (refusal) {
      this.logOnce('router refused the session', { reason: refusal });
      this.fail(Er.NO_BACKEND, refusal, seq);
      return false;
    }
    this.filterSessions = this.ctx.filters.map((f) => f.newSession(this));
    this.replyFilters = this.filterSessions.filter((f) => f.wantsReplies).reverse();
    const errors: string[] = [];
    for (const name of this.routerSession.initialServers()) {
      const server = servers.find((s) => s.name === name);
      if (!server) continue;
      try {
        const be = await BackendConnection.connect(server, login, this.ctx.settings.connectTimeoutMs);
        if (this.closed) {
          be.destroy();
          return false;
        }
        this.attachBackend(be);
        this.routerSession.connected(name);
        return true;
      } catch (err) {
        if (this.closed) return false;
        if (err instanceof BackendRefused) {
          // The server's own verdict (unknown database, no grant on it...): relay it verbatim.
          this.logOnce('backend refused the login', { server: name, reason: err.message });
          this.socket.end(framePacket(err.payload, seq).bytes);
          this.close();
          return false;
        }
        errors.push((err as Error).message);
      }
    }
    this.logOnce('no backend reachable', { errors });
    this.fail(Er.NO_BACKEND, `Could not connect to any server of service '${this.service}': ${errors.join('; ')}`, seq);
    return false;
  }

  private attachBackend(be: BackendConnection): void {
    this.backend = be;
    this.tracker.deprecateEof = (be.capabilities & Cap.DEPRECATE_EOF) !== 0;
    be.onData = (chunk) => {
      this.tracker.feed(chunk);
      if (!this.socket.write(chunk) && !this.backendPausedForClient) {
        this.backendPausedForClient = true;
        be.socket.pause();
      }
    };
    be.socket.on('drain', () => {
      if (this.clientPausedForBackend) {
        this.clientPausedForBackend = false;
        if (!this.busy) this.socket.resume();
      }
    });
    be.onClose = (_hadError, err) => this.onBackendClose(be, err);
  }

  private onBackendClose(be: BackendConnection, err: Error | undefined): void {
    if (this.closed || be !== this.backend) return;
    const pending = this.tracker.pending;
    this.logOnce('backend connection lost', { server: be.server.name, pending, reason: err?.message, midPacket: this.tracker.midPacket || undefined });
    // Cut in the middle of a packet, an ERR would be glued into that packet (a row, say) and the
    // client would misread it: only closing is clean then.
    if (pending > 0 && this.tracker.midPacket) {
      this.close();
    } else if (pending > 0) {
      const seq = this.tracker.midReply ? (this.tracker.lastSeq + 1) & 0xff : this.replySeq();
      this.fail(Er.LOST_CONNECTION, `Lost connection to backend server '${be.server.name}' during query`, seq);
    } else {
      // An idle session the server reset (MariaDB's wait_timeout does): reset the client too, so
      // it sees ECONNRESET as it does directly, not a clean end (mysql2: PROTOCOL_CONNECTION_LOST).
      if ((err as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET' && !this.socket.destroyed) this.socket.resetAndDestroy();
      this.close();
    }
  }

  // ---- commands --------------------------------------------------------------------------------

  private onCommand(p: FramedPacket): boolean {
    if (this.infile) {
      // LOAD DATA LOCAL INFILE: the file's packets go to the server until the empty one.
      this.writeToBackend(p);
      if (p.payload.length === 0) this.infile = false;
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
        this.backend?.quit();
        this.close();
        return false;
      case Com.CHANGE_USER:
        return this.runProxyCommand(p, () => this.changeUser(copyPacket(p)));
      case Com.PROCESS_KILL: {
        // MariaDB reads the 4-byte id whatever the length (zeros past the end) and answers 1094
        // for an unknown id; a short packet must not become 1047 here.
        const idBytes = Buffer.alloc(4);
        p.payload.copy(idBytes, 0, 1, 5);
        const killId = idBytes.readUInt32LE(0);
        return this.runProxyCommand(p, () => this.kill(killId, false));
      }
      case Com.QUERY:
        if (mayBeKill(p.payload)) {
          const k = parseKill(p.payload.toString('utf8', 1));
          if (k) return this.runProxyCommand(p, () => this.kill(k.id, k.query));
        }
        break;
    }
    const kind = replyKindOf(cmd);
    if (kind === undefined) {
      this.sendPacket(encodeErr(Er.UNKNOWN_COM, 'Unknown command'), 1);
      return true;
    }
    // One reused Statement per session: routing every statement must not allocate.
    const stmt = this.statement;
    stmt.command = cmd;
    stmt.payload = p.payload;
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
    if (decision.kind === 'error' || !this.backend) {
      // A router refusing the statement is ER_UNKNOWN_ERROR (sdk/ABI.md RouteDecision); no backend at all is NO_BACKEND.
      this.sendPacket(decision.kind === 'error' ? encodeErr(ROUTER_REFUSED, decision.message) : encodeErr(Er.NO_BACKEND, 'no backend'), 1);
      return true;
    }
    this.lastCmdSeq = p.lastSeq;
    if (kind !== null) this.tracker.expect(kind);
    this.writeToBackend(p);
    return true;
  }

  /**
   * Passes the statement through the filters in order. A rewrite replaces stmt.payload (later
   * filters and the router see the new SQL); a block answers the client with the filter's ERR
   * (nothing, for a command that has no reply) and returns true.
   */
  private runFilters(stmt: { command: number; payload: Buffer }, lastSeq: number, hasReply: boolean): boolean {
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

  private writeToBackend(p: FramedPacket): void {
    const be = this.backend;
    if (!be) return;
    let ok: boolean;
    if (p.raw) ok = be.write(p.raw);
    else {
      const { parts } = framePacketParts(p.payload, p.seq);
      be.socket.cork();
      ok = true;
      for (const part of parts) ok = be.write(part) && ok;
      be.socket.uncork();
    }
    if (!ok && !this.clientPausedForBackend) {
      this.clientPausedForBackend = true;
      this.socket.pause();
    }
  }

  /** Runs a command the proxy answers itself, after every earlier reply has been forwarded. */
  private runProxyCommand(p: FramedPacket, run: () => Promise<void>): boolean {
    if (this.tracker.pending > 0) {
      this.busy = true;
      this.deferred = { packet: copyPacket(p), run };
      this.socket.pause();
      return true;
    }
    this.busy = true;
    this.socket.pause();
    run()
      .catch((err: unknown) => this.internalError(err))
      .finally(() => {
        this.busy = false;
        if (!this.closed) this.drainBacklog();
      });
    return true;
  }

  private deferred: { packet: FramedPacket; run: () => Promise<void> } | null = null;

  onReplyEnd(end: ReplyEnd): void {
    if (this.replyFilters.length > 0) {
      const info = this.replyInfo;
      info.ok = !end.error;
      info.errorCode = end.errorCode;
      info.server = this.backend?.server.name ?? '';
      info.affectedRows = end.affectedRows;
      info.rows = end.rows;
      for (const f of this.replyFilters) f.reply(info);
    }
    if (this.tracker.pending === 0 && this.deferred) {
      const d = this.deferred;
      this.deferred = null;
      // We are inside tracker.feed(), before the chunk that ends the reply is written to the
      // client: run the proxy's own command after that write, or its answer (e.g. KILL QUERY of
      // itself, pipelined) overtakes the tail of the previous reply. busy stays set meanwhile.
      queueMicrotask(() => {
        if (this.closed) return;
        this.busy = false;
        this.runProxyCommand(d.packet, d.run);
      });
    }
  }

  onLocalInfile(): void {
    this.infile = true;
  }

  onUnexpected(firstByte: number): void {
    // The server speaks unasked only to say it is closing (e.g. wait_timeout); the client gets it.
    this.ctx.log.debug({ session: this.id, firstByte }, 'unsolicited packet from backend');
  }

  private async kill(id: number, query: boolean): Promise<void> {
    if (id === this.id && !query) {
      this.backend?.quit();
      return this.fail(Er.CONNECTION_KILLED, 'Connection was killed', 1);
    }
    if (id === this.id) {
      // KILL QUERY of one's own id interrupts the KILL statement itself: MariaDB answers 1317.
      return this.sendPacket(encodeErr(Er.QUERY_INTERRUPTED, 'Query execution was interrupted'), 1);
    }
    const found = await this.ctx.kill(id, query);
    if (this.closed) return;
    if (found) this.sendPacket(encodeOk({ status: this.backend?.status ?? Status.AUTOCOMMIT }), 1);
    else this.sendPacket(encodeErr(Er.NO_SUCH_THREAD, `Unknown thread id: ${id}`), 1);
  }

  /** Called for KILL from another session: stops the running statement or ends this session. */
  async killedBy(query: boolean, killBackendThread: (server: string, threadId: number, query: boolean) => Promise<void>): Promise<void> {
    const be = this.backend;
    if (query) {
      if (be && this.tracker.pending > 0) await killBackendThread(be.server.name, be.threadId, true);
      return;
    }
    // Close first: a client killed directly just sees its connection end. Killing the backend
    // thread first raced with that thread's socket closing, which sent a 2013 ERR instead.
    const busy = be !== null && this.tracker.pending > 0;
    this.close();
    if (be && busy) await killBackendThread(be.server.name, be.threadId, false).catch(() => {});
  }

  private async changeUser(p: FramedPacket): Promise<void> {
    let cu;
    try {
      cu = decodeChangeUser(p.payload, this.clientCaps);
    } catch (err) {
      this.logOnce('malformed COM_CHANGE_USER', { reason: (err as Error).message });
      return this.fail(Er.HANDSHAKE, 'Bad handshake', 1);
    }
    let seq = 1;
    let token = cu.authResponse;
    let scramble = this.scramble;
    if (cu.authPlugin !== null && cu.authPlugin !== NATIVE_PASSWORD) {
      scramble = newScramble();
      this.socket.write(framePacket(encodeAuthSwitch(NATIVE_PASSWORD, scramble), seq).bytes);
      this.socket.resume();
      const reply = await this.nextClientPacket(seq + 2);
      this.socket.pause();
      if (this.closed) return;
      token = reply.payload;
      seq = reply.seq + 1;
    }
    const verdict = await verifyNativePassword(this.ctx.accounts, cu.user, this.clientAddress, token, scramble);
    if (this.closed) return;
    if (!verdict.ok) {
      this.logOnce('change user: authentication failed', { user: cu.user, reason: verdict.reason });
      // MariaDB (10.11) answers ERR and keeps the connection as the previous user; the backend
      // was not asked yet, so it still is that user too.
      return this.sendPacket(encodeErr(verdict.error, verdict.message), seq);
    }
    const be = this.backend!;
    const result = await be.changeUser(cu, verdict.stage1);
    if (this.closed) return;
    if (!result.ok) {
      // The backend refused (e.g. unknown database) and, like MariaDB to a direct client, went
      // back to the previous user: relay its ERR and go on as before.
      return this.sendPacket(result.payload, seq);
    }
    this.user = cu.user;
    this.database = cu.database;
    this.stage1 = verdict.stage1;
    be.status = result.status;
    this.sendPacket(encodeOk({ status: result.status }), seq);
  }

  // ---- output and teardown --------------------------------------------------------------------

  private replySeq(): number {
    return (this.lastCmdSeq + 1) & 0xff;
  }

  private sendPacket(payload: Buffer, seq: number): void {
    if (!this.closed) this.socket.write(framePacket(payload, seq).bytes);
  }

  /** Sends an ERR packet and closes the session. */
  private fail(spec: ErrorSpec, message: string, seq: number): void {
    if (this.closed) return;
    if (!this.socket.destroyed && this.socket.writable) this.socket.end(framePacket(encodeErr(spec, message), seq).bytes);
    this.close();
  }

  private internalError(err: unknown): void {
    const message = err instanceof ProtocolError ? err.message : (err as Error)?.stack ?? String(err);
    this.ctx.log.error({ session: this.id, err: message }, 'session failed');
    this.fail(Er.HANDSHAKE, 'Internal proxy error', 1);
  }

  private logged = new Set<string>();

  /** Each kind of bad event is logged once per session so a misbehaving client cannot flood the log. */
  private logOnce(msg: string, fields: Record<string, unknown>): void {
    if (this.logged.has(msg)) return;
    this.logged.add(msg);
    this.ctx.log.warn({ session: this.id, client: this.clientAddress, user: this.user || undefined, ...fields }, msg);
  }

  private armIdleTimer(): void {
    const ms = this.ctx.settings.idleTimeoutMs;
    if (ms <= 0) return;
    this.idleTimer = setTimeout(() => {
      if (this.tracker.pending > 0 || this.busy) {
        this.idleTimer?.refresh();
        return;
      }
      this.ctx.log.info({ session: this.id, user: this.user, idleTimeoutMs: ms }, 'closing idle session');
      this.backend?.quit();
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
    if (this.backend && !this.backend.isClosed) {
      if (this.tracker.pending > 0) this.backend.destroy();
      else this.backend.quit();
    }
    this.routerSession?.close();
    for (const f of this.filterSessions) f.close();
    this.filterSessions = [];
    this.replyFilters = [];
    this.hooks.onClose(this);
  }
}

/** A command a filter rewrote: sent as a fresh packet (split if it reaches 16 MiB). */
function rewrittenPacket(payload: Buffer): FramedPacket {
  return { seq: 0, lastSeq: Math.floor(payload.length / 0xffffff) & 0xff, payload, raw: null };
}

function copyPacket(p: FramedPacket): FramedPacket {
  return { seq: p.seq, lastSeq: p.lastSeq, payload: Buffer.from(p.payload), raw: p.raw ? Buffer.from(p.raw) : null };
}

export { EMPTY };
