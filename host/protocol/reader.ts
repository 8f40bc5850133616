/**
 * A cursor over one packet payload. Methods throw ProtocolError when the payload is shorter
 * than its fields claim, so malformed input from a peer becomes a clean error, never a crash.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

export class PayloadReader {
  pos: number;
  constructor(readonly buf: Buffer, start = 0) {
    this.pos = start;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new ProtocolError(`packet truncated: need ${n} bytes at offset ${this.pos}, have ${this.buf.length - this.pos}`);
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const v = this.buf.readUIntLE(this.pos, 3);
    this.pos += 3;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Length-encoded integer; values above 2^53 are not used by the protocol fields we read. */
  lenenc(): number {
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfc) return this.u16();
    if (first === 0xfd) return this.u24();
    if (first === 0xfe) {
      this.need(8);
      const lo = this.buf.readUInt32LE(this.pos);
      const hi = this.buf.readUInt32LE(this.pos + 4);
      this.pos += 8;
      return hi * 0x100000000 + lo;
    }
    throw new ProtocolError(`invalid length-encoded integer prefix 0x${first.toString(16)}`);
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  lenencBytes(): Buffer {
    return this.bytes(this.lenenc());
  }

  /** NUL-terminated string; a missing terminator means the string runs to the end of the packet. */
  nulString(): string {
    return this.nulBytes().toString('utf8');
  }

  nulBytes(): Buffer {
    let end = this.buf.indexOf(0, this.pos);
    const terminated = end !== -1;
    if (!terminated) end = this.buf.length;
    const v = this.buf.subarray(this.pos, end);
    this.pos = terminated ? end + 1 : end;
    return v;
  }

  rest(): Buffer {
    const v = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return v;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

/** Reads a length-encoded integer at `pos` without a cursor; returns -1 when it does not fit. */
export function peekLenenc(buf: Buffer, pos: number, end: number): { value: number; size: number } | null {
  if (pos >= end) return null;
  const first = buf[pos]!;
  if (first < 0xfb) return { value: first, size: 1 };
  if (first === 0xfc) return pos + 3 <= end ? { value: buf.readUInt16LE(pos + 1), size: 3 } : null;
  if (first === 0xfd) return pos + 4 <= end ? { value: buf.readUIntLE(pos + 1, 3), size: 4 } : null;
  if (first === 0xfe) {
    if (pos + 9 > end) return null;
    return { value: buf.readUInt32LE(pos + 5) * 0x100000000 + buf.readUInt32LE(pos + 1), size: 9 };
  }
  return null;
}
