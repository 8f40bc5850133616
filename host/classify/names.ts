// Names in a statement, for the host's bookkeeping (temporary tables, text prepared statements).
// Not on the hot path: called only for statements whose flags ask for it (CREATE_TEMP,
// DROP_TEMP, PREPARE, EXECUTE, DEALLOCATE), or to check a read against known temporary tables.
import { Kw } from './keywords.js';
import { Lexer, T_COMMENT, T_END, T_PUNCT, T_QIDENT, T_STRING, T_VAR, T_WORD } from './lexer.js';

const lx = new Lexer();

/** Next token that is not a comment. */
function next(): number {
  let t: number;
  do t = lx.next(); while (t === T_COMMENT);
  return t;
}

/** A name token's text: backticks removed and doubled backticks undone. */
function nameText(): string {
  if (lx.type === T_QIDENT) {
    const s = Buffer.from(lx.buf.buffer, lx.buf.byteOffset + lx.start + 1, Math.max(0, lx.stop - lx.start - 2)).toString('utf8');
    return s.replaceAll('``', '`');
  }
  return Buffer.from(lx.buf.buffer, lx.buf.byteOffset + lx.start, lx.stop - lx.start).toString('utf8');
}

/** The current token's keyword (a call, so that TypeScript does not narrow lx.kw across next()). */
function kwNow(): number {
  return lx.kw;
}

function isName(t: number): boolean {
  return t === T_QIDENT || (t === T_WORD && (lx.kw === Kw.NONE || !RESERVED.has(lx.kw)));
}

// Words that cannot be a table name where a name is expected (they end a table list).
const RESERVED = new Set<number>([
  Kw.SELECT, Kw.WHERE, Kw.SET, Kw.VALUES, Kw.VALUE, Kw.ON, Kw.USING, Kw.JOIN, Kw.LEFT, Kw.RIGHT, Kw.INNER,
  Kw.OUTER, Kw.CROSS, Kw.NATURAL, Kw.STRAIGHT_JOIN, Kw.ORDER, Kw.GROUP, Kw.HAVING, Kw.LIMIT, Kw.UNION,
  Kw.FOR, Kw.LOCK, Kw.INTO, Kw.FROM, Kw.AS, Kw.WITH, Kw.READ, Kw.WRITE, Kw.IF, Kw.LIKE, Kw.DUAL,
  Kw.PARTITION, Kw.WINDOW, Kw.RETURNING, Kw.DEFAULT, Kw.LOW_PRIORITY, Kw.IGNORE, Kw.QUICK, Kw.DELAYED,
  Kw.HIGH_PRIORITY, Kw.OUTFILE, Kw.DUMPFILE, Kw.TEMPORARY, Kw.TABLE, Kw.TABLES, Kw.EXCEPT, Kw.INTERSECT,
  Kw.USE, Kw.FORCE, Kw.CASCADE, Kw.RESTRICT, Kw.WAIT, Kw.NOWAIT, Kw.LOCAL, Kw.DELETE,
  Kw.UPDATE, Kw.INSERT, Kw.REPLACE, Kw.DUPLICATE,
]);

/**
 * Tables a statement names, as written (`db.t` when qualified, backticks removed), in order of
 * appearance, without duplicates: those after FROM, JOIN, UPDATE (as the statement's verb), INTO,
 * TABLE, TABLES, DESCRIBE/DESC/EXPLAIN <name>, HANDLER <name>, TRUNCATE, including comma lists.
 * For CREATE [TEMPORARY] TABLE and DROP [TEMPORARY] TABLE the created or dropped tables come
 * first. A lexical heuristic, not a parser: aliases and keywords are skipped; names inside
 * subqueries are included.
 */
export function tableNames(buf: Uint8Array, start = 0, end = buf.length): string[] {
  const out: string[] = [];
  lx.reset(buf, start, end);
  let t = next();
  let first = true;
  let prev = -1;
  while (t !== T_END) {
    const kw = t === T_WORD ? lx.kw : -1;
    const verb = first;
    first = t === T_PUNCT && (lx.code === 0x3b || lx.code === 0x28);
    // UPDATE names a table except in FOR UPDATE, ON UPDATE, ON DUPLICATE KEY UPDATE.
    const intro = kw === Kw.FROM || kw === Kw.JOIN || kw === Kw.STRAIGHT_JOIN || kw === Kw.INTO || kw === Kw.TABLE ||
      kw === Kw.TABLES || kw === Kw.TRUNCATE || (kw === Kw.UPDATE && prev !== Kw.FOR && prev !== Kw.ON && prev !== Kw.KEY) ||
      (verb && (kw === Kw.DESCRIBE || kw === Kw.DESC || kw === Kw.EXPLAIN || kw === Kw.HANDLER));
    prev = kw;
    if (!intro) {
      t = next();
      continue;
    }
    t = next();
    // Modifiers between the keyword and the name.
    while (t === T_WORD && (lx.kw === Kw.LOW_PRIORITY || lx.kw === Kw.IGNORE || lx.kw === Kw.TABLE ||
      lx.kw === Kw.IF || lx.kw === Kw.NOT || lx.kw === Kw.EXISTS || lx.kw === Kw.QUICK)) t = next();
    for (;;) {
      if (!isName(t)) break;
      let name = nameText();
      t = next();
      if (t === T_PUNCT && lx.code === 0x2e) {
        t = next();
        if (isName(t) || t === T_WORD) {
          name += '.' + nameText();
          t = next();
        }
      }
      if (!out.includes(name)) out.push(name);
      // Alias, lock type (LOCK TABLES t READ LOCAL), then maybe a comma and another name.
      if (t === T_WORD && lx.kw === Kw.AS) t = next();
      while (t === T_WORD && (lx.kw === Kw.NONE || lx.kw === Kw.READ || lx.kw === Kw.WRITE || lx.kw === Kw.LOCAL ||
        lx.kw === Kw.LOW_PRIORITY)) t = next();
      if (t === T_QIDENT) t = next();
      if (!(t === T_PUNCT && lx.code === 0x2c)) break;
      t = next();
    }
  }
  return out;
}

/** Where a text PREPARE takes its statement from. */
export interface PreparedText {
  /** The prepared statement's name, lower-cased (names are case-insensitive). */
  name: string;
  /** PREPARE name FROM 'text': the text, unescaped; null when from a variable. */
  text: string | null;
  /** PREPARE name FROM @var: the variable's name without '@'; null otherwise. */
  variable: string | null;
}

function stringValue(): string {
  const q = lx.buf[lx.start]! === 0x4e || lx.buf[lx.start]! === 0x6e ? lx.start + 1 : lx.start; // N'..'
  const quote = lx.buf[q]!;
  const raw = Buffer.from(lx.buf.buffer, lx.buf.byteOffset + q + 1, Math.max(0, lx.stop - q - 2)).toString('utf8');
  let s = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && i + 1 < raw.length) {
      const n = raw[++i]!;
      s += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n === '0' ? '\0' : n === 'Z' ? '\x1a' : n;
    } else if (c === String.fromCharCode(quote) && raw[i + 1] === c) {
      s += c;
      i++;
    } else {
      s += c;
    }
  }
  return s;
}

/**
 * The name of a text prepared statement: PREPARE name ..., EXECUTE name ..., DEALLOCATE PREPARE
 * name, DROP PREPARE name. Lower-cased. null for anything else (and for EXECUTE IMMEDIATE).
 */
export function preparedName(buf: Uint8Array, start = 0, end = buf.length): string | null {
  lx.reset(buf, start, end);
  let t = next();
  if (t !== T_WORD) return null;
  const verb = lx.kw;
  if (verb === Kw.DEALLOCATE || verb === Kw.DROP) {
    t = next();
    if (t !== T_WORD || lx.kw !== Kw.PREPARE) return null;
  } else if (verb !== Kw.PREPARE && verb !== Kw.EXECUTE) {
    return null;
  }
  t = next();
  if (t !== T_WORD && t !== T_QIDENT) return null;
  if (verb === Kw.EXECUTE && t === T_WORD && lx.kw === Kw.IMMEDIATE) return null;
  return nameText().toLowerCase();
}

/** PREPARE name FROM 'text' | @var: the parts; null when the statement is not a text PREPARE. */
export function preparedText(buf: Uint8Array, start = 0, end = buf.length): PreparedText | null {
  lx.reset(buf, start, end);
  if (next() !== T_WORD || kwNow() !== Kw.PREPARE) return null;
  const t = next();
  if (t !== T_WORD && t !== T_QIDENT) return null;
  const name = nameText().toLowerCase();
  if (next() !== T_WORD || kwNow() !== Kw.FROM) return null;
  const s = next();
  if (s === T_STRING) return { name, text: stringValue(), variable: null };
  if (s === T_VAR) return { name, text: null, variable: nameText().slice(1) };
  return null;
}
