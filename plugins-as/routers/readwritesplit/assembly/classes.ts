// Classifier kinds and flags (sdk/ABI.md "Classifier kinds and flags").
export namespace Kind {
  export const UNKNOWN: u8 = 0;
  export const READ: u8 = 1;
  export const WRITE: u8 = 2;
  export const SESSION_WRITE: u8 = 3;
  export const BEGIN: u8 = 4;
  export const COMMIT: u8 = 5;
  export const ROLLBACK: u8 = 6;
  export const TRX_OTHER: u8 = 7;
}

export namespace Flag {
  export const READ: u32 = 1 << 0;
  export const WRITE: u32 = 1 << 1;
  export const SESSION_WRITE: u32 = 1 << 2;
  export const AUTOCOMMIT_ON: u32 = 1 << 3;
  export const AUTOCOMMIT_OFF: u32 = 1 << 4;
  export const BEGIN: u32 = 1 << 5;
  export const BEGIN_READ_ONLY: u32 = 1 << 6;
  export const COMMIT: u32 = 1 << 7;
  export const ROLLBACK: u32 = 1 << 8;
  export const SAVEPOINT: u32 = 1 << 9;
  export const IMPLICIT_COMMIT: u32 = 1 << 10;
  export const LOCK_TABLES: u32 = 1 << 11;
  export const UNLOCK_TABLES: u32 = 1 << 12;
  export const CREATE_TEMP: u32 = 1 << 13;
  export const DROP_TEMP: u32 = 1 << 14;
  export const LAST_INSERT_ID: u32 = 1 << 15;
  export const USERVAR_WRITE: u32 = 1 << 16;
  export const USERVAR_READ: u32 = 1 << 17;
  export const LOCKING_READ: u32 = 1 << 18;
  export const NAMED_LOCK: u32 = 1 << 19;
  export const SEQUENCE: u32 = 1 << 20;
  export const CALL: u32 = 1 << 21;
  export const MULTI_STATEMENT: u32 = 1 << 22;
  export const PREPARE: u32 = 1 << 23;
  export const EXECUTE: u32 = 1 << 24;
  export const DEALLOCATE: u32 = 1 << 25;
  export const SYSVAR_READ: u32 = 1 << 26;
  export const SYSVAR_ONLY: u32 = 1 << 27;
  export const HINT: u32 = 1 << 28;
  export const GLOBAL_WRITE: u32 = 1 << 29;
  export const DDL: u32 = 1 << 30;
  export const NON_DETERMINISTIC: u32 = (1 << 31) >>> 0;
}
