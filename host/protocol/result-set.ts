// A collected result set read into columns and rows, for filters that look at replies
// (wsx_on_result). Text-protocol values are the server's text; binary-protocol values (prepared
// statements) are turned into the same text a text-protocol query would give, so a filter sees one
// representation. Pure code over Buffers; only the first result set of a reply is read.
import { PayloadReader } from './reader.js';

/** MariaDB column types (enum_field_types). */
export const ColumnType = {
  DECIMAL: 0, TINY: 1, SHORT: 2, LONG: 3, FLOAT: 4, DOUBLE: 5, NULL: 6, TIMESTAMP: 7, LONGLONG: 8, INT24: 9,
  DATE: 10, TIME: 11, DATETIME: 12, YEAR: 13, NEWDATE: 14, VARCHAR: 15, BIT: 16, JSON: 245, NEWDECIMAL: 246,
  ENUM: 247, SET: 248, TINY_BLOB: 249, MEDIUM_BLOB: 250, LONG_BLOB: 251, BLOB: 252, VAR_STRING: 253, STRING: 254, GEOMETRY: 255,
} as const;

const UNSIGNED_FLAG = 32;

export interface ResultColumn {
  schema: string;
  table: string;
  name: string;
  type: number;
  flags: number;
  decimals: number;
}

export interface ResultRows {
  columns: ResultColumn[];
  /** Each value as text (binary values converted), null for SQL NULL. */
  rows: (Buffer | null)[][];
}

/** Splits `bytes` into packet payloads (16 MiB continuations joined); an incomplete last packet is left out. */
export function packets(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  let parts: Buffer[] = [];
  while (pos + 4 <= bytes.length) {
    const len = bytes[pos]! | (bytes[pos + 1]! << 8) | (bytes[pos + 2]! << 16);
    if (pos + 4 + len > bytes.length) break; // cut short (a bounded prefix of a big reply)
    const body = bytes.subarray(pos + 4, pos + 4 + len);
    pos += 4 + len;
    if (len === 0xffffff) {
      parts.push(body);
      continue;
    }
    out.push(parts.length ? Buffer.concat([...parts, body]) : body);
    parts = [];
  }
  return out;
}

function columnDef(p: Buffer): ResultColumn {
  const r = new PayloadReader(p);
  r.lenencBytes(); // catalog
  const schema = r.lenencBytes().toString('utf8');
  const table = r.lenencBytes().toString('utf8');
  r.lenencBytes(); // org_table
  const name = r.lenencBytes().toString('utf8');
  r.lenencBytes(); // org_name
  // MariaDB extended metadata (MARIADB_CLIENT_EXTENDED_METADATA) comes before the fixed part.
  if (r.remaining > 0 && r.buf[r.pos] !== 0x0c) r.lenencBytes();
  r.lenenc(); // length of the fixed fields: 0x0c
  r.u16(); // charset
  r.u32(); // column length
  const type = r.u8();
  const flags = r.u16();
  const decimals = r.u8();
  return { schema, table, name, type, flags, decimals };
}

function textRow(p: Buffer, n: number): (Buffer | null)[] {
  const r = new PayloadReader(p);
  const row: (Buffer | null)[] = [];
  for (let i = 0; i < n; i++) {
    if (r.buf[r.pos] === 0xfb) {
      r.pos++;
      row.push(null);
    } else row.push(r.lenencBytes());
  }
  return row;
}

const pad = (v: number, n = 2): string => String(v).padStart(n, '0');

function fraction(us: number, decimals: number): string {
  if (decimals <= 0 || decimals > 6) return us ? `.${pad(us, 6)}` : '';
  return `.${pad(us, 6).slice(0, decimals)}`;
}

function binaryValue(r: PayloadReader, c: ResultColumn): Buffer {
  const unsigned = (c.flags & UNSIGNED_FLAG) !== 0;
  const text = (s: string | number | bigint): Buffer => Buffer.from(String(s));
  switch (c.type) {
    case ColumnType.TINY: {
      const v = r.u8();
      return text(unsigned ? v : (v << 24) >> 24);
    }
    case ColumnType.SHORT:
    case ColumnType.YEAR: {
      const v = r.u16();
      return text(unsigned || c.type === ColumnType.YEAR ? v : (v << 16) >> 16);
    }
    case ColumnType.LONG:
    case ColumnType.INT24: {
      const b = r.bytes(4);
      return text(unsigned ? b.readUInt32LE(0) : b.readInt32LE(0));
    }
    case ColumnType.LONGLONG: {
      const b = r.bytes(8);
      return text(unsigned ? b.readBigUInt64LE(0) : b.readBigInt64LE(0));
    }
    case ColumnType.FLOAT:
      return text(r.bytes(4).readFloatLE(0));
    case ColumnType.DOUBLE:
      return text(r.bytes(8).readDoubleLE(0));
    case ColumnType.DATE:
    case ColumnType.DATETIME:
    case ColumnType.TIMESTAMP: {
      const n = r.u8();
      const b = r.bytes(n);
      const y = n >= 4 ? b.readUInt16LE(0) : 0;
      const date = `${pad(y, 4)}-${pad(n >= 4 ? b[2]! : 0)}-${pad(n >= 4 ? b[3]! : 0)}`;
      if (c.type === ColumnType.DATE) return text(date);
      const time = `${pad(n >= 7 ? b[4]! : 0)}:${pad(n >= 7 ? b[5]! : 0)}:${pad(n >= 7 ? b[6]! : 0)}`;
      return text(`${date} ${time}${fraction(n >= 11 ? b.readUInt32LE(7) : 0, c.decimals)}`);
    }
    case ColumnType.TIME: {
      const n = r.u8();
      const b = r.bytes(n);
      if (n === 0) return text(`00:00:00${fraction(0, c.decimals)}`);
      const neg = b[0] === 1;
      const hours = b.readUInt32LE(1) * 24 + b[5]!;
      return text(`${neg ? '-' : ''}${pad(hours)}:${pad(b[6]!)}:${pad(b[7]!)}${fraction(n >= 12 ? b.readUInt32LE(8) : 0, c.decimals)}`);
    }
    default:
      // DECIMAL, strings, blobs, JSON, ENUM, SET, BIT, GEOMETRY: length-encoded bytes, as in text.
      return r.lenencBytes();
  }
}

function binaryRow(p: Buffer, columns: ResultColumn[]): (Buffer | null)[] {
  const r = new PayloadReader(p, 1); // 0x00 header
  const n = columns.length;
  const bitmap = r.bytes((n + 7 + 2) >> 3);
  const row: (Buffer | null)[] = [];
  for (let i = 0; i < n; i++) {
    const bit = i + 2;
    if (bitmap[bit >> 3]! & (1 << (bit & 7))) row.push(null);
    else row.push(binaryValue(r, columns[i]!));
  }
  return row;
}

/**
 * Columns and rows of the first result set in a collected reply; null for an OK, ERR or LOCAL
 * INFILE reply. `maxRows` bounds what is read (the rest is not decoded).
 */
export function readResultSet(reply: Buffer, opts: { deprecateEof: boolean; binary: boolean; maxRows?: number }): ResultRows | null {
  const ps = packets(reply);
  const first = ps[0];
  if (!first || first.length === 0 || first[0] === 0x00 || first[0] === 0xff || first[0] === 0xfb) return null;
  const count = new PayloadReader(first).lenenc();
  const columns: ResultColumn[] = [];
  let i = 1;
  for (; i <= count && i < ps.length; i++) columns.push(columnDef(ps[i]!));
  if (!opts.deprecateEof) i++; // the EOF after the column definitions
  const rows: (Buffer | null)[][] = [];
  const max = opts.maxRows ?? Infinity;
  for (; i < ps.length && rows.length < max; i++) {
    const p = ps[i]!;
    if (p[0] === 0xff) break;
    if (p[0] === 0xfe && p.length < 0xffffff && (opts.deprecateEof || p.length < 9)) break;
    rows.push(opts.binary ? binaryRow(p, columns) : textRow(p, columns.length));
  }
  return { columns, rows };
}
