import { MAX_PACKET_PAYLOAD } from './constants.js';

export interface FramedPacket {
  /** Sequence id of the first physical packet. */
  seq: number;
  /** Sequence id of the last physical packet (differs from seq for payloads of 16 MiB and more). */
  lastSeq: number;
  /** Logical payload, reassembled across physical packets. May be a view into the input chunk. */
  payload: Buffer;
  /** The packet exactly as received (header included) when it was one physical packet, else null. */
  raw: Buffer | null;
}

export type FrameError = { kind: 'too-large'; size: number } | { kind: 'sequence'; expected: number; got: number };

/**
 * Splits a byte stream into logical packets. The common case — whole packets inside one chunk —
 * yields views of the chunk without copying. Payloads of 0xffffff bytes are joined with the
 * packets that continue them. `maxPayload` bounds what is buffered for one logical packet.
 */
export class PacketFramer {
  private pending: Buffer | null = null;
  // Continuation state for payloads split across physical packets.
  private parts: Buffer[] = [];
  private partsLen = 0;
  private partsSeq = 0;
  private lastSeq = 0;

  constructor(public maxPayload: number) {}

  /** True while bytes of an incomplete packet are buffered (used for read timeouts). */
  get hasPartial(): boolean {
    return this.pending !== null || this.parts.length > 0;
  }

  /**
   * Feeds a chunk. Calls `onPacket` for each complete logical packet; stops and returns an
   * error if a packet exceeds maxPayload or a continuation packet has the wrong sequence id.
   * `onPacket` may return false to stop processing (the rest of the chunk stays buffered).
   */
  push(chunk: Buffer, onPacket: (p: FramedPacket) => boolean | void): FrameError | null {
    let buf = chunk;
    if (this.pending !== null) {
      // Collect chunks until the pending packet is complete: joining every chunk onto a partial
      // multi-MiB packet copied it again each time (quadratic; a 33 MiB blob took many seconds).
      this.waiting.push(chunk);
      this.waitingLen += chunk.length;
      const p = this.pending;
      if (p.length >= 4 && this.waitingLen < 4 + (p[0]! | (p[1]! << 8) | (p[2]! << 16))) return null;
      buf = Buffer.concat(this.waiting, this.waitingLen);
      this.pending = null;
      this.waiting = [];
      this.waitingLen = 0;
    }
    let pos = 0;
    const end = buf.length;
    while (end - pos >= 4) {
      const len = buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16);
      const seq = buf[pos + 3]!;
      if (this.partsLen + len > this.maxPayload) {
        return { kind: 'too-large', size: this.partsLen + len };
      }
      if (end - pos - 4 < len) break;
      const payload = buf.subarray(pos + 4, pos + 4 + len);
      // One packet per chunk is the common case: the chunk is the raw packet, no second view.
      const raw = pos === 0 && 4 + len === end ? buf : buf.subarray(pos, pos + 4 + len);
      pos += 4 + len;
      if (this.parts.length > 0) {
        const expected = (this.lastSeq + 1) & 0xff;
        if (seq !== expected) return { kind: 'sequence', expected, got: seq };
        this.parts.push(Buffer.from(payload));
        this.partsLen += len;
        this.lastSeq = seq;
        if (len === MAX_PACKET_PAYLOAD) continue;
        const whole = Buffer.concat(this.parts, this.partsLen);
        const first = this.partsSeq;
        this.parts = [];
        this.partsLen = 0;
        if (onPacket({ seq: first, lastSeq: seq, payload: whole, raw: null }) === false) {
          this.keep(buf, pos);
          return null;
        }
        continue;
      }
      if (len === MAX_PACKET_PAYLOAD) {
        // Copy: the chunk's memory is reused by the socket only if we keep no view, and
        // continuations will arrive in later chunks.
        this.parts.push(Buffer.from(payload));
        this.partsLen = len;
        this.partsSeq = seq;
        this.lastSeq = seq;
        continue;
      }
      if (onPacket({ seq, lastSeq: seq, payload, raw }) === false) {
        this.keep(buf, pos);
        return null;
      }
    }
    this.keep(buf, pos);
    return null;
  }

  private keep(buf: Buffer, pos: number): void {
    if (pos < buf.length) {
      this.pending = Buffer.from(buf.subarray(pos));
      this.waiting = [this.pending];
      this.waitingLen = this.pending.length;
    }
  }

  // While `pending` holds an incomplete packet: pending followed by the chunks received since.
  private waiting: Buffer[] = [];
  private waitingLen = 0;

  /** Bytes buffered but not yet delivered (drained when switching a stream to raw forwarding). */
  takePending(): Buffer | null {
    const p = this.pending === null ? null : Buffer.concat(this.waiting, this.waitingLen);
    this.pending = null;
    this.waiting = [];
    this.waitingLen = 0;
    return p;
  }

  reset(): void {
    this.pending = null;
    this.waiting = [];
    this.waitingLen = 0;
    this.parts = [];
    this.partsLen = 0;
  }
}
