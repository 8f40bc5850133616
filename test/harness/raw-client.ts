// A raw-socket MariaDB protocol client for fault tests: it sends exactly the bytes a test wants
// (truncated packets, wrong sequence ids, garbage) and reports exactly what came back, including
// whether and when the peer closed the connection. Reuses the host's pure protocol encoders.
import net from 'node:net';
import { Cap, NATIVE_PASSWORD } from '../../host/protocol/constants.js';
import { PacketFramer, type FramedPacket } from '../../host/protocol/framer.js';
import { decodeHandshakeV10, encodeHandshakeResponse, type HandshakeV10 } from '../../host/protocol/handshake.js';
import { tokenFromPassword } from '../../host/protocol/native-password.js';
import { decodeErr, type ErrPacket } from '../../host/protocol/ok-err.js';
import { framePacket } from '../../host/protocol/writer.js';

export const CLIENT_CAPS =
  Cap.LONG_PASSWORD | Cap.FOUND_ROWS | Cap.LONG_FLAG | Cap.PROTOCOL_41 | Cap.TRANSACTIONS |
  Cap.SECURE_CONNECTION | Cap.MULTI_RESULTS | Cap.PS_MULTI_RESULTS | Cap.PLUGIN_AUTH |
  Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA | Cap.DEPRECATE_EOF;

/** What the peer did next: a packet, an ERR packet, a close, or nothing within the timeout. */
export type Outcome =
  | { kind: 'err'; err: ErrPacket; seq: number; closedAfter: boolean }
  | { kind: 'packet'; packet: FramedPacket }
  | { kind: 'closed' }
  | { kind: 'timeout' };

export class RawClient {
  handshake: HandshakeV10 | null = null;
  private readonly framer = new PacketFramer(1 << 30);
  private readonly queue: FramedPacket[] = [];
  private wake: (() => void) | null = null;
  private isClosed = false;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.framer.push(chunk, (p) => {
        this.queue.push({ ...p, payload: Buffer.from(p.payload), raw: null });
      });
      this.poke();
    });
    socket.on('error', () => {});
    this.closedPromise = new Promise((resolve) => socket.once('close', () => {
      this.isClosed = true;
      this.poke();
      resolve();
    }));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Bytes received after the last complete packet (a packet cut short by a close). */
  tail(): Buffer {
    return this.framer.takePending() ?? Buffer.alloc(0);
  }

  /** Drops the packets received so far (for long streams). */
  discard(): number {
    const n = this.queue.length;
    this.queue.length = 0;
    return n;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Next packet, or null if the peer closed / nothing came within timeoutMs. */
  async next(timeoutMs = 5000): Promise<FramedPacket | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.isClosed) return null;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.queue.shift()!;
  }

  /** Puts a packet back at the head of the queue. */
  unread(p: FramedPacket): void {
    this.queue.unshift(p);
  }

  /** What the peer does next; for an ERR, also whether it then closed (within closeWaitMs). */
  async outcome(timeoutMs = 5000, closeWaitMs = 2000): Promise<Outcome> {
    const p = await this.next(timeoutMs);
    if (!p) return this.isClosed ? { kind: 'closed' } : { kind: 'timeout' };
    if (p.payload[0] !== 0xff) return { kind: 'packet', packet: p };
    const closedAfter = await this.waitClosed(closeWaitMs);
    return { kind: 'err', err: decodeErr(p.payload), seq: p.seq, closedAfter };
  }

  /** True once the peer has closed the connection (waits up to timeoutMs). */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    if (this.isClosed) return true;
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      this.closedPromise.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return closed;
  }

  async readHandshake(timeoutMs = 5000): Promise<HandshakeV10> {
    const p = await this.next(timeoutMs);
    if (!p) throw new Error(this.isClosed ? 'closed before the handshake' : 'no handshake');
    if (p.payload[0] === 0xff) throw new Error(`server refused: ${decodeErr(p.payload).message}`);
    this.handshake = decodeHandshakeV10(p.payload);
    return this.handshake;
  }

  /** A HandshakeResponse41 payload answering the greeting already read. */
  handshakeResponse(user: string, password: string, opts: { database?: string; caps?: number } = {}): Buffer {
    if (!this.handshake) throw new Error('read the handshake first');
    let caps = opts.caps ?? CLIENT_CAPS;
    if (opts.database) caps |= Cap.CONNECT_WITH_DB;
    return encodeHandshakeResponse({
      capabilities: caps,
      mariaCapabilities: 0,
      maxPacket: 1 << 24,
      charset: 45,
      user,
      authResponse: tokenFromPassword(password, this.handshake.scramble),
      database: opts.database ?? null,
      authPlugin: NATIVE_PASSWORD,
      attributes: null,
    });
  }

  /** Handshake + login; throws with the server's ERR message if refused. */
  async login(user: string, password: string, opts: { database?: string } = {}): Promise<void> {
    await this.readHandshake();
    this.send(this.handshakeResponse(user, password, opts), 1);
    const o = await this.outcome();
    if (o.kind === 'err') throw new Error(`login refused: ${o.err.code} ${o.err.message}`);
    if (o.kind !== 'packet' || o.packet.payload[0] !== 0x00) throw new Error(`login: unexpected ${o.kind}`);
  }

  send(payload: Buffer, seq: number): void {
    this.socket.write(framePacket(payload, seq).bytes);
  }

  sendRaw(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /** COM_QUERY; returns the raw packets of a text result set up to its end (DEPRECATE_EOF clients). */
  async query(sql: string, timeoutMs = 10_000): Promise<FramedPacket[]> {
    this.send(Buffer.concat([Buffer.from([0x03]), Buffer.from(sql, 'utf8')]), 0);
    const out: FramedPacket[] = [];
    for (;;) {
      const p = await this.next(timeoutMs);
      if (!p) throw new Error(`query ${sql}: ${this.isClosed ? 'connection closed' : 'timeout'}`);
      out.push(p);
      const b0 = p.payload[0];
      if (out.length === 1 && (b0 === 0x00 || b0 === 0xff)) return out;
      if (out.length > 1 && (b0 === 0xff || (b0 === 0xfe && p.payload.length < 0xffffff))) return out;
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Text value of the first column of the first row of a query() result (DEPRECATE_EOF). */
export function firstValue(packets: FramedPacket[]): string | null {
  const cols = packets[0]?.payload[0] ?? 0;
  const row = packets[1 + cols];
  if (!row || row.payload[0] === 0xfe || row.payload[0] === 0xff) return null;
  const n = row.payload[0]!;
  if (n === 0xfb) return null;
  return row.payload.subarray(1, 1 + n).toString('utf8');
}
