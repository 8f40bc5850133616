// Packets the session builds or keeps itself, as opposed to views of the client's read buffer.
import type { FramedPacket } from '../protocol/framer.js';

/** A command a filter rewrote: sent as a fresh packet (split if it reaches 16 MiB). */
export function rewrittenPacket(payload: Buffer): FramedPacket {
  return { seq: 0, lastSeq: Math.floor(payload.length / 0xffffff) & 0xff, payload, raw: null };
}

/** A private copy; payload stays a view of raw (mapStatement edits the payload, writeTo sends raw). */
export function copyPacket(p: FramedPacket): FramedPacket {
  if (!p.raw) return { seq: p.seq, lastSeq: p.lastSeq, payload: Buffer.from(p.payload), raw: null };
  const raw = Buffer.from(p.raw);
  return { seq: p.seq, lastSeq: p.lastSeq, payload: raw.subarray(4), raw };
}
