// A small JSON reader and writer: configuration arrives as JSON (ABI.md §4), and describe()
// answers in JSON. Not for the hot path: it allocates freely.

export namespace JSONKind {
  export const NULL: i32 = 0;
  export const BOOL: i32 = 1;
  export const NUMBER: i32 = 2;
  export const STRING: i32 = 3;
  export const ARRAY: i32 = 4;
  export const OBJECT: i32 = 5;
}

/** A parsed JSON value; check `kind` (JSONKind) or use the typed accessors. */
export class JSONValue {
  kind: i32 = JSONKind.NULL;
  bool: bool = false;
  num: f64 = 0;
  str: string = "";
  items: JSONValue[] = [];
  keys: string[] = [];

  get isNull(): bool { return this.kind == JSONKind.NULL; }
  get isBool(): bool { return this.kind == JSONKind.BOOL; }
  get isNumber(): bool { return this.kind == JSONKind.NUMBER; }
  get isString(): bool { return this.kind == JSONKind.STRING; }
  get isArray(): bool { return this.kind == JSONKind.ARRAY; }
  get isObject(): bool { return this.kind == JSONKind.OBJECT; }

  /** Member of an object by key, or null (also when this is not an object). */
  get(key: string): JSONValue | null {
    if (this.kind != JSONKind.OBJECT) return null;
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] == key) return this.items[i];
    }
    return null;
  }

  get length(): i32 { return this.items.length; }

  at(i: i32): JSONValue { return this.items[i]; }
}

function makeKind(kind: i32): JSONValue {
  const v = new JSONValue();
  v.kind = kind;
  return v;
}

class Parser {
  pos: i32 = 0;
  error: string = "";
  constructor(public base: usize, public len: i32) {}

  peek(): i32 { return this.pos < this.len ? <i32>load<u8>(this.base + this.pos) : -1; }

  skipSpace(): void {
    while (this.pos < this.len) {
      const c = load<u8>(this.base + this.pos);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      this.pos++;
    }
  }

  fail(msg: string): JSONValue | null {
    if (this.error.length == 0) this.error = msg + " at byte " + this.pos.toString();
    return null;
  }

  literal(word: string): bool {
    const n = word.length;
    if (this.pos + n > this.len) return false;
    for (let i = 0; i < n; i++) {
      if (<i32>load<u8>(this.base + this.pos + i) != word.charCodeAt(i)) return false;
    }
    this.pos += n;
    return true;
  }

  value(depth: i32): JSONValue | null {
    if (depth > 64) return this.fail("nesting too deep");
    this.skipSpace();
    const c = this.peek();
    if (c == 0x7b) return this.object(depth);
    if (c == 0x5b) return this.array(depth);
    if (c == 0x22) {
      const s = this.string();
      if (s === null) return null;
      const v = makeKind(JSONKind.STRING);
      v.str = s;
      return v;
    }
    if (c == 0x74 && this.literal("true")) { const v = makeKind(JSONKind.BOOL); v.bool = true; return v; }
    if (c == 0x66 && this.literal("false")) return makeKind(JSONKind.BOOL);
    if (c == 0x6e && this.literal("null")) return makeKind(JSONKind.NULL);
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    return this.fail("unexpected character");
  }

  number(): JSONValue | null {
    const start = this.pos;
    while (this.pos < this.len) {
      const c = load<u8>(this.base + this.pos);
      if ((c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x2b || c == 0x2e || c == 0x65 || c == 0x45) this.pos++;
      else break;
    }
    const text = String.UTF8.decodeUnsafe(this.base + start, this.pos - start);
    const n = parseFloat(text);
    if (isNaN(n)) return this.fail("bad number");
    const v = makeKind(JSONKind.NUMBER);
    v.num = n;
    return v;
  }

  hex4(): i32 {
    if (this.pos + 4 > this.len) return -1;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = <i32>load<u8>(this.base + this.pos + i);
      let d: i32;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      else return -1;
      v = (v << 4) | d;
    }
    this.pos += 4;
    return v;
  }

  string(): string | null {
    this.pos++; // opening quote
    let out = "";
    let runStart = this.pos;
    while (true) {
      if (this.pos >= this.len) { this.fail("unterminated string"); return null; }
      const c = load<u8>(this.base + this.pos);
      if (c == 0x22) {
        out += String.UTF8.decodeUnsafe(this.base + runStart, this.pos - runStart);
        this.pos++;
        return out;
      }
      if (c == 0x5c) {
        out += String.UTF8.decodeUnsafe(this.base + runStart, this.pos - runStart);
        this.pos++;
        const e = this.peek();
        this.pos++;
        if (e == 0x22) out += "\"";
        else if (e == 0x5c) out += "\\";
        else if (e == 0x2f) out += "/";
        else if (e == 0x62) out += "\b";
        else if (e == 0x66) out += "\f";
        else if (e == 0x6e) out += "\n";
        else if (e == 0x72) out += "\r";
        else if (e == 0x74) out += "\t";
        else if (e == 0x75) {
          const u = this.hex4();
          if (u < 0) { this.fail("bad \\u escape"); return null; }
          out += String.fromCharCode(u);
        } else { this.fail("bad escape"); return null; }
        runStart = this.pos;
        continue;
      }
      this.pos++;
    }
  }

  array(depth: i32): JSONValue | null {
    this.pos++;
    const v = makeKind(JSONKind.ARRAY);
    this.skipSpace();
    if (this.peek() == 0x5d) { this.pos++; return v; }
    while (true) {
      const item = this.value(depth + 1);
      if (item === null) return null;
      v.items.push(item);
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c == 0x5d) return v;
      if (c != 0x2c) return this.fail("expected ',' or ']'");
    }
  }

  object(depth: i32): JSONValue | null {
    this.pos++;
    const v = makeKind(JSONKind.OBJECT);
    this.skipSpace();
    if (this.peek() == 0x7d) { this.pos++; return v; }
    while (true) {
      this.skipSpace();
      if (this.peek() != 0x22) return this.fail("expected a key");
      const key = this.string();
      if (key === null) return null;
      this.skipSpace();
      if (this.peek() != 0x3a) return this.fail("expected ':'");
      this.pos++;
      const item = this.value(depth + 1);
      if (item === null) return null;
      v.keys.push(key);
      v.items.push(item);
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c == 0x7d) return v;
      if (c != 0x2c) return this.fail("expected ',' or '}'");
    }
  }
}

/** Result of parseJSON: `value` is null when `error` says why. */
export class JSONParse {
  value: JSONValue | null = null;
  error: string = "";
}

/** Parses UTF-8 JSON text. */
export function parseJSONBytes(base: usize, len: i32): JSONParse {
  const p = new Parser(base, len);
  const r = new JSONParse();
  const v = p.value(0);
  if (v !== null) {
    p.skipSpace();
    if (p.pos != p.len) p.fail("trailing characters");
    else r.value = v;
  }
  r.error = p.error;
  return r;
}

export function parseJSON(text: string): JSONParse {
  const bytes = String.UTF8.encode(text);
  return parseJSONBytes(changetype<usize>(bytes), bytes.byteLength);
}

/** JSON string literal for `s`, quotes included. */
export function jsonQuote(s: string): string {
  let out = "\"";
  let runStart = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c == 0x22) esc = "\\\"";
    else if (c == 0x5c) esc = "\\\\";
    else if (c == 0x0a) esc = "\\n";
    else if (c == 0x0d) esc = "\\r";
    else if (c == 0x09) esc = "\\t";
    else if (c < 0x20) {
      const hex = "0123456789abcdef";
      esc = "\\u00" + hex.charAt(c >> 4) + hex.charAt(c & 15);
    }
    if (esc !== null) {
      out += s.substring(runStart, i) + esc;
      runStart = i + 1;
    }
  }
  return out + s.substring(runStart) + "\"";
}

/** Builds a JSON object text member by member: `new JSONObjectWriter().str("a", "x").done()`. */
export class JSONObjectWriter {
  private text: string = "{";
  private first: bool = true;

  private key(k: string): void {
    if (!this.first) this.text += ",";
    this.first = false;
    this.text += jsonQuote(k) + ":";
  }

  str(k: string, v: string): JSONObjectWriter { this.key(k); this.text += jsonQuote(v); return this; }
  num(k: string, v: f64): JSONObjectWriter { this.key(k); this.text += isInteger(v) ? (<i64>v).toString() : v.toString(); return this; }
  bool(k: string, v: bool): JSONObjectWriter { this.key(k); this.text += v ? "true" : "false"; return this; }
  /** A member whose value is already JSON text. */
  raw(k: string, json: string): JSONObjectWriter { this.key(k); this.text += json; return this; }
  strings(k: string, v: string[]): JSONObjectWriter {
    this.key(k);
    this.text += "[";
    for (let i = 0; i < v.length; i++) this.text += (i > 0 ? "," : "") + jsonQuote(v[i]);
    this.text += "]";
    return this;
  }
  done(): string { return this.text + "}"; }
}
