// Just enough SQL reading for sharding by database (no parser, as MaxScale's schemarouter needs
// only names): the database of `USE db`, whether a statement is SHOW DATABASES, the qualifiers of
// dotted names (`db.table`, `db.table.column`) and databases named alone (SHOW TABLES FROM db,
// DROP DATABASE db), which the router checks against the databases it knows (so `alias.column`
// is ignored: no database is called `alias`), and whether a table is named without a database.

@inline function isSpace(c: i32): bool { return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d; }
@inline function isIdent(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x24 || c >= 0x80;
}

/** Index after blanks and comments (executable comments' markers are skipped, their content is code). */
function skipBlank(s: string, i: i32): i32 {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isSpace(c)) { i++; continue; }
    if (c == 0x23 || (c == 0x2d && i + 2 < n && s.charCodeAt(i + 1) == 0x2d && isSpace(s.charCodeAt(i + 2)))) {
      while (i < n && s.charCodeAt(i) != 0x0a) i++;
      continue;
    }
    if (c == 0x2f && i + 1 < n && s.charCodeAt(i + 1) == 0x2a) {
      // /*! ... */ and /*M! ... */: skip the marker and version, keep the content.
      let j = i + 2;
      if (j < n && s.charCodeAt(j) == 0x4d) j++;
      if (j < n && s.charCodeAt(j) == 0x21) {
        j++;
        while (j < n && s.charCodeAt(j) >= 0x30 && s.charCodeAt(j) <= 0x39) j++;
        i = j;
        continue;
      }
      const end = s.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c == 0x2a && i + 1 < n && s.charCodeAt(i + 1) == 0x2f) { i += 2; continue; } // end of /*! */
    break;
  }
  return i;
}

/** An identifier at `i` (bare or `quoted`): [name, index after it]; name "" if none. */
class Ident { name: string = ""; end: i32 = 0; }
const ident = new Ident();

function readIdent(s: string, i: i32): Ident {
  const n = s.length;
  ident.name = "";
  ident.end = i;
  if (i >= n) return ident;
  if (s.charCodeAt(i) == 0x60) {
    let name = "";
    let j = i + 1;
    while (j < n) {
      const c = s.charCodeAt(j);
      if (c == 0x60) {
        if (j + 1 < n && s.charCodeAt(j + 1) == 0x60) { name += "`"; j += 2; continue; }
        break;
      }
      name += String.fromCharCode(c);
      j++;
    }
    ident.name = name;
    ident.end = j < n ? j + 1 : n;
    return ident;
  }
  let j = i;
  while (j < n && isIdent(s.charCodeAt(j))) j++;
  ident.name = s.substring(i, j);
  ident.end = j;
  return ident;
}

function keywordAt(s: string, i: i32, kw: string): bool {
  const m = kw.length;
  if (i + m > s.length) return false;
  for (let k = 0; k < m; k++) {
    let c = s.charCodeAt(i + k);
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    if (c != kw.charCodeAt(k)) return false;
  }
  return i + m == s.length || !isIdent(s.charCodeAt(i + m));
}

/** The database of `USE db`, or null when the statement is something else. */
export function useTarget(sql: string): string | null {
  let i = skipBlank(sql, 0);
  if (!keywordAt(sql, i, "USE")) return null;
  i = skipBlank(sql, i + 3);
  const id = readIdent(sql, i);
  return id.name.length > 0 ? id.name : null;
}

/** SHOW DATABASES / SHOW SCHEMAS (with or without LIKE / WHERE). */
export function isShowDatabases(sql: string): bool {
  let i = skipBlank(sql, 0);
  if (!keywordAt(sql, i, "SHOW")) return false;
  i = skipBlank(sql, i + 4);
  return keywordAt(sql, i, "DATABASES") || keywordAt(sql, i, "SCHEMAS");
}

/** What a statement names: the databases it uses, and whether it uses a table of the current database. */
export class Refs {
  /** Qualifiers of dotted names (`db.t`, `db.t.col`, also aliases: the router keeps known databases only) and databases named alone (SHOW TABLES FROM db, DROP DATABASE db), in order. */
  dbs: string[] = [];
  /** A table named without a database where a table goes (FROM t, JOIN t, INTO t, UPDATE t, TABLE t): it is the current database's. */
  unqualified: bool = false;
}

// The words the scanner acts on, by code (matched in place, case-insensitively: no string is
// made per word).
const W_SHOW = 0, W_UPDATE = 1, W_DATABASE = 2, W_SCHEMA = 3, W_CREATE = 4, W_DROP = 5, W_ALTER = 6, W_FROM = 7,
  W_IN = 8, W_JOIN = 9, W_INTO = 10, W_TABLE = 11, W_TABLES = 12, W_DUAL = 13, W_OUTFILE = 14, W_DUMPFILE = 15;
/** Codes NOISE_FIRST..NOISE_LAST: words between a table position and the table's name (INSERT IGNORE INTO t, CREATE TABLE IF NOT EXISTS t). */
const NOISE_FIRST = 16, NOISE_LAST = 26;
/** Codes ENDS_FIRST..ENDS_LAST: words that end a FROM list (after them a comma separates something else than tables). */
const ENDS_FIRST = 27, ENDS_LAST = 44;
const WORDS: StaticArray<string> = [
  "SHOW", "UPDATE", "DATABASE", "SCHEMA", "CREATE", "DROP", "ALTER", "FROM", "IN", "JOIN", "INTO", "TABLE", "TABLES", "DUAL", "OUTFILE", "DUMPFILE",
  "IF", "NOT", "EXISTS", "LOW_PRIORITY", "HIGH_PRIORITY", "DELAYED", "IGNORE", "QUICK", "LATERAL", "ONLY", "TEMPORARY",
  "WHERE", "GROUP", "ORDER", "HAVING", "LIMIT", "ON", "USING", "SET", "VALUES", "SELECT", "UNION", "EXCEPT", "INTERSECT", "WINDOW",
  "FOR", "LOCK", "RETURNING", "PROCEDURE",
  "WITH", "RECURSIVE", "DELETE", "INSERT", "REPLACE",
];
const W_VALUES = 35, W_SELECT = 36, W_WITH = 45, W_RECURSIVE = 46, W_DELETE = 47, W_INSERT = 48, W_REPLACE = 49;

/** The code of the word s[start, end), or -1. */
function wordCode(s: string, start: i32, end: i32): i32 {
  const len = end - start;
  if (len < 2 || len > 13) return -1;
  for (let k = 0; k < WORDS.length; k++) {
    const kw = WORDS[k];
    if (kw.length != len) continue;
    let m = 0;
    for (; m < len; m++) {
      let c = s.charCodeAt(start + m);
      if (c >= 0x61 && c <= 0x7a) c -= 0x20;
      if (c != kw.charCodeAt(m)) break;
    }
    if (m == len) return k;
  }
  return -1;
}

function upper(s: string): string {
  return s.toUpperCase();
}

/** Whether the token at `i` starts a query (SELECT / WITH / VALUES / TABLE): a subquery's parenthesis. */
function queryAt(s: string, i: i32): bool {
  const j = skipBlank(s, i);
  return keywordAt(s, j, "SELECT") || keywordAt(s, j, "WITH") || keywordAt(s, j, "VALUES") || keywordAt(s, j, "TABLE") || (j < s.length && s.charCodeAt(j) == 0x28 && queryAt(s, j + 1));
}

/**
 * The databases and tables a statement names, in one pass over its tokens (strings and comments
 * skipped). No parser, so it errs the cheap way: a name it cannot place is not a table.
 */
// One Refs and one pair of level stacks, reused by every call (calls never overlap; the result is
// read before the next call): no allocation per statement beyond the names found.
const refs = new Refs();
const query: bool[] = [];
const inFrom: bool[] = [];
/** Names the statement's WITH clauses define (lower case): FROM x then reads the CTE, not a table. */
const ctes: string[] = [];

function isCte(name: string): bool {
  if (ctes.length == 0) return false;
  const lower = name.toLowerCase();
  for (let k = 0; k < ctes.length; k++) if (ctes[k] == lower) return true;
  return false;
}

/** The result is valid until the next call. */
export function references(sql: string): Refs {
  const out = refs;
  out.dbs.length = 0;
  out.unqualified = false;
  const n = sql.length;
  let i = 0;
  let first = true; // the next word is the statement's first
  let show = false; // a SHOW statement: names after FROM / IN are databases
  let prev = -1; // previous word's code (-1 after anything else)
  let dbNext = false; // the next name is a database (DROP DATABASE db, SHOW TABLES FROM db)
  let tableNext = false; // the next name is a table (after FROM, JOIN, INTO, a FROM list's comma, ...)
  // Per parenthesis level: a (sub)query (its FROM names tables) or not (function arguments:
  // EXTRACT(YEAR FROM d), TRIM(x FROM y)); and whether a FROM list is open at that level.
  query.length = 0;
  query.push(true);
  inFrom.length = 0;
  inFrom.push(false);
  ctes.length = 0;
  let opened = false; // the previous token was "(": a WITH here starts a subquery's CTE list
  let cteNext = false; // the next name is a CTE's (after WITH [RECURSIVE], or a comma in the list)
  let withLevel = -1; // parenthesis level of the CTE list being read (-1: none)
  while (i < n) {
    i = skipBlank(sql, i);
    if (i >= n) break;
    const c = sql.charCodeAt(i);
    if (c == 0x27 || c == 0x22) {
      // a string: to its closing quote (doubled quotes and backslash escapes inside)
      let j = i + 1;
      while (j < n) {
        const d = sql.charCodeAt(j);
        if (d == 0x5c) { j += 2; continue; }
        if (d == c) {
          if (j + 1 < n && sql.charCodeAt(j + 1) == c) { j += 2; continue; }
          break;
        }
        j++;
      }
      i = j + 1;
      tableNext = dbNext = cteNext = opened = false;
      prev = -1;
      continue;
    }
    if (c == 0x60 || isIdent(c)) {
      const startsQuery = first || opened;
      opened = false;
      const start = i;
      const quoted = c == 0x60;
      const id = readIdent(sql, i);
      const name = id.name;
      i = id.end > start ? id.end : start + 1;
      let j = skipBlank(sql, i);
      // A number such as 1.5 is not a name: it starts with a digit and has digits only.
      if (j < n && sql.charCodeAt(j) == 0x2e && name.length > 0 && !(c >= 0x30 && c <= 0x39 && allDigits(name))) {
        out.dbs.push(name);
        // the rest of the dotted name (t, t.col, *) names nothing more
        while (j < n && sql.charCodeAt(j) == 0x2e) {
          j = skipBlank(sql, j + 1);
          const m = readIdent(sql, j);
          j = skipBlank(sql, m.end > j ? m.end : j);
        }
        i = j;
        tableNext = dbNext = false;
        prev = -1;
        continue;
      }
      const w = quoted ? -1 : wordCode(sql, start, id.end);
      const top = query.length - 1;
      if (w == W_WITH && startsQuery) {
        first = false;
        cteNext = true;
        withLevel = top;
        prev = w;
        continue;
      }
      if (cteNext) {
        if (w != W_RECURSIVE) {
          ctes.push(name.toLowerCase());
          cteNext = false;
        }
        prev = w;
        continue;
      }
      // The statement (or subquery) the CTEs are for begins: commas at this level separate other things now.
      if (top == withLevel && (w == W_SELECT || w == W_UPDATE || w == W_VALUES || w == W_TABLE || w == W_DELETE || w == W_INSERT || w == W_REPLACE)) withLevel = -1;
      if (first) {
        first = false;
        show = w == W_SHOW;
        if (w == W_UPDATE) { tableNext = true; prev = w; continue; }
      }
      if ((dbNext || tableNext) && (w == W_TABLE || (w >= NOISE_FIRST && w <= NOISE_LAST))) { prev = w; continue; }
      if (dbNext) {
        out.dbs.push(name);
        dbNext = false;
        prev = -1;
        continue;
      }
      if (tableNext) {
        tableNext = false;
        prev = -1;
        if (w == W_DUAL || w == W_OUTFILE || w == W_DUMPFILE) continue;
        if (show) out.dbs.push(name);
        else if (!isCte(name)) out.unqualified = true;
        continue;
      }
      if ((w == W_DATABASE || w == W_SCHEMA) && (prev == W_CREATE || prev == W_DROP || prev == W_ALTER)) dbNext = true;
      else if (show) {
        if (w == W_FROM || w == W_IN) tableNext = true;
      } else if (w == W_FROM || w == W_JOIN) {
        if (query[top]) {
          tableNext = true;
          if (w == W_FROM) inFrom[top] = true;
        }
      } else if (w == W_INTO || w == W_TABLE || w == W_TABLES) {
        tableNext = true;
        inFrom[top] = false;
      } else if (w >= ENDS_FIRST && w <= ENDS_LAST) inFrom[top] = false;
      prev = w;
      continue;
    }
    if (c == 0x28) {
      query.push(queryAt(sql, i + 1));
      inFrom.push(false);
    } else if (c == 0x29) {
      if (query.length > 1) { query.pop(); inFrom.pop(); }
    } else if (c == 0x2c) {
      if (inFrom[inFrom.length - 1]) { tableNext = true; opened = false; i++; continue; }
      if (withLevel == query.length - 1) { cteNext = true; opened = false; prev = -1; i++; continue; }
    } else if (c == 0x3b) {
      first = true;
      show = false;
      ctes.length = 0;
      withLevel = -1;
    }
    tableNext = dbNext = cteNext = false;
    opened = c == 0x28;
    prev = -1;
    i++;
  }
  return out;
}

function allDigits(s: string): bool {
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** A text PREPARE: the statement's name (upper case: names are case-insensitive) and its SQL (null when FROM @var). */
export class Prepare {
  name: string = "";
  text: string | null = null;
}

/** The content of the string literal at `i` (quotes undoubled, backslash escapes resolved). */
function literal(s: string, i: i32): string {
  const q = s.charCodeAt(i);
  const n = s.length;
  let out = "";
  let j = i + 1;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c == 0x5c && j + 1 < n) { out += String.fromCharCode(s.charCodeAt(j + 1)); j += 2; continue; }
    if (c == q) {
      if (j + 1 < n && s.charCodeAt(j + 1) == q) { out += String.fromCharCode(q); j += 2; continue; }
      break;
    }
    out += String.fromCharCode(c);
    j++;
  }
  return out;
}

/** `PREPARE name FROM 'sql'` (or FROM @var); null for anything else. */
export function prepareOf(sql: string): Prepare | null {
  let i = skipBlank(sql, 0);
  if (!keywordAt(sql, i, "PREPARE")) return null;
  const id = readIdent(sql, skipBlank(sql, i + 7));
  if (id.name.length == 0) return null;
  const out = new Prepare();
  out.name = upper(id.name);
  i = skipBlank(sql, id.end);
  if (!keywordAt(sql, i, "FROM")) return null;
  i = skipBlank(sql, i + 4);
  if (i < sql.length && (sql.charCodeAt(i) == 0x27 || sql.charCodeAt(i) == 0x22)) out.text = literal(sql, i);
  return out;
}

/** `EXECUTE name ...`: the name (upper case); `EXECUTE IMMEDIATE 'sql'`: "" and `immediate` holds the SQL; null otherwise. */
export let immediate: string = "";
export function executeName(sql: string): string | null {
  let i = skipBlank(sql, 0);
  if (!keywordAt(sql, i, "EXECUTE")) return null;
  i = skipBlank(sql, i + 7);
  const id = readIdent(sql, i);
  const name = upper(id.name);
  if (name == "IMMEDIATE") {
    const j = skipBlank(sql, id.end);
    if (j >= sql.length || (sql.charCodeAt(j) != 0x27 && sql.charCodeAt(j) != 0x22)) return null;
    immediate = literal(sql, j);
    return "";
  }
  return name.length > 0 ? name : null;
}

/** `DEALLOCATE PREPARE name` / `DROP PREPARE name`: the name (upper case), or null. */
export function deallocateName(sql: string): string | null {
  let i = skipBlank(sql, 0);
  if (keywordAt(sql, i, "DEALLOCATE")) i += 10;
  else if (keywordAt(sql, i, "DROP")) i += 4;
  else return null;
  i = skipBlank(sql, i);
  if (!keywordAt(sql, i, "PREPARE")) return null;
  const id = readIdent(sql, skipBlank(sql, i + 7));
  return id.name.length > 0 ? upper(id.name) : null;
}
