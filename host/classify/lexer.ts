// A MariaDB SQL lexer over bytes. It yields one token per next() call into its own fields (type,
// start, end, kw, code), so scanning a statement allocates nothing. It knows just enough of the
// grammar to find token boundaries: quotes with backslash escapes and doubled quotes, backtick
// identifiers, numbers, hex/bit literals, variables, comments, and executable comments, whose
// content it lexes as SQL (the markers vanish). Malformed input never throws: an unterminated
// string or comment runs to the end.
import { HASH_INIT, Kw, lookupKeyword } from './keywords.js';

/** Token types. */
export const T_END = 0;
/** Unquoted word: keyword (kw != 0) or identifier. */
export const T_WORD = 1;
/** `backtick identifier` (start..end include the backticks). */
export const T_QIDENT = 2;
/** 'string', "string", N'string'. */
export const T_STRING = 3;
export const T_NUMBER = 4;
/** 0x.., X'..', 0b.., b'..'. */
export const T_HEX = 5;
/** @name, @'name', @`name`. */
export const T_VAR = 6;
/** @@name, @@global.name, @@session.name, @@local.name; kw = the name's keyword. */
export const T_SYSVAR = 7;
/** Operator or punctuation; `code` is the character, or one of the P_* codes for two-char ones. */
export const T_PUNCT = 8;
/** `?` placeholder. */
export const T_PARAM = 9;
/** A comment; start..end is its content without the markers. Not for executable comments. */
export const T_COMMENT = 10;

export const P_ASSIGN = 256; // :=
export const P_LE = 257; // <=
export const P_GE = 258; // >=
export const P_NE = 259; // <> !=
export const P_NULLSAFE = 260; // <=>
export const P_SHIFT = 261; // << >>
export const P_OR = 262; // ||
export const P_AND = 263; // &&
export const P_ARROW = 264; // -> ->>

/** T_SYSVAR scope. */
export const SCOPE_NONE = 0;
export const SCOPE_GLOBAL = 1;
export const SCOPE_SESSION = 2;

// Character classes for the first byte of a token.
const C_PUNCT = 0, C_SPACE = 1, C_IDENT = 2, C_DIGIT = 3, C_QUOTE = 4, C_BTICK = 5, C_AT = 6,
  C_DASH = 7, C_HASH = 8, C_SLASH = 9, C_STAR = 10, C_DOT = 11, C_QMARK = 12, C_MULTI = 13;

const CLASS = new Uint8Array(256);
/** Bytes that continue an unquoted identifier. */
const IDENT = new Uint8Array(256);
const DIGIT = new Uint8Array(256);
const HEXDIGIT = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x24 || c >= 0x80;
  const digit = c >= 0x30 && c <= 0x39;
  IDENT[c] = letter || digit ? 1 : 0;
  DIGIT[c] = digit ? 1 : 0;
  HEXDIGIT[c] = digit || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) ? 1 : 0;
  CLASS[c] = letter ? C_IDENT : digit ? C_DIGIT : C_PUNCT;
}
for (const c of [0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]) CLASS[c] = C_SPACE;
CLASS[0x27] = C_QUOTE; // '
CLASS[0x22] = C_QUOTE; // "
CLASS[0x60] = C_BTICK;
CLASS[0x40] = C_AT;
CLASS[0x2d] = C_DASH;
CLASS[0x23] = C_HASH;
CLASS[0x2f] = C_SLASH;
CLASS[0x2a] = C_STAR;
CLASS[0x2e] = C_DOT;
CLASS[0x3f] = C_QMARK;
for (const c of [0x3a, 0x3c, 0x3e, 0x21, 0x7c, 0x26]) CLASS[c] = C_MULTI; // : < > ! | &

/** End of a quoted run opened by `q` at p (p is the opening quote). */
function endQuoted(buf: Uint8Array, p: number, end: number, q: number, backslash: boolean): number {
  p++;
  while (p < end) {
    const c = buf[p]!;
    if (c === q) {
      if (p + 1 < end && buf[p + 1] === q) { p += 2; continue; }
      return p + 1;
    }
    p += backslash && c === 0x5c ? 2 : 1;
  }
  return end;
}

export class Lexer {
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  end = 0;
  /** Inside an executable comment: its closing marker is skipped. */
  inExec = false;
  type = T_END;
  start = 0;
  /** End of the current token (exclusive). */
  stop = 0;
  kw = 0;
  code = 0;
  scope = SCOPE_NONE;

  reset(buf: Uint8Array, start: number, end: number): void {
    this.buf = buf;
    this.pos = start;
    this.end = end > buf.length ? buf.length : end;
    this.inExec = false;
    this.type = T_END;
    this.start = this.stop = start;
    this.kw = 0;
    this.code = 0;
    this.scope = SCOPE_NONE;
  }

  /** Scans the next token into the fields; returns its type (T_END at the end, repeatedly). */
  next(): number {
    const buf = this.buf;
    const end = this.end;
    const prevType = this.type;
    const prevStop = this.stop;
    let p = this.pos;
    for (;;) {
      if (p >= end) return this.tok(T_END, p, p);
      const c = buf[p]!;
      switch (CLASS[c]) {
        case C_SPACE:
          p++;
          continue;
        case C_IDENT: {
          // X'..', B'..', N'..' literals.
          if (p + 1 < end && buf[p + 1] === 0x27) {
            const l = c | 0x20;
            if (l === 0x78 || l === 0x62) return this.tok(T_HEX, p, endQuoted(buf, p + 1, end, 0x27, false));
            if (l === 0x6e) return this.tok(T_STRING, p, endQuoted(buf, p + 1, end, 0x27, true));
          }
          return this.word(p);
        }
        case C_DIGIT:
          return this.number(p);
        case C_QUOTE:
          return this.tok(T_STRING, p, endQuoted(buf, p, end, c, true));
        case C_BTICK:
          return this.tok(T_QIDENT, p, endQuoted(buf, p, end, 0x60, false));
        case C_AT:
          // 'user'@'host', user@host: the @ is punctuation when glued to a name before it.
          if (prevStop === p && (prevType === T_STRING || prevType === T_QIDENT || prevType === T_WORD)) {
            return this.punct(p, p + 1, c);
          }
          return this.variable(p);
        case C_DASH:
          if (p + 1 < end && buf[p + 1] === 0x2d && (p + 2 >= end || buf[p + 2]! <= 0x20)) {
            return this.lineComment(p, p + 2);
          }
          if (p + 1 < end && buf[p + 1] === 0x3e) {
            return this.punct(p, p + 2 < end && buf[p + 2] === 0x3e ? p + 3 : p + 2, P_ARROW);
          }
          return this.punct(p, p + 1, c);
        case C_HASH:
          return this.lineComment(p, p + 1);
        case C_SLASH: {
          if (p + 1 >= end || buf[p + 1] !== 0x2a) return this.punct(p, p + 1, c);
          let q = p + 2;
          if (q < end && buf[q] === 0x4d && q + 1 < end && buf[q + 1] === 0x21) q++; // /*M!
          if (q < end && buf[q] === 0x21) {
            // Executable comment: its content is SQL. Skip the marker and a 5- or 6-digit version.
            q++;
            let d = q;
            while (d < end && DIGIT[buf[d]!] === 1 && d - q < 7) d++;
            if (d - q === 5 || d - q === 6) q = d;
            this.inExec = true;
            p = q;
            continue;
          }
          let e = p + 2;
          while (e + 1 < end && !(buf[e] === 0x2a && buf[e + 1] === 0x2f)) e++;
          if (e + 1 >= end) return this.tok(T_COMMENT, p + 2, end, end);
          return this.tok(T_COMMENT, p + 2, e, e + 2);
        }
        case C_STAR:
          if (this.inExec && p + 1 < end && buf[p + 1] === 0x2f) {
            this.inExec = false;
            p += 2;
            continue;
          }
          return this.punct(p, p + 1, c);
        case C_DOT:
          // .5 is a number unless it qualifies a name (t.5 is table t, column 5).
          if (p + 1 < end && DIGIT[buf[p + 1]!] === 1 && !(prevStop === p && (prevType === T_WORD || prevType === T_QIDENT))) {
            return this.number(p);
          }
          return this.punct(p, p + 1, c);
        case C_QMARK:
          return this.tok(T_PARAM, p, p + 1);
        case C_MULTI:
          return this.operator(p, c);
        default:
          return this.punct(p, p + 1, c);
      }
    }
  }

  private tok(type: number, start: number, stop: number, pos: number = stop): number {
    this.type = type;
    this.start = start;
    this.stop = stop;
    this.pos = pos;
    this.kw = 0;
    return type;
  }

  private punct(start: number, stop: number, code: number): number {
    this.code = code;
    return this.tok(T_PUNCT, start, stop);
  }

  private word(p: number): number {
    const buf = this.buf;
    const end = this.end;
    const s = p;
    let h = HASH_INIT;
    do {
      h = Math.imul(h ^ (buf[p]! & 0xdf), 0x01000193);
      p++;
    } while (p < end && IDENT[buf[p]!] === 1);
    this.tok(T_WORD, s, p);
    this.kw = lookupKeyword(buf, s, p, h);
    return T_WORD;
  }

  private number(p: number): number {
    const buf = this.buf;
    const end = this.end;
    const s = p;
    if (buf[p] === 0x30 && p + 2 < end) {
      const x = buf[p + 1]! | 0x20;
      if (x === 0x78 && HEXDIGIT[buf[p + 2]!] === 1) {
        p += 2;
        while (p < end && HEXDIGIT[buf[p]!] === 1) p++;
        if (p >= end || IDENT[buf[p]!] === 0) return this.tok(T_HEX, s, p);
        return this.word(s);
      }
      if (x === 0x62 && (buf[p + 2] === 0x30 || buf[p + 2] === 0x31)) {
        p += 2;
        while (p < end && (buf[p] === 0x30 || buf[p] === 0x31)) p++;
        if (p >= end || IDENT[buf[p]!] === 0) return this.tok(T_HEX, s, p);
        return this.word(s);
      }
    }
    while (p < end && DIGIT[buf[p]!] === 1) p++;
    if (p < end && buf[p] === 0x2e) {
      p++;
      while (p < end && DIGIT[buf[p]!] === 1) p++;
    }
    if (p < end && (buf[p]! | 0x20) === 0x65) {
      let q = p + 1;
      if (q < end && (buf[q] === 0x2b || buf[q] === 0x2d)) q++;
      if (q < end && DIGIT[buf[q]!] === 1) {
        p = q;
        while (p < end && DIGIT[buf[p]!] === 1) p++;
      }
    }
    // 123abc is an identifier in MariaDB.
    if (p < end && IDENT[buf[p]!] === 1 && buf[s] !== 0x2e) return this.word(s);
    return this.tok(T_NUMBER, s, p);
  }

  private variable(p: number): number {
    const buf = this.buf;
    const end = this.end;
    const s = p;
    if (p + 1 < end && buf[p + 1] === 0x40) {
      // @@[scope.]name
      p += 2;
      let ns = p;
      let h = HASH_INIT;
      while (p < end && IDENT[buf[p]!] === 1) { h = Math.imul(h ^ (buf[p]! & 0xdf), 0x01000193); p++; }
      let scope = SCOPE_NONE;
      if (p + 1 < end && buf[p] === 0x2e && IDENT[buf[p + 1]!] === 1) {
        const k = lookupKeyword(buf, ns, p, h);
        scope = k === Kw.GLOBAL ? SCOPE_GLOBAL : k === Kw.SESSION || k === Kw.LOCAL ? SCOPE_SESSION : SCOPE_NONE;
        p++;
        ns = p;
        h = HASH_INIT;
        while (p < end && IDENT[buf[p]!] === 1) { h = Math.imul(h ^ (buf[p]! & 0xdf), 0x01000193); p++; }
      }
      this.tok(T_SYSVAR, s, p);
      this.kw = lookupKeyword(buf, ns, p, h);
      this.scope = scope;
      return T_SYSVAR;
    }
    p++;
    if (p < end) {
      const c = buf[p]!;
      if (c === 0x27 || c === 0x22 || c === 0x60) return this.tok(T_VAR, s, endQuoted(buf, p, end, c, c !== 0x60));
      if (IDENT[c] === 1 || c === 0x2e) {
        while (p < end && (IDENT[buf[p]!] === 1 || buf[p] === 0x2e)) p++;
        return this.tok(T_VAR, s, p);
      }
    }
    return this.punct(s, s + 1, 0x40);
  }

  private operator(p: number, c: number): number {
    const buf = this.buf;
    const n = p + 1 < this.end ? buf[p + 1]! : 0;
    switch (c) {
      case 0x3a: // :
        return n === 0x3d ? this.punct(p, p + 2, P_ASSIGN) : this.punct(p, p + 1, c);
      case 0x3c: // <
        if (n === 0x3d) {
          if (p + 2 < this.end && buf[p + 2] === 0x3e) return this.punct(p, p + 3, P_NULLSAFE);
          return this.punct(p, p + 2, P_LE);
        }
        if (n === 0x3e) return this.punct(p, p + 2, P_NE);
        if (n === 0x3c) return this.punct(p, p + 2, P_SHIFT);
        return this.punct(p, p + 1, c);
      case 0x3e: // >
        if (n === 0x3d) return this.punct(p, p + 2, P_GE);
        if (n === 0x3e) return this.punct(p, p + 2, P_SHIFT);
        return this.punct(p, p + 1, c);
      case 0x21: // !
        return n === 0x3d ? this.punct(p, p + 2, P_NE) : this.punct(p, p + 1, c);
      case 0x7c: // |
        return n === 0x7c ? this.punct(p, p + 2, P_OR) : this.punct(p, p + 1, c);
      default: // &
        return n === 0x26 ? this.punct(p, p + 2, P_AND) : this.punct(p, p + 1, c);
    }
  }

  private lineComment(p: number, content: number): number {
    const buf = this.buf;
    const end = this.end;
    let e = content;
    while (e < end && buf[e] !== 0x0a) e++;
    return this.tok(T_COMMENT, content, e, e);
  }
}
