import type { ErrorSpec } from './errors.js';
import { PayloadReader } from './reader.js';
import { PayloadWriter } from './writer.js';

export interface OkPacket {
  affectedRows: number;
  lastInsertId: number;
  status: number;
  warnings: number;
  info: string;
}

export function encodeOk(ok: Partial<OkPacket> & { status: number }): Buffer {
  const w = new PayloadWriter(32);
  w.u8(0).lenenc(ok.affectedRows ?? 0).lenenc(ok.lastInsertId ?? 0).u16(ok.status).u16(ok.warnings ?? 0);
  if (ok.info) w.str(ok.info);
  return Buffer.from(w.payload());
}

/** Parses an OK packet (0x00) or, with DEPRECATE_EOF, the 0xFE packet that ends a result set. */
export function decodeOk(payload: Buffer): OkPacket {
  const r = new PayloadReader(payload, 1);
  const affectedRows = r.lenenc();
  const lastInsertId = r.lenenc();
  const status = r.remaining >= 2 ? r.u16() : 0;
  const warnings = r.remaining >= 2 ? r.u16() : 0;
  return { affectedRows, lastInsertId, status, warnings, info: '' };
}

export function encodeEof(status: number, warnings = 0): Buffer {
  return Buffer.from(new PayloadWriter(8).u8(0xfe).u16(warnings).u16(status).payload());
}

export interface ErrPacket {
  code: number;
  sqlState: string;
  message: string;
}

export function encodeErr(spec: ErrorSpec, message: string): Buffer {
  const w = new PayloadWriter(64 + message.length);
  w.u8(0xff).u16(spec.code).str('#').str(spec.sqlState.padEnd(5, '0').slice(0, 5)).str(message);
  return Buffer.from(w.payload());
}

export function decodeErr(payload: Buffer): ErrPacket {
  const r = new PayloadReader(payload, 1);
  const code = r.u16();
  let sqlState = 'HY000';
  if (r.remaining > 0 && payload[r.pos] === 0x23) {
    r.skip(1);
    sqlState = r.bytes(Math.min(5, r.remaining)).toString('latin1');
  }
  return { code, sqlState, message: r.rest().toString('utf8') };
}
