// A minimal reader of the WebAssembly binary format: just the sections the sandbox checks
// before instrumenting (imports, tables, memories, exports), and a rewrite of the memory
// section's limits. Runs without binaryen, so a bad module is refused in microseconds.
//
// Call it only on bytes that passed WebAssembly.validate(): it trusts the structure and throws
// a plain Error on anything it cannot decode.

export type ExternKind = 'function' | 'table' | 'memory' | 'global' | 'tag';

const EXTERN_KINDS: readonly ExternKind[] = ['function', 'table', 'memory', 'global', 'tag'];

/** Limits of a memory or table. `flags` is the raw limits byte (bit 0 max, 1 shared, 2 64-bit, 3 page size). */
export interface Limits {
  flags: number;
  initial: number;
  max: number | undefined;
  shared: boolean;
  is64: boolean;
  customPageSize: boolean;
}

export interface ImportEntry {
  module: string;
  name: string;
  kind: ExternKind;
  /** For memory and table imports. */
  limits?: Limits;
}

export interface TableEntry {
  /** Reference type byte (0x70 funcref, 0x6f externref); 0 when the encoding is one the sandbox refuses. */
  refType: number;
  limits: Limits | undefined;
}

export interface ExportEntry {
  name: string;
  kind: ExternKind;
  index: number;
}

export interface ModuleLayout {
  imports: ImportEntry[];
  /** Memories defined by the module (the memory section), in index order after imported ones. */
  memories: Limits[];
  tables: TableEntry[];
  exports: ExportEntry[];
}

const SECTION_IMPORT = 2;
const SECTION_TABLE = 4;
const SECTION_MEMORY = 5;
const SECTION_EXPORT = 7;

class Reader {
  pos: number;
  constructor(readonly bytes: Uint8Array, start: number, readonly end: number) {
    this.pos = start;
  }
  byte(): number {
    if (this.pos >= this.end) throw new Error('unexpected end of section');
    return this.bytes[this.pos++]!;
  }
  /** Unsigned LEB128 up to 64 bits, as a Number (exact up to 2^53). */
  uleb(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new Error('LEB128 too long');
  }
  /** Signed LEB128 of a heap type; only its length matters here. */
  sleb(): void {
    for (let i = 0; i < 10; i++) if ((this.byte() & 0x80) === 0) return;
    throw new Error('LEB128 too long');
  }
  name(): string {
    const len = this.uleb();
    if (this.pos + len > this.end) throw new Error('name past end of section');
    const s = new TextDecoder('utf-8', { fatal: false }).decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }
  limits(): Limits {
    const flags = this.byte();
    const initial = this.uleb();
    const max = flags & 0x01 ? this.uleb() : undefined;
    if (flags & 0x08) this.uleb(); // custom page size exponent
    return { flags, initial, max, shared: (flags & 0x02) !== 0, is64: (flags & 0x04) !== 0, customPageSize: (flags & 0x08) !== 0 };
  }
  /** A value type: one byte, or a (ref null? ht) with a heap type that follows. */
  valType(): void {
    const t = this.byte();
    if (t === 0x63 || t === 0x64) this.sleb();
  }
}

function tableType(r: Reader): TableEntry {
  const refType = r.byte();
  if (refType === 0x63 || refType === 0x64) {
    r.sleb();
    return { refType: 0, limits: r.limits() };
  }
  return { refType, limits: r.limits() };
}

interface SectionSpan {
  id: number;
  /** Offset of the id byte. */
  start: number;
  payloadStart: number;
  end: number;
}

function* sections(bytes: Uint8Array): Generator<SectionSpan> {
  if (bytes.length < 8) throw new Error('module too short');
  const r = new Reader(bytes, 8, bytes.length);
  while (r.pos < bytes.length) {
    const start = r.pos;
    const id = r.byte();
    const size = r.uleb();
    const payloadStart = r.pos;
    const end = payloadStart + size;
    if (end > bytes.length) throw new Error('section past end of module');
    yield { id, start, payloadStart, end };
    r.pos = end;
  }
}

export function readLayout(bytes: Uint8Array): ModuleLayout {
  const layout: ModuleLayout = { imports: [], memories: [], tables: [], exports: [] };
  for (const s of sections(bytes)) {
    const r = new Reader(bytes, s.payloadStart, s.end);
    if (s.id === SECTION_IMPORT) {
      for (let n = r.uleb(); n > 0; n--) {
        const module = r.name();
        const name = r.name();
        const kindByte = r.byte();
        const kind = EXTERN_KINDS[kindByte];
        if (!kind) throw new Error(`unknown import kind ${kindByte}`);
        const entry: ImportEntry = { module, name, kind };
        if (kind === 'function') r.uleb();
        else if (kind === 'table') entry.limits = tableType(r).limits;
        else if (kind === 'memory') entry.limits = r.limits();
        else if (kind === 'global') {
          r.valType();
          r.byte();
        } else {
          r.byte();
          r.uleb();
        }
        layout.imports.push(entry);
      }
    } else if (s.id === SECTION_TABLE) {
      for (let n = r.uleb(); n > 0; n--) {
        if (bytes[r.pos] === 0x40) {
          // table with an initializer expression (function-references proposal): not parsed
          layout.tables.push({ refType: 0, limits: undefined });
          break;
        }
        layout.tables.push(tableType(r));
      }
    } else if (s.id === SECTION_MEMORY) {
      for (let n = r.uleb(); n > 0; n--) layout.memories.push(r.limits());
    } else if (s.id === SECTION_EXPORT) {
      for (let n = r.uleb(); n > 0; n--) {
        const name = r.name();
        const kindByte = r.byte();
        const kind = EXTERN_KINDS[kindByte];
        if (!kind) throw new Error(`unknown export kind ${kindByte}`);
        layout.exports.push({ name, kind, index: r.uleb() });
      }
    }
  }
  return layout;
}

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) b |= 0x80;
    out.push(b);
  } while (value > 0);
  return out;
}

/**
 * Returns a copy of `bytes` whose single defined 32-bit memory declares `maxPages` as its
 * maximum (keeping its initial size). Everything else is copied byte for byte.
 */
export function withMemoryMaximum(bytes: Uint8Array, maxPages: number): Uint8Array {
  for (const s of sections(bytes)) {
    if (s.id !== SECTION_MEMORY) continue;
    const r = new Reader(bytes, s.payloadStart, s.end);
    if (r.uleb() !== 1) throw new Error('expected exactly one memory');
    const limits = r.limits();
    if (limits.shared || limits.is64 || limits.customPageSize) throw new Error('unsupported memory limits');
    if (r.pos !== s.end) throw new Error('trailing bytes in memory section');
    const payload = [1, limits.flags | 0x01, ...uleb(limits.initial), ...uleb(maxPages)];
    const section = [SECTION_MEMORY, ...uleb(payload.length), ...payload];
    const out = new Uint8Array(bytes.length - (s.end - s.start) + section.length);
    out.set(bytes.subarray(0, s.start), 0);
    out.set(section, s.start);
    out.set(bytes.subarray(s.end), s.start + section.length);
    return out;
  }
  throw new Error('module defines no memory');
}
