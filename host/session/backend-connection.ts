import net from 'node:net';
import { Cap, MariaCap, NATIVE_PASSWORD } from '../protocol/constants.js';
import { encodeChangeUser, type ChangeUser } from '../protocol/change-user.js';
import { PacketFramer, type FramedPacket } from '../protocol/framer.js';
import { decodeAuthSwitch, decodeHandshakeV10, encodeHandshakeResponse, type HandshakeV10 } from '../protocol/handshake.js';
import { tokenFromStage1 } from '../protocol/native-password.js';
import { decodeErr, decodeOk } from '../protocol/ok-err.js';
import { framePacket } from '../protocol/writer.js';
import { ReadBuffer } from './read-buffer.js';

export interface ServerAddress {
  name: string;
  address: string;
  port: number;
}

/** Who the proxy logs in as on a backend: the client, using what its scramble exchange yielded. */
export interface BackendLogin {
  user: string;
  /** SHA1(password) recovered from the client's token; null for an account without password. */
  stage1: Buffer | null;
  database: string | null;
  capabilities: number;
  mariaCapabilities: number;
  charset: number;
  maxPacket: number;
  attributes: Buffer | null;
}

/** The backend refused the login; `payload` is its ERR packet, to be relayed to the client. */
export class BackendRefused extends Error {
  constructor(readonly payload: Buffer) {
    super(decodeErr(payload).message);
  }
}

export class BackendUnreachable extends Error {}

type AuthResult = { ok: true; status: number } | { ok: false; payload: Buffer };

/**
 * One connection from the proxy to a backend server. During authentication it reads whole
 * packets; afterwards every chunk goes unparsed to `onData` (the session forwards it and lets a
 * ReplyTracker find reply boundaries), so the hot path does no framing here.
 */
export class BackendConnection {
  handshake!: HandshakeV10;
  capabilities = 0;
  /** MariaDB extended capabilities in effect (the client's, masked by the server's). */
  mariaCapabilities = 0;
  status = 0;
  /** The connection's OK packets report last_gtid (the set-up statement of connect() succeeded). */
  tracksLastGtid = false;
  onData: (chunk: Buffer) => void = () => {};
  onClose: (hadError: boolean, err: Error | undefined) => void = () => {};
  private authFramer: PacketFramer | null = new PacketFramer(1 << 24);
  private authWaiter: ((p: FramedPacket) => void) | null = null;
  private closeError: Error | undefined;
  private closed = false;

  readonly socket: net.Socket;
  /** Reads land in a reused buffer: a chunk given to onData is valid until onData returns. */
  private readonly reads = new ReadBuffer();

  /** Called while a chunk is delivered (onData): the reply it ended leaves nothing pending. */
  readsDone(): void {
    this.reads.transferDone();
  }

  private constructor(readonly server: ServerAddress) {
    const socket = net.connect({ host: server.address, port: server.port, onread: this.reads.options });
    this.socket = socket;
    this.reads.sink = (chunk) => {
      // The auth waiter copies its packet.
      if (this.authFramer) {
        this.authFramer.push(chunk, (p) => this.authWaiter?.(p));
        // It holds views of chunks while a packet is incomplete.
        if (this.authFramer?.hasPartial) this.reads.keep();
      } else this.onData(chunk);
    };
    socket.setNoDelay(true);
    socket.on('error', (err) => {
      this.closeError = err;
    });
    socket.on('close', (hadError) => {
      this.closed = true;
      this.authWaiter = null;
      this.onClose(hadError, this.closeError);
    });
  }

  /** The chunk being delivered stays referenced after onData returns: do not read into it again. */
  keepChunk(): void {
    this.reads.keep();
  }

  get threadId(): number {
    return this.handshake.connectionId;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Connects and logs in; rejects with BackendRefused (an ERR to relay) or BackendUnreachable.
   * `trackGtid`: COM_QUERY payload run right after the login, before anything of the session's,
   * that makes the server report last_gtid in OK packets (see gtid-tracking.ts); its failure only
   * leaves tracksLastGtid false.
   */
  static async connect(server: ServerAddress, login: BackendLogin, timeoutMs: number, trackGtid: Buffer | null = null): Promise<BackendConnection> {
    const conn = new BackendConnection(server);
    const socket = conn.socket;
    const timer = setTimeout(() => socket.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    try {
      const greeting = await conn.nextPacket();
      if (greeting.payload[0] === 0xff) throw new BackendRefused(Buffer.from(greeting.payload));
      conn.handshake = decodeHandshakeV10(greeting.payload);
      const serverCaps = conn.handshake.capabilities;
      let caps = (login.capabilities & serverCaps) | Cap.PROTOCOL_41 | Cap.SECURE_CONNECTION | Cap.PLUGIN_AUTH;
      caps = login.database ? caps | Cap.CONNECT_WITH_DB : caps & ~Cap.CONNECT_WITH_DB;
      if (!login.attributes) caps &= ~Cap.CONNECT_ATTRS;
      conn.capabilities = caps;
      conn.mariaCapabilities = login.mariaCapabilities & conn.handshake.mariaCapabilities;
      if ((login.mariaCapabilities & MariaCap.CACHE_METADATA) !== 0 && (conn.mariaCapabilities & MariaCap.CACHE_METADATA) === 0) {
        // The client reads an extra byte in every column-count packet; this server would not send it.
        throw new Error('the server does not offer metadata caching (MariaDB 10.6+), which the client negotiated with the proxy');
      }
      const token = login.stage1 ? tokenFromStage1(login.stage1, conn.handshake.scramble) : Buffer.alloc(0);
      const response = encodeHandshakeResponse({
        capabilities: caps,
        mariaCapabilities: conn.mariaCapabilities,
        maxPacket: login.maxPacket,
        charset: login.charset,
        user: login.user,
        authResponse: token,
        database: login.database,
        authPlugin: NATIVE_PASSWORD,
        attributes: login.attributes,
      });
      const result = await conn.authenticate(response, greeting.seq + 1, login.stage1);
      if (!result.ok) throw new BackendRefused(result.payload);
      conn.status = result.status;
      if (trackGtid && caps & Cap.SESSION_TRACK) {
        conn.socket.write(framePacket(trackGtid, 0).bytes);
        conn.tracksLastGtid = (await conn.nextPacket()).payload[0] === 0x00;
      }
      conn.authFramer = null;
      return conn;
    } catch (err) {
      socket.destroy();
      if (err instanceof BackendRefused) throw err;
      const reason = conn.closeError ?? err;
      throw new BackendUnreachable(`server ${server.name} (${server.address}:${server.port}): ${(reason as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends COM_CHANGE_USER for a client that the proxy already authenticated. */
  async changeUser(c: ChangeUser, stage1: Buffer | null): Promise<AuthResult> {
    this.authFramer = new PacketFramer(1 << 24);
    try {
      const token = stage1 ? tokenFromStage1(stage1, this.handshake.scramble) : Buffer.alloc(0);
      const payload = encodeChangeUser({ ...c, authResponse: token, authPlugin: NATIVE_PASSWORD }, this.capabilities);
      return await this.authenticate(payload, 0, stage1);
    } finally {
      this.authFramer = null;
    }
  }

  private nextPacket(): Promise<FramedPacket> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(this.closeError ?? new Error('connection closed'));
      const onClose = (): void => reject(this.closeError ?? new Error('connection closed by server'));
      this.socket.once('close', onClose);
      this.authWaiter = (p) => {
        this.socket.off('close', onClose);
        this.authWaiter = null;
        resolve({ ...p, payload: Buffer.from(p.payload) });
      };
    });
  }

  /** Writes `payload` and follows the server through auth switches until OK or ERR. */
  private async authenticate(payload: Buffer, seq: number, stage1: Buffer | null): Promise<AuthResult> {
    this.socket.write(framePacket(payload, seq).bytes);
    for (let round = 0; round < 4; round++) {
      const p = await this.nextPacket();
      const b0 = p.payload[0];
      if (b0 === 0x00) return { ok: true, status: decodeOk(p.payload).status };
      if (b0 === 0xff) return { ok: false, payload: p.payload };
      if (b0 === 0xfe) {
        const sw = decodeAuthSwitch(p.payload);
        if (sw.plugin !== NATIVE_PASSWORD) {
          throw new Error(`backend asked for auth plugin '${sw.plugin}', the proxy only speaks ${NATIVE_PASSWORD}`);
        }
        const token = stage1 ? tokenFromStage1(stage1, sw.data) : Buffer.alloc(0);
        this.socket.write(framePacket(token, p.seq + 1).bytes);
        continue;
      }
      throw new Error(`unexpected packet 0x${(b0 ?? 0).toString(16)} during authentication`);
    }
    throw new Error('too many authentication round trips');
  }

  write(data: Buffer): boolean {
    return this.socket.write(data);
  }

  /** Polite close: COM_QUIT, then end. */
  quit(): void {
    if (this.closed) return;
    this.socket.end(framePacket(Buffer.from([0x01]), 0).bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
