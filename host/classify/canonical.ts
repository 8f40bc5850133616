// The canonical form of a statement and its digest. Conventions (close to MaxScale's canonical
// form and performance_schema's digest text):
// - string, number, hex and bit literals and `?` placeholders become `?`; NULL, TRUE and FALSE
//   stay (they are keywords: `IS NULL` and `= ?` must not share a digest);
// - `IN (<only literals>)` becomes `IN (...)` whatever the list's length;
// - `VALUES (row), (row), ...` keeps the first row only;
// - comments are dropped, an executable comment's content is kept without its markers;
// - keywords (keywords.ts) are upper-cased, other words, `quoted` names and variables are kept;
// - one space between tokens, none after `(` and `.`, none before `)`, `,`, `.` and `;`; a
//   trailing `;` is dropped, `;` between statements is kept.
// The Canon emitter streams those bytes either into the digest only (the hot path) or also into
// a byte array (canonical(), which may allocate).
import { Kw } from './keywords.js';
import { Lexer, T_COMMENT, T_END, T_HEX, T_NUMBER, T_PARAM, T_PUNCT, T_STRING, T_WORD } from './lexer.js';

const Q = 1, NUL = 2, COMMA = 3; // IN-list pending codes; signs are stored as their character

// VALUES row-list states.
const V_NONE = 0, V_EXPECT = 1, V_FIRST = 2, V_AFTER = 3, V_COMMA = 4, V_SKIP = 5;

// A Buffer, like the statements' own buffers, so that emit()'s byte loads see one kind of array.
const TEXT = Buffer.from('?...NULL,()');
const AT_Q = 0, AT_DOTS = 1, AT_NULL = 4, AT_COMMA = 8, AT_OPEN = 9, AT_CLOSE = 10;

/** Spacing classes. */
const S_NORMAL = 0, S_TIGHT_BEFORE = 1, S_OPEN = 2, S_DOT = 3;

export class Canon {
  // The digest's state: FNV-1a 64 in four 16-bit limbs, as in Fnv64 (kept here so that the
  // per-byte loop touches no other object).
  private h0 = 0;
  private h1 = 0;
  private h2 = 0;
  private h3 = 0;
  /** Canonical bytes, when collecting (see reset). */
  out: Uint8Array | null = null;
  outLen = 0;
  private collect = false;
  private tightAfter = true;
  /** Something was emitted. */
  private started = false;
  private pendingSemi = false;
  private lastWasIn = false;
  private inList = false;
  private pend = new Uint8Array(64);
  private pendLen = 0;
  private pendValues = 0;
  private depth = 0;
  private vState = V_NONE;
  private vDepth = 0;
  private skipDepth = 0;

  /** Starts a statement text; `collect` also keeps the bytes in `out`. */
  reset(collect: boolean): void {
    this.h0 = 0x2325;
    this.h1 = 0x8422;
    this.h2 = 0x9ce4;
    this.h3 = 0xcbf2;
    this.collect = collect;
    if (collect && this.out === null) this.out = new Uint8Array(256);
    this.outLen = 0;
    this.tightAfter = true;
    this.started = false;
    this.pendingSemi = false;
    this.lastWasIn = false;
    this.inList = false;
    this.pendLen = 0;
    this.pendValues = 0;
    this.depth = 0;
    this.vState = V_NONE;
    this.skipDepth = 0;
  }

  /** Low u32 of the digest. */
  get lo(): number {
    return ((this.h1 << 16) | this.h0) >>> 0;
  }

  /** High u32 of the digest. */
  get hi(): number {
    return ((this.h3 << 16) | this.h2) >>> 0;
  }

  /** Ends the text: an IN list still open is written out as it was. */
  finish(): void {
    if (this.inList) this.flushList();
  }

  /** Feeds the lexer's current token (not T_COMMENT, not T_END). */
  feed(lx: Lexer): void {
    // Most tokens are outside IN lists and VALUES rows: one test sends them straight on.
    if (this.vState === V_NONE && !this.inList && !this.lastWasIn) this.plain(lx, lx.type);
    else this.feedSlow(lx);
  }

  private feedSlow(lx: Lexer): void {
    const type = lx.type;
    const code = type === T_PUNCT ? lx.code : 0;
    switch (this.vState) {
      case V_SKIP:
        if (code === 0x28) this.skipDepth++;
        else if (code === 0x29 && --this.skipDepth === 0) this.vState = V_AFTER;
        return;
      case V_COMMA:
        if (code === 0x28) {
          this.vState = V_SKIP;
          this.skipDepth = 1;
          return;
        }
        this.vState = V_NONE;
        this.text(AT_COMMA, 1, S_TIGHT_BEFORE);
        break;
      case V_AFTER:
        if (code === 0x2c) {
          this.vState = V_COMMA;
          return;
        }
        this.vState = V_NONE;
        break;
    }
    const literal = type === T_STRING || type === T_NUMBER || type === T_HEX || type === T_PARAM;
    if (this.inList) {
      if (literal || lx.kw === Kw.NULL) {
        this.push(literal ? Q : NUL);
        this.pendValues++;
        return;
      }
      if (code === 0x2c || code === 0x2d || code === 0x2b) {
        this.push(code === 0x2c ? COMMA : code);
        return;
      }
      if (code === 0x29 && this.pendValues > 0) {
        this.inList = false;
        this.depth--;
        this.text(AT_OPEN, 1, S_OPEN);
        this.text(AT_DOTS, 3, S_NORMAL);
        this.text(AT_CLOSE, 1, S_TIGHT_BEFORE);
        this.lastWasIn = false;
        return;
      }
      this.flushList();
    }
    if (code === 0x28 && this.lastWasIn) {
      this.inList = true;
      this.depth++;
      this.pendLen = 0;
      this.pendValues = 0;
      this.lastWasIn = false;
      return;
    }
    if (this.vState === V_EXPECT) {
      if (code === 0x28) {
        this.vState = V_FIRST;
        this.vDepth = this.depth;
      } else {
        this.vState = V_NONE;
      }
    }
    this.lastWasIn = false;
    this.plain(lx, type);
  }

  /** Emits a token outside the IN-list and VALUES-row handling. */
  private plain(lx: Lexer, type: number): void {
    if (type === T_STRING || type === T_NUMBER || type === T_HEX || type === T_PARAM) {
      this.text(AT_Q, 1, S_NORMAL);
    } else if (type === T_WORD) {
      const kw = lx.kw;
      this.emit(lx.buf, lx.start, lx.stop, kw !== Kw.NONE, S_NORMAL);
      if (kw === Kw.IN) this.lastWasIn = true;
      else if (kw === Kw.VALUES || kw === Kw.VALUE) this.vState = V_EXPECT;
    } else if (type === T_PUNCT) {
      switch (lx.code) {
        case 0x28:
          this.depth++;
          this.emit(lx.buf, lx.start, lx.stop, false, S_OPEN);
          break;
        case 0x29:
          this.depth--;
          this.emit(lx.buf, lx.start, lx.stop, false, S_TIGHT_BEFORE);
          if (this.vState === V_FIRST && this.depth === this.vDepth) this.vState = V_AFTER;
          break;
        case 0x2c:
          this.emit(lx.buf, lx.start, lx.stop, false, S_TIGHT_BEFORE);
          break;
        case 0x2e:
          this.emit(lx.buf, lx.start, lx.stop, false, S_DOT);
          break;
        case 0x3b:
          if (this.started) this.pendingSemi = true; // a leading ';' is dropped
          break;
        default:
          this.emit(lx.buf, lx.start, lx.stop, false, S_NORMAL);
      }
    } else {
      this.emit(lx.buf, lx.start, lx.stop, false, S_NORMAL);
    }
  }

  private push(c: number): void {
    if (this.pendLen === this.pend.length) {
      const n = new Uint8Array(this.pend.length * 2); // rare: lists of more than 32 values
      n.set(this.pend);
      this.pend = n;
    }
    this.pend[this.pendLen++] = c;
  }

  /** Writes a pending IN list as it was: `(` and its values. */
  private flushList(): void {
    this.inList = false;
    this.text(AT_OPEN, 1, S_OPEN);
    for (let i = 0; i < this.pendLen; i++) {
      const c = this.pend[i]!;
      if (c === Q) this.text(AT_Q, 1, S_NORMAL);
      else if (c === NUL) this.text(AT_NULL, 4, S_NORMAL);
      else if (c === COMMA) this.text(AT_COMMA, 1, S_TIGHT_BEFORE);
      else this.emitByte(c);
    }
    this.pendLen = 0;
  }

  /** The separator before a token: a pending ';' between statements, then a space unless tight. */
  private space(spacing: number): void {
    if (this.pendingSemi) {
      this.pendingSemi = false;
      this.put(0x3b);
      this.tightAfter = false;
    }
    if (!this.tightAfter && spacing !== S_TIGHT_BEFORE && spacing !== S_DOT) this.put(0x20);
  }

  private text(at: number, len: number, spacing: number): void {
    this.emit(TEXT, at, at + len, false, spacing);
  }

  private emitByte(c: number): void {
    this.space(S_NORMAL);
    this.tightAfter = false;
    this.started = true;
    this.put(c);
  }

  /** Hashes (and collects) buf[start..end) after the separator `spacing` asks for. */
  private emit(buf: Uint8Array, start: number, end: number, upper: boolean, spacing: number): void {
    if (this.pendingSemi || !this.tightAfter) this.space(spacing);
    this.tightAfter = spacing === S_OPEN || spacing === S_DOT;
    this.started = true;
    if (end - start === 1 && !upper) {
      this.put(buf[start]!); // one-byte tokens (`?`, `,`, `(`, `=`, ...) are half of all tokens
      return;
    }
    // FNV-1a 64 on four 16-bit limbs (see digest.ts), inlined: this loop is the digest's cost.
    let h0 = this.h0;
    let h1 = this.h1;
    let h2 = this.h2;
    let h3 = this.h3;
    for (let i = start; i < end; i++) {
      let c = buf[i]!;
      if (upper && c >= 0x61 && c <= 0x7a) c -= 32;
      const l0 = h0 ^ c;
      const t0 = l0 * 0x1b3;
      const t1 = h1 * 0x1b3 + (t0 >>> 16);
      const t2 = h2 * 0x1b3 + (t1 >>> 16) + (l0 << 8);
      h3 = (h3 * 0x1b3 + (t2 >>> 16) + (h1 << 8)) & 0xffff;
      h2 = t2 & 0xffff;
      h1 = t1 & 0xffff;
      h0 = t0 & 0xffff;
    }
    this.h0 = h0;
    this.h1 = h1;
    this.h2 = h2;
    this.h3 = h3;
    if (this.collect) this.collectRange(buf, start, end, upper);
  }

  private collectRange(buf: Uint8Array, start: number, end: number, upper: boolean): void {
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      this.store(upper && c >= 0x61 && c <= 0x7a ? c - 32 : c);
    }
  }

  private put(c: number): void {
    const l0 = this.h0 ^ c;
    const h1 = this.h1;
    const t0 = l0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = this.h2 * 0x1b3 + (t1 >>> 16) + (l0 << 8);
    this.h3 = (this.h3 * 0x1b3 + (t2 >>> 16) + (h1 << 8)) & 0xffff;
    this.h2 = t2 & 0xffff;
    this.h1 = t1 & 0xffff;
    this.h0 = t0 & 0xffff;
    if (this.collect) this.store(c);
  }

  private store(c: number): void {
    let out = this.out!;
    if (this.outLen === out.length) {
      const n = new Uint8Array(out.length * 2);
      n.set(out);
      this.out = out = n;
    }
    out[this.outLen++] = c;
  }
}

const lexer = new Lexer();
const canon = new Canon();

function run(buf: Uint8Array, start: number, end: number, collect: boolean): void {
  lexer.reset(buf, start, end);
  canon.reset(collect);
  for (let t = lexer.next(); t !== T_END; t = lexer.next()) if (t !== T_COMMENT) canon.feed(lexer);
  canon.finish();
}

/** The canonical form of buf[start..end) (allocates; not for the hot path). */
export function canonical(buf: Uint8Array, start = 0, end = buf.length): string {
  run(buf, start, end, true);
  return Buffer.from(canon.out!.buffer, canon.out!.byteOffset, canon.outLen).toString('utf8');
}

/** The digest of buf[start..end) as an unsigned 64-bit bigint (what classify() computes). */
export function digest(buf: Uint8Array, start = 0, end = buf.length): bigint {
  run(buf, start, end, false);
  return (BigInt(canon.hi) << 32n) | BigInt(canon.lo);
}
