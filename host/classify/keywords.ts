// SQL keywords the classifier and the canonical form know, and a lookup that works on bytes:
// the lexer hashes a word while scanning it, then one probe in an open-addressing table plus a
// byte comparison names the keyword. No strings are made.
//
// Every name here is upper-cased in the canonical form; other words keep their spelling. The
// enum's names are the keywords' spellings (hence the underscores), so it doubles as the list.

export enum Kw {
  NONE = 0,
  // Statement heads.
  SELECT, INSERT, UPDATE, DELETE, REPLACE, LOAD, CREATE, ALTER, DROP, RENAME, TRUNCATE, GRANT,
  REVOKE, SET, USE, SHOW, DESCRIBE, DESC, EXPLAIN, ANALYZE, HELP, BEGIN, START, COMMIT, ROLLBACK,
  SAVEPOINT, RELEASE, XA, PREPARE, EXECUTE, DEALLOCATE, CALL, DO, HANDLER, KILL, LOCK, UNLOCK,
  WITH, VALUES, TABLE, FLUSH, OPTIMIZE, REPAIR, CHECK, CHECKSUM, INSTALL, UNINSTALL, RESET, PURGE,
  CHANGE, STOP, SHUTDOWN, BINLOG, CACHE, BACKUP, SIGNAL, RESIGNAL, GET,
  // Words that matter after the head.
  DATA, XML, INFILE, LOCAL, INDEX, TRANSACTION, WORK, CHAIN, NO, TO, END, IMMEDIATE, TABLES,
  TEMPORARY, FOR, SHARE, IN, MODE, INTO, OUTFILE, DUMPFILE, RECURSIVE, NAMES, CHARACTER, CHARSET,
  AUTOCOMMIT, SESSION, GLOBAL, PERSIST, PERSIST_ONLY, READ, ONLY, WRITE, CONSISTENT, SNAPSHOT,
  ISOLATION, LEVEL, STATEMENT, NEXT, PREVIOUS, VALUE, NULL, ON, OFF, TRUE, FALSE, DEFAULT, IF, NOT,
  EXISTS, VIEW, PROCEDURE, FUNCTION, TRIGGER, EVENT, DATABASE, SCHEMA, USER, ROLE, SEQUENCE,
  SERVER, TABLESPACE, PACKAGE, OR, ATOMIC, CASE, LOOP, WHILE, REPEAT, PASSWORD, SLAVE, REPLICA,
  MASTER, FROM, JOIN, STRAIGHT_JOIN, DIAGNOSTICS, IDENTITY, RETURNING, DUAL, LOW_PRIORITY, IGNORE,
  QUICK, DELAYED, HIGH_PRIORITY, AS, AND, WARNINGS, ERRORS, WARNING_COUNT, ERROR_COUNT,
  // Functions that matter for routing (recognised when followed by '(').
  LAST_INSERT_ID, FOUND_ROWS, ROW_COUNT, GET_LOCK, RELEASE_LOCK, IS_FREE_LOCK, IS_USED_LOCK,
  RELEASE_ALL_LOCKS, NEXTVAL, LASTVAL, SETVAL, NOW, RAND, UUID, UUID_SHORT, SYSDATE, CURDATE,
  CURTIME, UNIX_TIMESTAMP, UTC_TIMESTAMP, UTC_DATE, UTC_TIME, CONNECTION_ID,
  // Non-deterministic without parentheses.
  CURRENT_TIMESTAMP, CURRENT_DATE, CURRENT_TIME, LOCALTIME, LOCALTIMESTAMP,
  // Only for the canonical form's upper-casing.
  WHERE, ORDER, BY, GROUP, HAVING, LIMIT, OFFSET, LEFT, RIGHT, INNER, OUTER, CROSS, NATURAL, USING,
  DISTINCT, ALL, UNION, EXCEPT, INTERSECT, BETWEEN, LIKE, IS, XOR, ASC, WHEN, THEN, ELSE, COUNT,
  SUM, MIN, MAX, AVG, DUPLICATE, KEY, PRIMARY, UNIQUE, FOREIGN, REFERENCES, CONSTRAINT, COLUMN, ADD,
  MODIFY, AFTER, FIRST, SQL_CALC_FOUND_ROWS, SQL_NO_CACHE, SQL_CACHE, SQL_BUFFER_RESULT,
  SQL_SMALL_RESULT, SQL_BIG_RESULT, INTERVAL, BINARY, COLLATE, OVER, PARTITION, WINDOW, ROWS,
  RANGE, UNBOUNDED, PRECEDING, FOLLOWING, CURRENT, ROW, CAST, CONVERT, COALESCE, IFNULL, NULLIF,
  CONCAT, SUBSTRING, LOWER, UPPER, LENGTH, REGEXP, RLIKE, ESCAPE, DIV, MOD, INT, INTEGER, BIGINT,
  SMALLINT, TINYINT, MEDIUMINT, DECIMAL, NUMERIC, FLOAT, DOUBLE, CHAR, VARCHAR, TEXT, BLOB,
  LONGTEXT, MEDIUMTEXT, DATE, DATETIME, TIMESTAMP, TIME, YEAR, BOOLEAN, BOOL, JSON, ENUM, UNSIGNED,
  SIGNED, ZEROFILL, AUTO_INCREMENT, COMMENT, ENGINE, COLLATION, VARIABLES, STATUS, COLUMNS, FIELDS, DATABASES, SCHEMAS, PROCESSLIST, FULL, UNDEFINED,
  DEFINER, INVOKER, SECURITY, RETURNS, DETERMINISTIC, CONTAINS, SQL, READS, MODIFIES,
  LANGUAGE, ELSEIF, LEAVE, ITERATE, DECLARE, CONTINUE, EXIT, CURSOR, OPEN, CLOSE,
  FETCH, SOUNDS, MATCH, AGAINST, FORCE, KEYS, FULLTEXT,
  SPATIAL, BTREE, HASH, CASCADE, RESTRICT, EACH, BEFORE, OF, WAIT, NOWAIT, SKIP, LOCKED,
}

const MAX_KEYWORD = 32;
const SLOTS = 2048; // power of two, > 4x the keyword count: short probe chains
const MASK = SLOTS - 1;

/** Byte → upper-case byte (ASCII letters only; other bytes unchanged). */
export const UPPER = new Uint8Array(256);
for (let c = 0; c < 256; c++) UPPER[c] = c >= 0x61 && c <= 0x7a ? c - 32 : c;

/**
 * The lexer hashes a word with FNV-1a 32 over `byte & 0xdf`: that upper-cases ASCII letters with
 * no table, and for identifier bytes (letters, digits, _, $, >= 0x80) it yields a keyword's
 * letter or `_` only where UPPER would. Written out at the call sites in lexer.ts:
 * h = Math.imul(h ^ (c & 0xdf), 0x01000193).
 */
export const HASH_INIT = 0x811c9dc5 | 0;

const table = new Int16Array(SLOTS);
const kwText = new Uint8Array(8192);
const kwOff = new Int32Array(512);
const kwLen = new Uint8Array(512);

function slotOf(h: number): number {
  return (h ^ (h >>> 13)) & MASK;
}

{
  let off = 0;
  for (const [name, id] of Object.entries(Kw)) {
    if (typeof id !== 'number' || id === Kw.NONE) continue;
    if (name.length > MAX_KEYWORD) throw new Error(`keyword ${name} too long`);
    if (!/^[A-Z_]+$/.test(name)) throw new Error(`keyword ${name}: only A-Z and _ (see HASH_INIT)`);
    let h = HASH_INIT;
    kwOff[id] = off;
    kwLen[id] = name.length;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      kwText[off++] = c;
      h = Math.imul(h ^ (c & 0xdf), 0x01000193);
    }
    let s = slotOf(h);
    while (table[s] !== 0) s = (s + 1) & MASK;
    table[s] = id;
  }
}

/**
 * The keyword spelled by buf[start..end) (any case), or Kw.NONE. `hash` is the lexer's running
 * hash of the word's upper-cased bytes.
 */
export function lookupKeyword(buf: Uint8Array, start: number, end: number, hash: number): number {
  const len = end - start;
  if (len > MAX_KEYWORD) return Kw.NONE;
  let s = slotOf(hash);
  for (;;) {
    const id = table[s]!;
    if (id === 0) return Kw.NONE;
    if (kwLen[id] === len) {
      let o = kwOff[id]!;
      let i = start;
      while (i < end && (buf[i]! & 0xdf) === kwText[o]) { i++; o++; }
      if (i === end) return id;
    }
    s = (s + 1) & MASK;
  }
}

/** The keyword's spelling (tests, debugging). */
export function keywordName(id: number): string {
  return Kw[id] ?? '';
}
