// The host classifier's statement kinds and flag bits (ABI.md §6, "Classifier kinds and flags"),
// for reading Statement.kind and Statement.flags. Plain constants so that they cost nothing at
// run time. The host's copy is host/classify/flags.ts; the numbers never change within a major.

/** Statement.kind values added after 1.0 (StatementKind in abi.ts has 0–6). */
export namespace StatementKindExt {
  /** SAVEPOINT, RELEASE SAVEPOINT, ROLLBACK TO SAVEPOINT, XA END, XA PREPARE: stays in the transaction. */
  export const TRX_OTHER: u8 = 7;
}

/** Statement.flags bits. */
export namespace StatementFlag {
  /** A read statement: SELECT, SHOW, DESCRIBE, EXPLAIN, HELP, DO, VALUES, TABLE, CHECKSUM. */
  export const READ: u32 = 1 << 0;
  /** Changes data, schema, accounts, files or server-wide state. */
  export const WRITE: u32 = 1 << 1;
  /** Changes connection state: SET [SESSION] var, SET @var, SET NAMES, USE, SET TRANSACTION, ... */
  export const SESSION_WRITE: u32 = 1 << 2;
  /** SET autocommit = 1 / ON / TRUE / DEFAULT. */
  export const AUTOCOMMIT_ON: u32 = 1 << 3;
  /** SET autocommit = 0 / OFF / FALSE. */
  export const AUTOCOMMIT_OFF: u32 = 1 << 4;
  /** Starts a transaction: BEGIN, START TRANSACTION, XA START, COMMIT/ROLLBACK AND CHAIN. */
  export const BEGIN: u32 = 1 << 5;
  /** START TRANSACTION ... READ ONLY. */
  export const BEGIN_READ_ONLY: u32 = 1 << 6;
  /** COMMIT, XA COMMIT. */
  export const COMMIT: u32 = 1 << 7;
  /** ROLLBACK, XA ROLLBACK (not ROLLBACK TO SAVEPOINT). */
  export const ROLLBACK: u32 = 1 << 8;
  /** SAVEPOINT, RELEASE SAVEPOINT, ROLLBACK TO [SAVEPOINT]. */
  export const SAVEPOINT: u32 = 1 << 9;
  /** Commits an open transaction implicitly (DDL, GRANT, LOCK TABLES, BEGIN, FLUSH, ...). */
  export const IMPLICIT_COMMIT: u32 = 1 << 10;
  export const LOCK_TABLES: u32 = 1 << 11;
  export const UNLOCK_TABLES: u32 = 1 << 12;
  /** CREATE [OR REPLACE] TEMPORARY TABLE. */
  export const CREATE_TEMP: u32 = 1 << 13;
  /** DROP TEMPORARY TABLE. */
  export const DROP_TEMP: u32 = 1 << 14;
  /** Reads what an earlier statement on this connection did: LAST_INSERT_ID(), @@identity,
   *  @@last_insert_id, FOUND_ROWS(), ROW_COUNT(), @@warning_count, @@error_count, SHOW WARNINGS,
   *  SHOW ERRORS, SHOW COUNT(*) WARNINGS|ERRORS, GET DIAGNOSTICS. */
  export const LAST_INSERT_ID: u32 = 1 << 15;
  /** SET @v = ..., SELECT ... INTO @v, @v := ... */
  export const USERVAR_WRITE: u32 = 1 << 16;
  /** Any other use of a user variable @v. */
  export const USERVAR_READ: u32 = 1 << 17;
  /** SELECT ... FOR UPDATE / FOR SHARE / LOCK IN SHARE MODE. */
  export const LOCKING_READ: u32 = 1 << 18;
  /** GET_LOCK, RELEASE_LOCK, IS_FREE_LOCK, IS_USED_LOCK, RELEASE_ALL_LOCKS. */
  export const NAMED_LOCK: u32 = 1 << 19;
  /** NEXTVAL, NEXT VALUE FOR, SETVAL (with WRITE), LASTVAL, PREVIOUS VALUE FOR. */
  export const SEQUENCE: u32 = 1 << 20;
  export const CALL: u32 = 1 << 21;
  /** More than one statement in the text. */
  export const MULTI_STATEMENT: u32 = 1 << 22;
  /** Text PREPARE name FROM ... */
  export const PREPARE: u32 = 1 << 23;
  /** Text EXECUTE name, EXECUTE IMMEDIATE. */
  export const EXECUTE: u32 = 1 << 24;
  /** DEALLOCATE PREPARE / DROP PREPARE. */
  export const DEALLOCATE: u32 = 1 << 25;
  /** Reads a system variable (@@name). */
  export const SYSVAR_READ: u32 = 1 << 26;
  /** A SELECT without FROM that reads system variables (SELECT @@version_comment LIMIT 1). */
  export const SYSVAR_ONLY: u32 = 1 << 27;
  /** A routing-hint comment (`-- wasmscale route to ...`, `-- maxscale route to ...`) is in the text. */
  export const HINT: u32 = 1 << 28;
  /** SET GLOBAL / PERSIST / @@global.name = ... */
  export const GLOBAL_WRITE: u32 = 1 << 29;
  /** DDL: CREATE, ALTER, DROP, RENAME, TRUNCATE. */
  export const DDL: u32 = 1 << 30;
  /** NOW(), RAND(), UUID(), SYSDATE(), CURRENT_TIMESTAMP, CONNECTION_ID(), ... */
  export const NON_DETERMINISTIC: u32 = 1 << 31;
}
