// Just enough SQL reading for sharding by database (no parser, as MaxScale's schemarouter needs
// only names): the database of `USE db`, whether a statement is SHOW DATABASES, and the
// qualifiers of dotted names (`db.table`, `db.table.column`), which the router checks against the
// databases it knows (so `alias.column` is ignored: no database is called `alias`).

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

/** Qualifiers of dotted names, in order of appearance (strings and comments skipped). */
export function qualifiers(sql: string): string[] {
  const out = new Array<string>();
  const n = sql.length;
  let i = 0;
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
      continue;
    }
    if (c == 0x60 || isIdent(c)) {
      const start = i;
      const id = readIdent(sql, i);
      const name = id.name;
      i = id.end > start ? id.end : start + 1;
      const j = skipBlank(sql, i);
      // A number such as 1.5 is not a name: it starts with a digit and has digits only.
      if (j < n && sql.charCodeAt(j) == 0x2e && name.length > 0 && !(c >= 0x30 && c <= 0x39 && allDigits(name))) out.push(name);
      continue;
    }
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
