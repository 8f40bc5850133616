import { MAX_PACKET_PAYLOAD } from './constants.js';

/** Builds one payload; grows by doubling so encoders do not allocate per field. */
export class PayloadWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initial = 128) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16LE(v & 0xffff, this.len);
    this.len += 2;
    return this;
  }

  u24(v: number): this {
    this.ensure(3);
    this.buf.writeUIntLE(v & 0xffffff, this.len, 3);
    this.len += 3;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
    return this;
  }

  lenenc(v: number): this {
    if (v < 0xfb) return this.u8(v);
    if (v <= 0xffff) return this.u8(0xfc).u16(v);
    if (v <= 0xffffff) return this.u8(0xfd).u24(v);
    this.u8(0xfe);
    this.u32(v % 0x100000000);
    return this.u32(Math.floor(v / 0x100000000));
  }

  bytes(b: Buffer | Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  str(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }

  nulStr(s: string | Buffer): this {
    this.bytes(typeof s === 'string' ? Buffer.from(s, 'utf8') : s);
    return this.u8(0);
  }

  lenencBytes(b: Buffer): this {
    this.lenenc(b.length);
    return this.bytes(b);
  }

  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
    return this;
  }

  /** The payload written so far (a view; valid until the next write). */
  payload(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/**
 * Frames `payload` as one or more physical packets starting at sequence id `seq`.
 * Returns the framed bytes and the next sequence id.
 */
export function framePacket(payload: Buffer, seq: number): { bytes: Buffer; nextSeq: number } {
  if (payload.length < MAX_PACKET_PAYLOAD) {
    const out = Buffer.allocUnsafe(4 + payload.length);
    out.writeUIntLE(payload.length, 0, 3);
    out[3] = seq & 0xff;
    payload.copy(out, 4);
    return { bytes: out, nextSeq: (seq + 1) & 0xff };
  }
  // A payload of exactly a multiple of 0xffffff ends with an empty packet (framePacketParts does it).
  const { parts, nextSeq } = framePacketParts(payload, seq);
  return { bytes: Buffer.concat(parts), nextSeq };
}

/** Header + payload as a list of buffers (no copy of the payload), for large writes. */
export function framePacketParts(payload: Buffer, seq: number): { parts: Buffer[]; nextSeq: number } {
  const parts: Buffer[] = [];
  let offset = 0;
  let s = seq;
  for (;;) {
    const len = Math.min(MAX_PACKET_PAYLOAD, payload.length - offset);
    const header = Buffer.allocUnsafe(4);
    header.writeUIntLE(len, 0, 3);
    header[3] = s & 0xff;
    parts.push(header);
    if (len > 0) parts.push(payload.subarray(offset, offset + len));
    s = (s + 1) & 0xff;
    offset += len;
    if (len < MAX_PACKET_PAYLOAD) break;
  }
  return { parts, nextSeq: s };
}
