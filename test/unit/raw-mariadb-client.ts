// A minimal raw-TCP MariaDB client for protocol tests: it authenticates with host/protocol's own
// encoders (mysql_native_password), then sends one command at a time and hands back exactly the
// bytes the server sent, chunked as the socket delivered them. It never interprets replies: the
// tests do (with the ReplyTracker under test), and a quiet period proves where a reply ended.
import net from 'node:net';
import { Cap, NATIVE_PASSWORD } from '../../host/protocol/constants.js';
import { PacketFramer, type FramedPacket } from '../../host/protocol/framer.js';
import { decodeAuthSwitch, decodeHandshakeV10, encodeHandshakeResponse, type HandshakeV10 } from '../../host/protocol/handshake.js';
import { tokenFromPassword } from '../../host/protocol/native-password.js';
import { decodeErr } from '../../host/protocol/ok-err.js';
import { framePacket } from '../../host/protocol/writer.js';

export const BASE_CAPS =
  Cap.LONG_PASSWORD | Cap.FOUND_ROWS | Cap.LONG_FLAG | Cap.CONNECT_WITH_DB | Cap.PROTOCOL_41 |
  Cap.TRANSACTIONS | Cap.SECURE_CONNECTION | Cap.MULTI_STATEMENTS | Cap.MULTI_RESULTS |
  Cap.PS_MULTI_RESULTS | Cap.PLUGIN_AUTH | Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA | Cap.LOCAL_FILES |
  Cap.SESSION_TRACK;

export interface RawOptions {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  caps?: number;
  mariaCaps?: number;
}

export class RawMariadb {
  handshake!: HandshakeV10;
  /** Capabilities in effect (what we asked for, masked by what the server offered). */
  caps = 0;
  private chunks: Buffer[] = [];
  private lastByteAt = 0;
  private closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.chunks.push(Buffer.from(c));
      this.lastByteAt = Date.now();
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }

  static async connect(o: RawOptions = {}): Promise<RawMariadb> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: o.host ?? '127.0.0.1', port: o.port ?? 3306 });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    socket.setNoDelay(true);
    const c = new RawMariadb(socket);
    const greeting = await c.nextPacket();
    c.handshake = decodeHandshakeV10(greeting.payload);
    c.caps = ((o.caps ?? BASE_CAPS) & c.handshake.capabilities) >>> 0;
    const password = o.password ?? '';
    const resp = encodeHandshakeResponse({
      capabilities: c.caps,
      mariaCapabilities: (o.mariaCaps ?? 0) & c.handshake.mariaCapabilities,
      maxPacket: 1 << 30,
      charset: 45,
      user: o.user ?? 'root',
      authResponse: tokenFromPassword(password, c.handshake.scramble),
      database: o.database ?? null,
      authPlugin: NATIVE_PASSWORD,
      attributes: null,
    });
    c.write(resp, 1);
    let p = await c.nextPacket();
    if (p.payload[0] === 0xfe) {
      const sw = decodeAuthSwitch(p.payload);
      if (sw.plugin !== NATIVE_PASSWORD) throw new Error(`unsupported auth plugin ${sw.plugin}`);
      c.write(tokenFromPassword(password, sw.data), (p.seq + 1) & 0xff);
      p = await c.nextPacket();
    }
    if (p.payload[0] !== 0x00) {
      throw new Error(p.payload[0] === 0xff ? `auth failed: ${decodeErr(p.payload).message}` : 'unexpected auth reply');
    }
    return c;
  }

  /** Reads one packet of the handshake phase (before any command is sent). */
  private async nextPacket(timeoutMs = 5000): Promise<FramedPacket> {
    const deadline = Date.now() + timeoutMs;
    const framer = new PacketFramer(1 << 30);
    for (;;) {
      let got: FramedPacket | null = null;
      const all = Buffer.concat(this.chunks);
      framer.push(all, (p) => {
        got = { ...p, payload: Buffer.from(p.payload), raw: null };
        return false;
      });
      if (got) {
        const g = got as FramedPacket;
        const used = 4 + g.payload.length;
        this.chunks = used < all.length ? [all.subarray(used)] : [];
        return g;
      }
      if (this.closed || Date.now() > deadline) throw new Error('no packet from server');
      await sleep(2);
    }
  }

  write(payload: Buffer, seq = 0): void {
    this.socket.write(framePacket(payload, seq).bytes);
  }

  /** Writes raw bytes (already framed), e.g. the packets of a LOCAL INFILE upload. */
  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /**
   * Waits until something arrived and then nothing more for `quietMs`; returns the chunks received
   * since the previous call, exactly as the socket delivered them.
   */
  async collect(quietMs = 150, timeoutMs = 10_000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.chunks.length === 0 || Date.now() - this.lastByteAt < quietMs) {
      if (Date.now() > deadline) throw new Error('server did not answer');
      await sleep(5);
    }
    const out = this.chunks;
    this.chunks = [];
    return out;
  }

  /** Bytes received since the last collect (without waiting). */
  take(): Buffer[] {
    const out = this.chunks;
    this.chunks = [];
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.write(Buffer.from([0x01]));
    this.socket.end();
    await new Promise<void>((r) => {
      const t = setTimeout(() => { this.socket.destroy(); r(); }, 1000);
      this.socket.once('close', () => { clearTimeout(t); r(); });
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
