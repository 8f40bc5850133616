// PacketFramer (host/protocol/framer.ts) and the writer's packet framing (host/protocol/writer.ts).
// Packets are hand-built here with an independent header encoder so the framer is not only
// checked against the writer it is paired with.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_PACKET_PAYLOAD } from '../../host/protocol/constants.js';
import { PacketFramer, type FrameError, type FramedPacket } from '../../host/protocol/framer.js';
import { PayloadReader, peekLenenc } from '../../host/protocol/reader.js';
import { framePacket, framePacketParts, PayloadWriter } from '../../host/protocol/writer.js';
import { rng } from '../harness/rng.js';

const MAX = MAX_PACKET_PAYLOAD;

/** One physical packet: 3-byte little-endian length, sequence id, payload. */
function phys(len: number, seq: number, body?: Buffer): Buffer {
  const h = Buffer.from([len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, seq & 0xff]);
  return Buffer.concat([h, body ?? Buffer.alloc(len)]);
}

function pattern(n: number, salt = 0): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + salt + (i >> 8)) & 0xff;
  return b;
}

/** Logical packet split by hand into physical packets (a multiple of 0xffffff ends with an empty one). */
function logical(payload: Buffer, seq: number): Buffer {
  const out: Buffer[] = [];
  let off = 0;
  let s = seq;
  for (;;) {
    const n = Math.min(MAX, payload.length - off);
    out.push(phys(n, s, payload.subarray(off, off + n)));
    s = (s + 1) & 0xff;
    off += n;
    if (n < MAX) break;
  }
  return Buffer.concat(out);
}

interface Got { seq: number; lastSeq: number; payload: Buffer; raw: Buffer | null }

/** Feeds `bytes` cut at `cuts` (sorted offsets); copies what is delivered. */
function feed(bytes: Buffer, cuts: number[], max = 1 << 30): { got: Got[]; errors: FrameError[]; framer: PacketFramer } {
  const framer = new PacketFramer(max);
  const got: Got[] = [];
  const errors: FrameError[] = [];
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    const err = framer.push(bytes.subarray(prev, c), (p) => {
      got.push({ seq: p.seq, lastSeq: p.lastSeq, payload: Buffer.from(p.payload), raw: p.raw && Buffer.from(p.raw) });
    });
    if (err) errors.push(err);
    prev = c;
  }
  return { got, errors, framer };
}

/** Comparable form of delivered packets (vitest's deep equality on large Buffers is very slow). */
function norm(list: Got[]): { seq: number; lastSeq: number; payload: string; raw: string | null }[] {
  const h = (b: Buffer) => `${b.length}:${createHash('sha1').update(b).digest('hex')}`;
  return list.map((g) => ({ seq: g.seq, lastSeq: g.lastSeq, payload: h(g.payload), raw: g.raw && h(g.raw) }));
}

function randomCuts(len: number, r: () => number, maxChunk: number): number[] {
  const cuts: number[] = [];
  let p = 0;
  for (;;) {
    p += 1 + Math.floor(r() * maxChunk);
    if (p >= len) return cuts;
    cuts.push(p);
  }
}

const byteByByte = (len: number) => Array.from({ length: Math.max(0, len - 1) }, (_, i) => i + 1);

describe('PacketFramer: small packets', () => {
  const sizes = [0, 1, 2, 3, 4, 5, 250, 251, 252, 1000, 65535, 65536];
  const packets = sizes.map((n, i) => ({ seq: (i * 37) & 0xff, payload: pattern(n, i) }));
  const stream = Buffer.concat(packets.map((p) => phys(p.payload.length, p.seq, p.payload)));
  const expected: Got[] = packets.map((p) => ({
    seq: p.seq, lastSeq: p.seq, payload: p.payload, raw: phys(p.payload.length, p.seq, p.payload),
  }));

  it('delivers several packets from one chunk, in order, with raw = header + payload', () => {
    const { got, errors, framer } = feed(stream, []);
    expect(errors).toEqual([]);
    expect(norm(got)).toEqual(norm(expected));
    expect(framer.hasPartial).toBe(false);
  });

  it('gives identical results fed byte by byte', () => {
    const { got, errors, framer } = feed(stream, byteByByte(stream.length));
    expect(errors).toEqual([]);
    expect(norm(got)).toEqual(norm(expected));
    expect(framer.hasPartial).toBe(false);
  });

  it('gives identical results for a split at every byte boundary', () => {
    // The first 7 packets and the header of the 8th.
    const small = stream.subarray(0, packets.slice(0, 7).reduce((n, p) => n + 4 + p.payload.length, 0) + 4);
    const exp = norm(feed(small, []).got);
    expect(exp).toHaveLength(7);
    for (let i = 0; i <= small.length; i++) {
      expect(norm(feed(small, i === 0 || i === small.length ? [] : [i]).got)).toEqual(exp);
    }
    // Every pair of cuts over the first packets (covers a header split in two places).
    const tiny = stream.subarray(0, 4 + 0 + 4 + 1 + 4 + 2 + 4 + 3);
    const expTiny = norm(feed(tiny, []).got);
    for (let i = 1; i < tiny.length; i++) {
      for (let j = i + 1; j < tiny.length; j++) expect(norm(feed(tiny, [i, j]).got)).toEqual(expTiny);
    }
  });

  it('gives identical results for random chunkings', () => {
    const r = rng(1);
    for (let k = 0; k < 60; k++) {
      const cuts = randomCuts(stream.length, r, k % 3 === 0 ? 8 : k % 3 === 1 ? 300 : 70000);
      const { got, errors } = feed(stream, cuts);
      expect(errors).toEqual([]);
      expect(norm(got)).toEqual(norm(expected));
    }
  });

  it('yields views of the chunk for whole packets and copies for packets split across chunks', () => {
    const a = pattern(10, 1);
    const b = pattern(20, 2);
    // Buffer.alloc never uses the shared pool, so buffer identity below is meaningful.
    const chunk = Buffer.alloc(38);
    Buffer.concat([phys(10, 0, a), phys(20, 1, b)]).copy(chunk);
    const f = new PacketFramer(1000);
    const seen: FramedPacket[] = [];
    f.push(chunk, (p) => void seen.push(p));
    expect(seen).toHaveLength(2);
    for (const [i, p] of seen.entries()) {
      expect(p.raw).not.toBeNull();
      expect(p.payload.buffer).toBe(chunk.buffer);
      expect(p.raw!.buffer).toBe(chunk.buffer);
      expect(p.raw!.byteOffset).toBe(chunk.byteOffset + (i === 0 ? 0 : 14));
      expect(p.raw!.subarray(4)).toEqual(p.payload);
      expect(p.raw!.byteOffset + 4).toBe(p.payload.byteOffset);
      expect(p.payload).toEqual(i === 0 ? a : b);
    }
    // A view really aliases the chunk.
    chunk[4] = chunk[4]! ^ 0xff;
    expect(seen[0]!.payload[0]).toBe(chunk[4]);

    // Split across two chunks: still one physical packet, so raw is set, but it owns its memory.
    const whole = phys(20, 7, b);
    const c1 = Buffer.from(whole.subarray(0, 9));
    const c2 = Buffer.from(whole.subarray(9));
    const f2 = new PacketFramer(1000);
    const seen2: FramedPacket[] = [];
    f2.push(c1, (p) => void seen2.push(p));
    expect(seen2).toHaveLength(0);
    expect(f2.hasPartial).toBe(true);
    f2.push(c2, (p) => void seen2.push(p));
    expect(seen2).toHaveLength(1);
    const p = seen2[0]!;
    expect(p.raw).toEqual(whole);
    expect(p.payload).toEqual(b);
    // Not a view of either chunk: overwriting them (as a socket reusing memory would) changes nothing.
    c1.fill(0);
    c2.fill(0);
    expect(p.payload).toEqual(b);
    expect(f2.hasPartial).toBe(false);
  });

  it('does not alias the caller’s chunk in what it keeps buffered', () => {
    const whole = phys(30, 3, pattern(30));
    const c1 = Buffer.from(whole.subarray(0, 12));
    const f = new PacketFramer(1000);
    f.push(c1, () => {});
    c1.fill(0xaa); // the socket (or caller) reuses its buffer
    const got: Buffer[] = [];
    f.push(whole.subarray(12), (p) => void got.push(Buffer.from(p.payload)));
    expect(got).toEqual([pattern(30)]);
  });
});

describe('PacketFramer: payloads of 16 MiB and more', () => {
  const big1 = pattern(MAX + 1, 5);
  const big2 = pattern(2 * MAX, 9);

  async function checkAll(bytes: Buffer, expected: Got[], seed: number): Promise<void> {
    const r = rng(seed);
    const chunkings: number[][] = [
      [],
      // Cuts inside every header and around every physical-packet boundary.
      ...[1, 3, 4].map((d) => {
        const cuts: number[] = [];
        for (let off = 0; off < bytes.length; off += 4 + MAX) if (off + d < bytes.length) cuts.push(off + d);
        return cuts;
      }),
      randomCuts(bytes.length, r, 65536),
      randomCuts(bytes.length, r, 20_000_000),
    ];
    for (const cuts of chunkings) {
      const { got, errors, framer } = feed(bytes, cuts);
      expect(errors).toEqual([]);
      expect(got.length).toBe(expected.length);
      for (let i = 0; i < expected.length; i++) {
        expect(got[i]!.seq).toBe(expected[i]!.seq);
        expect(got[i]!.lastSeq).toBe(expected[i]!.lastSeq);
        expect(got[i]!.raw === null).toBe(expected[i]!.raw === null);
        expect(got[i]!.payload.length).toBe(expected[i]!.payload.length);
        expect(got[i]!.payload.equals(expected[i]!.payload)).toBe(true);
      }
      expect(framer.hasPartial).toBe(false);
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  it('reassembles 0xffffff + 1 bytes from two physical packets (seq/lastSeq, raw null)', async () => {
    const bytes = Buffer.concat([
      phys(MAX, 5, big1.subarray(0, MAX)),
      phys(1, 6, big1.subarray(MAX)),
      phys(2, 0, Buffer.from('ok')), // a following ordinary packet
    ]);
    await checkAll(bytes, [
      { seq: 5, lastSeq: 6, payload: big1, raw: null },
      { seq: 0, lastSeq: 0, payload: Buffer.from('ok'), raw: phys(2, 0, Buffer.from('ok')) },
    ], 2);
  });

  it('reassembles exactly 2 × 0xffffff bytes that end with an empty packet, sequence ids wrapping', async () => {
    const bytes = Buffer.concat([
      phys(MAX, 254, big2.subarray(0, MAX)),
      phys(MAX, 255, big2.subarray(MAX)),
      phys(0, 0),
      phys(0, 9), // an ordinary empty packet afterwards stays a packet of its own
    ]);
    await checkAll(bytes, [
      { seq: 254, lastSeq: 0, payload: big2, raw: null },
      { seq: 9, lastSeq: 9, payload: Buffer.alloc(0), raw: phys(0, 9) },
    ], 3);
  });

  it('reassembles exactly 0xffffff bytes (a full packet and an empty one)', async () => {
    const p = big1.subarray(0, MAX);
    await checkAll(logical(p, 1), [{ seq: 1, lastSeq: 2, payload: p, raw: null }], 4);
  });

  it('hasPartial stays true between the physical packets of one logical packet', () => {
    const f = new PacketFramer(1 << 30);
    let n = 0;
    f.push(phys(MAX, 0, big1.subarray(0, MAX)), () => void n++);
    expect(n).toBe(0);
    expect(f.hasPartial).toBe(true);
    f.push(phys(1, 1, big1.subarray(MAX)), () => void n++);
    expect(n).toBe(1);
    expect(f.hasPartial).toBe(false);
  });

  it('reports a wrong continuation sequence id', () => {
    const f = new PacketFramer(1 << 30);
    const bytes = Buffer.concat([phys(MAX, 3), phys(1, 5)]);
    let n = 0;
    expect(f.push(bytes, () => void n++)).toEqual({ kind: 'sequence', expected: 4, got: 5 });
    expect(n).toBe(0);
    // Wrap-around: 255 is continued by 0, not 256.
    const g = new PacketFramer(1 << 30);
    expect(g.push(Buffer.concat([phys(MAX, 255), phys(1, 0)]), () => void n++)).toBeNull();
    expect(n).toBe(1);
    const h = new PacketFramer(1 << 30);
    expect(h.push(Buffer.concat([phys(MAX, 255), phys(1, 1)]), () => void n++)).toEqual({ kind: 'sequence', expected: 0, got: 1 });
  });

  it('detects a too-large packet from its header, before the payload arrives', () => {
    const f = new PacketFramer(100);
    let n = 0;
    // Exactly the limit is fine.
    expect(f.push(phys(100, 0), () => void n++)).toBeNull();
    expect(n).toBe(1);
    // One byte more: the 4-byte header alone is enough to refuse it.
    expect(f.push(phys(101, 0).subarray(0, 4), () => void n++)).toEqual({ kind: 'too-large', size: 101 });
    // A header split across pushes is refused once complete.
    const g = new PacketFramer(100);
    expect(g.push(Buffer.from([0x00, 0x10]), () => {})).toBeNull();
    expect(g.push(Buffer.from([0x00, 0x00]), () => {})).toEqual({ kind: 'too-large', size: 0x1000 });
    // A huge announced length with a limit below 16 MiB.
    const h = new PacketFramer(1 << 20);
    expect(h.push(Buffer.from([0xff, 0xff, 0xff, 0x00]), () => {})).toEqual({ kind: 'too-large', size: MAX });
  });

  it('counts the parts already received when checking a continuation against the limit', () => {
    const f = new PacketFramer(MAX + 10);
    let n = 0;
    expect(f.push(phys(MAX, 0), () => void n++)).toBeNull();
    expect(f.push(phys(11, 1).subarray(0, 4), () => void n++)).toEqual({ kind: 'too-large', size: MAX + 11 });
    expect(n).toBe(0);
    const g = new PacketFramer(MAX + 10);
    expect(g.push(Buffer.concat([phys(MAX, 0), phys(10, 1)]), () => void n++)).toBeNull();
    expect(n).toBe(1);
    // 2 × 0xffffff with a limit of exactly that: the trailing empty packet does not overflow it.
    const h = new PacketFramer(2 * MAX);
    expect(h.push(Buffer.concat([phys(MAX, 0), phys(MAX, 1), phys(0, 2)]), () => void n++)).toBeNull();
    expect(n).toBe(2);
  });

  it('stays linear when a 16 MiB packet arrives in small socket chunks', () => {
    // A client sending a max_allowed_packet-sized INSERT must not stall the event loop: buffering
    // by re-concatenating everything received so far on every chunk is quadratic (~GBs copied).
    const bytes = Buffer.concat([phys(MAX - 1, 0, big1.subarray(0, MAX - 1)), phys(MAX, 1, big1.subarray(0, MAX)), phys(0, 2)]);
    const f = new PacketFramer(1 << 30);
    const got: FramedPacket[] = [];
    // CPU time, not wall time: the machine may be busy with other work.
    const t0 = process.cpuUsage();
    for (let i = 0; i < bytes.length; i += 16384) f.push(bytes.subarray(i, i + 16384), (p) => void got.push(p));
    const used = process.cpuUsage(t0);
    const ms = (used.user + used.system) / 1000;
    expect(got.map((p) => [p.seq, p.lastSeq, p.payload.length])).toEqual([[0, 0, MAX - 1], [1, 2, MAX]]);
    expect(got[0]!.payload.equals(big1.subarray(0, MAX - 1))).toBe(true);
    expect(got[1]!.payload.equals(big1.subarray(0, MAX))).toBe(true);
    expect(ms).toBeLessThan(1500);
  });
});

describe('PacketFramer: stopping and draining', () => {
  const pkts = [phys(3, 0, Buffer.from('abc')), phys(0, 1), phys(5, 2, Buffer.from('defgh'))];
  const stream = Buffer.concat(pkts);

  it('onPacket returning false stops and keeps the rest for the next push', () => {
    const f = new PacketFramer(1000);
    const got: string[] = [];
    expect(f.push(stream, (p) => {
      got.push(p.payload.toString());
      return false;
    })).toBeNull();
    expect(got).toEqual(['abc']);
    expect(f.hasPartial).toBe(true);
    // An empty push processes what was kept.
    f.push(Buffer.alloc(0), (p) => {
      got.push(p.payload.toString());
      return p.seq !== 1;
    });
    expect(got).toEqual(['abc', '']);
    f.push(Buffer.alloc(0), (p) => void got.push(p.payload.toString()));
    expect(got).toEqual(['abc', '', 'defgh']);
    expect(f.hasPartial).toBe(false);
  });

  it('takePending returns exactly the unconsumed bytes, including a partial packet', () => {
    const f = new PacketFramer(1000);
    const extra = phys(10, 3, pattern(10)).subarray(0, 7);
    f.push(Buffer.concat([stream, extra]), () => false);
    expect(f.takePending()).toEqual(Buffer.concat([pkts[1]!, pkts[2]!, extra]));
    expect(f.hasPartial).toBe(false);
    expect(f.takePending()).toBeNull();

    // Partial packet fed in several pieces, then drained (e.g. switching to raw forwarding).
    const g = new PacketFramer(1000);
    const whole = phys(40, 1, pattern(40));
    g.push(whole.subarray(0, 2), () => {});
    g.push(whole.subarray(2, 10), () => {});
    g.push(whole.subarray(10, 30), () => {});
    expect(g.takePending()).toEqual(whole.subarray(0, 30));
    expect(g.hasPartial).toBe(false);
  });

  it('onPacket returning false after a reassembled packet keeps the rest', () => {
    const big = pattern(MAX + 2, 3);
    const bytes = Buffer.concat([logical(big, 0), phys(2, 0, Buffer.from('hi'))]);
    const f = new PacketFramer(1 << 30);
    const got: Buffer[] = [];
    f.push(bytes, (p) => {
      got.push(Buffer.from(p.payload));
      return false;
    });
    expect(got).toHaveLength(1);
    expect(got[0]!.equals(big)).toBe(true);
    expect(f.hasPartial).toBe(true);
    f.push(Buffer.alloc(0), (p) => void got.push(Buffer.from(p.payload)));
    expect(got.map((b) => b.length)).toEqual([MAX + 2, 2]);
    expect(f.hasPartial).toBe(false);
  });

  it('reset drops partial state', () => {
    const f = new PacketFramer(1 << 30);
    f.push(phys(MAX, 0).subarray(0, 100), () => {});
    expect(f.hasPartial).toBe(true);
    f.reset();
    expect(f.hasPartial).toBe(false);
    const got: string[] = [];
    f.push(phys(2, 0, Buffer.from('ok')), (p) => void got.push(p.payload.toString()));
    expect(got).toEqual(['ok']);
    // Also in the middle of a multi-packet payload.
    f.push(phys(MAX, 0), () => {});
    f.reset();
    f.push(phys(2, 0, Buffer.from('ok')), (p) => void got.push(p.payload.toString()));
    expect(got).toEqual(['ok', 'ok']);
  });
});

describe('framePacket / framePacketParts', () => {
  const sizes = [0, 1, 250, 0xfffffe, MAX, MAX + 5, 2 * MAX];
  for (const size of sizes) {
    for (const seq of size < MAX ? [0, 254] : [254]) {
      it(`round-trips a payload of ${size} bytes from seq ${seq} through the framer`, () => {
        const payload = pattern(size, size & 0xff);
        const physCount = Math.floor(size / MAX) + 1;
        const { bytes, nextSeq } = framePacket(payload, seq);
        expect(nextSeq).toBe((seq + physCount) & 0xff);
        expect(bytes.length).toBe(size + 4 * physCount);
        // Same bytes as the independent framing.
        expect(bytes.equals(logical(payload, seq))).toBe(true);

        const parts = framePacketParts(payload, seq);
        expect(parts.nextSeq).toBe(nextSeq);
        expect(Buffer.concat(parts.parts).equals(bytes)).toBe(true);
        // Payload pieces are views, not copies; empty pieces are omitted.
        for (const p of parts.parts) {
          expect(p.length).toBeGreaterThan(0);
          if (p.length > 4) expect(p.buffer).toBe(payload.buffer);
        }

        const f = new PacketFramer(1 << 30);
        const got: FramedPacket[] = [];
        // Chunk it a little so continuation handling across pushes is exercised too.
        const step = size > 1000 ? 5_000_000 : 3;
        for (let i = 0; i < bytes.length; i += step) {
          expect(f.push(bytes.subarray(i, i + step), (p) => void got.push({ ...p, payload: Buffer.from(p.payload) }))).toBeNull();
        }
        expect(got).toHaveLength(1);
        expect(got[0]!.seq).toBe(seq);
        expect(got[0]!.lastSeq).toBe((nextSeq + 255) & 0xff);
        expect(got[0]!.payload.length).toBe(size);
        expect(got[0]!.payload.equals(payload)).toBe(true);
        expect(got[0]!.raw === null).toBe(physCount > 1);
        expect(f.hasPartial).toBe(false);
      });
    }
  }
});

describe('PayloadWriter / PayloadReader', () => {
  it('round-trips length-encoded integers at every encoding boundary', () => {
    const values = [0, 1, 250, 251, 252, 0xffff, 0x10000, 0xffffff, 0x1000000, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER];
    const w = new PayloadWriter(1);
    for (const v of values) w.lenenc(v);
    const buf = Buffer.from(w.payload());
    const r = new PayloadReader(buf);
    let pos = 0;
    for (const v of values) {
      const peek = peekLenenc(buf, pos, buf.length);
      expect(peek?.value).toBe(v);
      expect(r.lenenc()).toBe(v);
      pos += peek!.size;
      expect(r.pos).toBe(pos);
    }
    expect(r.remaining).toBe(0);
    // Sizes follow the protocol: 1, 3, 4 or 9 bytes.
    const size = (v: number) => new PayloadWriter().lenenc(v).payload().length;
    expect([250, 251, 0xffff, 0x10000, 0xffffff, 0x1000000].map(size)).toEqual([1, 3, 3, 4, 4, 9]);
  });

  it('peekLenenc returns null when the integer does not fit in the bytes available', () => {
    const b = Buffer.from([0xfc, 0x01, 0x02, 0xfd, 1, 2, 3, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(peekLenenc(b, 0, 2)).toBeNull();
    expect(peekLenenc(b, 0, 3)).toEqual({ value: 0x0201, size: 3 });
    expect(peekLenenc(b, 3, 6)).toBeNull();
    expect(peekLenenc(b, 7, 15)).toBeNull();
    expect(peekLenenc(b, 7, 16)).toEqual({ value: 0x0807060504030201, size: 9 });
    expect(peekLenenc(Buffer.from([0xff]), 0, 1)).toBeNull();
    expect(peekLenenc(b, 5, 5)).toBeNull();
  });

  it('grows past its initial size and writes every field type little-endian', () => {
    const w = new PayloadWriter(1);
    w.u8(0x1ff).u16(0x10203).u24(0x40506).u32(0xfffffffe).nulStr('ab').lenencBytes(Buffer.from('xyz')).zeros(3).str('é');
    expect(w.payload().toString('hex')).toBe('ff' + '0302' + '060504' + 'feffffff' + '616200' + '0378797a' + '000000' + 'c3a9');
    const big = new PayloadWriter(2).bytes(pattern(100_000));
    expect(big.payload().equals(pattern(100_000))).toBe(true);
  });
});
