// ReadBuffer (host/session/read-buffer.ts) driven the way Node's `onread` drives it: buffer() for
// the first read, then callback(n, buf) and buffer() again after every read.
import { describe, expect, it } from 'vitest';
import { ReadBuffer } from '../../host/session/read-buffer.js';

/** Simulates one read of `n` bytes into the buffer Node holds; returns the buffer for the next. */
function read(rb: ReadBuffer, into: Buffer, n: number, seen: Buffer[] = []): Buffer {
  into.fill(n & 0xff, 0, n);
  rb.sink = (chunk) => void seen.push(chunk);
  rb.options.callback(n, into);
  return rb.options.buffer();
}

describe('ReadBuffer', () => {
  it('reads into 16 KiB, grows to 64 KiB after a full read, keeps it through the transfer, shrinks when told it is over', () => {
    const rb = new ReadBuffer();
    let b = rb.options.buffer();
    expect(b.length).toBe(16 * 1024);
    // Small reads: the same buffer again (no allocation per read).
    const first = b;
    b = read(rb, b, 100);
    b = read(rb, b, 4000);
    expect(b).toBe(first);
    // A read that fills it: a bulk transfer, 64 KiB from now on.
    b = read(rb, b, 16 * 1024);
    expect(b.length).toBe(64 * 1024);
    const large = b;
    // MariaDB sends results in 16 KiB writes; reads of any size: no reallocation mid-transfer.
    for (const n of [16 * 1024, 65536, 16 * 1024, 300, 30_000, 5000]) b = read(rb, b, n);
    expect(b).toBe(large);
    // The reader saw the transfer end (a reply, a command) during the read: back to 16 KiB.
    rb.sink = () => rb.transferDone();
    rb.options.callback(5000, b);
    b = rb.options.buffer();
    expect(b.length).toBe(16 * 1024);
    // And the next read into it stays there.
    b = read(rb, b, 200);
    expect(b.length).toBe(16 * 1024);
  });

  it('a kept chunk is never written over: the next read goes to a new buffer', () => {
    const rb = new ReadBuffer();
    let b = rb.options.buffer();
    const seen: Buffer[] = [];
    b = read(rb, b, 10, seen);
    const before = b;
    rb.sink = (chunk) => {
      seen.push(chunk);
      rb.keep();
    };
    b.fill(7, 0, 10);
    rb.options.callback(10, b);
    b = rb.options.buffer();
    expect(b).not.toBe(before);
    read(rb, b, 10);
    expect([...seen[1]!]).toEqual(new Array(10).fill(7));
  });
});
