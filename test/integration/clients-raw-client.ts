// A minimal client speaking the wire protocol by hand, for the commands no connector exposes
// (cursors with COM_STMT_FETCH, COM_FIELD_LIST, COM_SET_OPTION, COM_PROCESS_KILL, pipelining).
// Its reply reader is written independently of the proxy's ReplyTracker.
import net from 'node:net';
import { Cap } from '../../host/protocol/constants.js';
import { decodeHandshakeV10, encodeHandshakeResponse } from '../../host/protocol/handshake.js';
import { tokenFromPassword } from '../../host/protocol/native-password.js';

export interface Packet { seq: number; payload: Buffer }

export const BASE_CAPS = Cap.LONG_FLAG | Cap.PROTOCOL_41 | Cap.SECURE_CONNECTION | Cap.PLUGIN_AUTH | Cap.TRANSACTIONS |
  Cap.MULTI_STATEMENTS | Cap.MULTI_RESULTS | Cap.PS_MULTI_RESULTS | Cap.CONNECT_WITH_DB | Cap.LOCAL_FILES;

export class RawClient {
  private buf = Buffer.alloc(0);
  private queue: Packet[] = [];
  private waiters: ((p: Packet | null) => void)[] = [];
  private ended = false;
  connectionId = 0;
  /** 'end' (FIN) or the socket error code (e.g. ECONNRESET) once the peer closed. */
  closeReason: string | undefined;

  private constructor(private readonly socket: net.Socket, readonly deprecateEof: boolean) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4) {
        const len = this.buf.readUIntLE(0, 3);
        if (this.buf.length < 4 + len) break;
        const p = { seq: this.buf[3]!, payload: Buffer.from(this.buf.subarray(4, 4 + len)) };
        this.buf = this.buf.subarray(4 + len);
        const w = this.waiters.shift();
        if (w) w(p);
        else this.queue.push(p);
      }
    });
    const end = (): void => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w(null);
    };
    socket.on('close', end);
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.closeReason = e.code ?? e.message;
      end();
    });
    socket.on('end', () => (this.closeReason ??= 'end'));
  }

  static async connect(port: number, o: { user: string; password: string; database: string; deprecateEof: boolean }): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    const c = new RawClient(socket, o.deprecateEof);
    const greeting = await c.read();
    const hs = decodeHandshakeV10(greeting.payload);
    c.connectionId = hs.connectionId;
    const caps = BASE_CAPS | (o.deprecateEof ? Cap.DEPRECATE_EOF : 0);
    c.write(encodeHandshakeResponse({
      capabilities: caps, mariaCapabilities: 0, maxPacket: 1 << 30, charset: 45, user: o.user,
      authResponse: tokenFromPassword(o.password, hs.scramble), database: o.database, authPlugin: 'mysql_native_password', attributes: null,
    }), 1);
    const ok = await c.read();
    if (ok.payload[0] !== 0) throw new Error(`login failed: ${ok.payload.subarray(9).toString()}`);
    return c;
  }

  read(): Promise<Packet> {
    const p = this.queue.shift();
    if (p) return Promise.resolve(p);
    if (this.ended) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => this.waiters.push((x) => (x ? resolve(x) : reject(new Error('connection closed')))));
  }

  /** Resolves true once the server/proxy closed the connection (after reading what is left). */
  async closed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.ended;
  }

  write(payload: Buffer, seq = 0): void {
    const h = Buffer.alloc(4);
    h.writeUIntLE(payload.length, 0, 3);
    h[3] = seq;
    this.socket.write(Buffer.concat([h, payload]));
  }

  /** Several commands in one TCP write (pipelining). */
  writeMany(payloads: Buffer[]): void {
    this.socket.write(Buffer.concat(payloads.map((p) => {
      const h = Buffer.alloc(4);
      h.writeUIntLE(p.length, 0, 3);
      return Buffer.concat([h, p]);
    })));
  }

  private isEnd(p: Buffer): boolean {
    return p[0] === 0xfe && (this.deprecateEof ? p.length < 0xffffff : p.length < 9);
  }

  private status(p: Buffer): number {
    if (p[0] === 0xfe && !this.deprecateEof) return p.readUInt16LE(3);
    let pos = 1;
    for (let i = 0; i < 2; i++) pos += p[pos]! < 0xfb ? 1 : p[pos] === 0xfc ? 3 : p[pos] === 0xfd ? 4 : 9;
    return p.readUInt16LE(pos);
  }

  /** Reply to COM_QUERY / COM_STMT_EXECUTE: every packet, up to the last result. */
  async result(): Promise<Packet[]> {
    const out: Packet[] = [];
    for (;;) {
      const first = await this.read();
      out.push(first);
      if (first.payload[0] === 0xff) return out;
      if (first.payload[0] === 0x00) {
        if (this.status(first.payload) & 0x0008) continue;
        return out;
      }
      let cols = first.payload[0]!;
      for (; cols > 0; cols--) out.push(await this.read());
      if (!this.deprecateEof) {
        const eof = await this.read();
        out.push(eof);
        if (this.status(eof.payload) & 0x0040) return out; // cursor opened: rows come with FETCH
      }
      let end: Packet;
      do {
        end = await this.read();
        out.push(end);
      } while (end.payload[0] !== 0xff && !this.isEnd(end.payload));
      if (end.payload[0] === 0xff || !(this.status(end.payload) & 0x0008)) return out;
    }
  }

  /** Rows up to a terminator (COM_STMT_FETCH, COM_FIELD_LIST). */
  async rows(): Promise<Packet[]> {
    const out: Packet[] = [];
    let p: Packet;
    do {
      p = await this.read();
      out.push(p);
    } while (p.payload[0] !== 0xff && !this.isEnd(p.payload));
    return out;
  }

  statusOf(p: Packet): number {
    return this.status(p.payload);
  }

  async prepare(sql: string): Promise<{ id: number; packets: Packet[] }> {
    this.write(Buffer.concat([Buffer.from([0x16]), Buffer.from(sql)]));
    const first = await this.read();
    if (first.payload[0] !== 0) return { id: -1, packets: [first] };
    const packets = [first];
    const cols = first.payload.readUInt16LE(5), params = first.payload.readUInt16LE(7);
    for (const n of [params, cols]) {
      if (n === 0) continue;
      for (let i = 0; i < n; i++) packets.push(await this.read());
      if (!this.deprecateEof) packets.push(await this.read());
    }
    return { id: first.payload.readUInt32LE(1), packets };
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export const com = {
  query: (sql: string): Buffer => Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)]),
  ping: (): Buffer => Buffer.from([0x0e]),
  quit: (): Buffer => Buffer.from([0x01]),
  statistics: (): Buffer => Buffer.from([0x09]),
  fieldList: (table: string, wild = ''): Buffer => Buffer.concat([Buffer.from([0x04]), Buffer.from(table), Buffer.from([0]), Buffer.from(wild)]),
  setOption: (op: number): Buffer => Buffer.from([0x1b, op & 0xff, op >> 8]),
  processKill: (id: number): Buffer => { const b = Buffer.alloc(5); b[0] = 0x0c; b.writeUInt32LE(id >>> 0, 1); return b; },
  stmtReset: (id: number): Buffer => { const b = Buffer.alloc(5); b[0] = 0x1a; b.writeUInt32LE(id, 1); return b; },
  stmtClose: (id: number): Buffer => { const b = Buffer.alloc(5); b[0] = 0x19; b.writeUInt32LE(id, 1); return b; },
  stmtFetch: (id: number, rows: number): Buffer => { const b = Buffer.alloc(9); b[0] = 0x1c; b.writeUInt32LE(id, 1); b.writeUInt32LE(rows, 5); return b; },
  /** COM_STMT_EXECUTE with INT parameters; flags 1 = read-only cursor. */
  stmtExecute: (id: number, params: number[], flags = 0): Buffer => {
    const head = Buffer.alloc(10);
    head[0] = 0x17;
    head.writeUInt32LE(id, 1);
    head[5] = flags;
    head.writeUInt32LE(1, 6);
    if (params.length === 0) return head;
    const nulls = Buffer.alloc((params.length + 7) >> 3);
    const types = Buffer.alloc(params.length * 2);
    const values = Buffer.alloc(params.length * 4);
    params.forEach((v, i) => { types[i * 2] = 0x03; values.writeInt32LE(v, i * 4); });
    return Buffer.concat([head, nulls, Buffer.from([1]), types, values]);
  },
};
