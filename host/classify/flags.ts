// Statement kinds, flag bits and hint kinds of the classifier. The numbers are part of the plugin
// ABI (sdk/ABI.md §6 "Statement", "Classifier kinds and flags"); sdk/assembly/classify.ts holds
// the same values for plugins. Never renumber: only add.

/** Statement.kind: what the statement is, for routing. */
export const Kind = {
  UNKNOWN: 0,
  /** May run on any server (SELECT, SHOW, ...). */
  READ: 1,
  /** Must run on the primary (DML, DDL, CALL, locking statements, ...). */
  WRITE: 2,
  /** Changes only this connection's state (SET, USE, PREPARE): send to every connection. */
  SESSION_WRITE: 3,
  BEGIN: 4,
  COMMIT: 5,
  ROLLBACK: 6,
  /** Other transaction control that neither starts nor ends the transaction: SAVEPOINT,
   *  RELEASE SAVEPOINT, ROLLBACK TO SAVEPOINT, XA END, XA PREPARE. New within ABI major 1
   *  (ABI.md §10): plugins that do not know it treat it as unknown. */
  TRX_OTHER: 7,
} as const;

/** Statement.flags bits (u32). */
export const Flag = {
  /** A read statement: SELECT, SHOW, DESCRIBE, EXPLAIN, HELP, DO, VALUES, TABLE, CHECKSUM. */
  READ: 1 << 0,
  /** Changes data, schema, accounts, files or server-wide state. */
  WRITE: 1 << 1,
  /** Changes connection state: SET [SESSION] var, SET @var, SET NAMES, USE, SET TRANSACTION, ... */
  SESSION_WRITE: 1 << 2,
  /** SET autocommit = 1 / ON / TRUE / DEFAULT (also @@autocommit, @@session.autocommit). */
  AUTOCOMMIT_ON: 1 << 3,
  /** SET autocommit = 0 / OFF / FALSE. */
  AUTOCOMMIT_OFF: 1 << 4,
  /** Starts a transaction: BEGIN, START TRANSACTION, XA START, COMMIT/ROLLBACK AND CHAIN. */
  BEGIN: 1 << 5,
  /** START TRANSACTION ... READ ONLY. */
  BEGIN_READ_ONLY: 1 << 6,
  /** COMMIT, XA COMMIT. */
  COMMIT: 1 << 7,
  /** ROLLBACK, XA ROLLBACK (not ROLLBACK TO SAVEPOINT). */
  ROLLBACK: 1 << 8,
  /** SAVEPOINT, RELEASE SAVEPOINT, ROLLBACK TO [SAVEPOINT]. */
  SAVEPOINT: 1 << 9,
  /** Commits an open transaction implicitly (DDL, GRANT, LOCK TABLES, BEGIN, FLUSH, ...). */
  IMPLICIT_COMMIT: 1 << 10,
  LOCK_TABLES: 1 << 11,
  UNLOCK_TABLES: 1 << 12,
  /** CREATE [OR REPLACE] TEMPORARY TABLE (names: tableNames()). */
  CREATE_TEMP: 1 << 13,
  /** DROP TEMPORARY TABLE (names: tableNames()). */
  DROP_TEMP: 1 << 14,
  /** Reads what an earlier statement on this connection did: LAST_INSERT_ID(), @@identity,
   *  @@last_insert_id, FOUND_ROWS(), ROW_COUNT(), @@warning_count, @@error_count, SHOW WARNINGS,
   *  SHOW ERRORS, SHOW COUNT(*) WARNINGS|ERRORS, GET DIAGNOSTICS: route it where that went. */
  LAST_INSERT_ID: 1 << 15,
  /** SET @v = ..., SELECT ... INTO @v, @v := ... */
  USERVAR_WRITE: 1 << 16,
  /** Any other use of a user variable @v. */
  USERVAR_READ: 1 << 17,
  /** SELECT ... FOR UPDATE / FOR SHARE / LOCK IN SHARE MODE. */
  LOCKING_READ: 1 << 18,
  /** GET_LOCK, RELEASE_LOCK, IS_FREE_LOCK, IS_USED_LOCK, RELEASE_ALL_LOCKS. */
  NAMED_LOCK: 1 << 19,
  /** NEXTVAL, NEXT VALUE FOR, SETVAL (these also set WRITE), LASTVAL, PREVIOUS VALUE FOR. */
  SEQUENCE: 1 << 20,
  CALL: 1 << 21,
  /** More than one statement in the text (a trailing ';', blanks and comments do not count). */
  MULTI_STATEMENT: 1 << 22,
  /** Text PREPARE name FROM ... (name: preparedName()). */
  PREPARE: 1 << 23,
  /** Text EXECUTE name [USING ...] and EXECUTE IMMEDIATE. */
  EXECUTE: 1 << 24,
  /** DEALLOCATE PREPARE name / DROP PREPARE name. */
  DEALLOCATE: 1 << 25,
  /** Reads a system variable (@@name, @@session.name, @@global.name). */
  SYSVAR_READ: 1 << 26,
  /** A SELECT without FROM that reads system variables (SELECT @@version_comment LIMIT 1). */
  SYSVAR_ONLY: 1 << 27,
  /** A routing hint comment was found (ClassifyResult.hint*). */
  HINT: 1 << 28,
  /** SET GLOBAL / PERSIST / @@global.name = ...: server-wide state (kind WRITE). */
  GLOBAL_WRITE: 1 << 29,
  /** DDL: CREATE, ALTER, DROP, RENAME, TRUNCATE (also of temporary tables). */
  DDL: 1 << 30,
  /** Result depends on time, randomness or the connection: NOW(), RAND(), UUID(), SYSDATE(),
   *  CURRENT_TIMESTAMP, UNIX_TIMESTAMP(), CONNECTION_ID(), ... (not cacheable, not replayable). */
  NON_DETERMINISTIC: (1 << 31) >>> 0,
} as const;

/** ClassifyResult.hint: the routing hint found in a comment. */
export const Hint = {
  NONE: 0,
  /** route to master / primary */
  MASTER: 1,
  /** route to slave / replica */
  SLAVE: 2,
  /** route to server NAME (hintStart..hintEnd) */
  SERVER: 3,
  /** route to last (the server the previous statement went to) */
  LAST: 4,
} as const;

const KIND_NAMES = ['unknown', 'read', 'write', 'session_write', 'begin', 'commit', 'rollback', 'trx_other'];

/** Name of a kind, for logs and tests. */
export function kindName(kind: number): string {
  return KIND_NAMES[kind] ?? `kind_${kind}`;
}

const FLAG_ENTRIES = Object.entries(Flag) as [string, number][];

/** Names of the bits set in `flags`, lowest bit first (allocates: logs and tests only). */
export function flagNames(flags: number): string[] {
  const out: string[] = [];
  for (const [name, bit] of FLAG_ENTRIES) if ((flags & bit) !== 0) out.push(name);
  return out;
}

/** Flags from names (tests, configuration). Throws on an unknown name. */
export function flagsOf(names: readonly string[]): number {
  let f = 0;
  for (const n of names) {
    const bit = (Flag as Record<string, number>)[n];
    if (bit === undefined) throw new Error(`unknown classifier flag ${n}`);
    f |= bit;
  }
  return f >>> 0;
}
