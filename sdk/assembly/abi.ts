// Numbers of the plugin ABI (sdk/ABI.md): the version this SDK speaks, status codes and the
// enumerations used in records. Plain constants so that they cost nothing at run time.

/** ABI major version (ABI.md §3). A plugin built with this SDK is loaded by hosts of this major. */
export const ABI_MAJOR: i32 = 1;
/**
 * ABI minor version: the newest record layouts this SDK reads and writes (1.1: Statement.hint;
 * 1.2: wsx_databases, RouteDecision MERGE and flags).
 */
export const ABI_MINOR: i32 = 2;

/** Status codes (ABI.md §7): hooks return them negated; host functions return them. */
export namespace Status {
  export const OK: i32 = 0;
  export const BAD_ARGUMENT: i32 = 1;
  export const NOT_FOUND: i32 = 2;
  export const TOO_LARGE: i32 = 3;
  export const NOT_ALLOWED: i32 = 4;
  export const INTERNAL: i32 = 5;
}

/** A server's role as the host's monitor sees it (ServerTable.role). */
export namespace Role {
  export const UNKNOWN: u8 = 0;
  export const PRIMARY: u8 = 1;
  export const REPLICA: u8 = 2;
  export const STANDALONE: u8 = 3;
}

/** A server's state (ServerTable.state). UNKNOWN: not monitored (yet); the host will try it. */
export namespace ServerState {
  export const UNKNOWN: u8 = 0;
  export const UP: u8 = 1;
  export const DOWN: u8 = 2;
  export const MAINTENANCE: u8 = 3;
  export const DRAINING: u8 = 4;
}

/** The host classifier's statement kind (Statement.kind). */
export namespace StatementKind {
  export const UNKNOWN: u8 = 0;
  export const READ: u8 = 1;
  export const WRITE: u8 = 2;
  export const SESSION_WRITE: u8 = 3;
  export const BEGIN: u8 = 4;
  export const COMMIT: u8 = 5;
  export const ROLLBACK: u8 = 6;
}

/**
 * Statement.hint (ABI 1.1): a routing-hint comment in the statement, `-- wasmscale route to ...`
 * or MaxScale's `-- maxscale route to ...`. A 1.0 host sends none: NONE.
 */
export namespace Hint {
  export const NONE: u8 = 0;
  /** route to master / primary */
  export const MASTER: u8 = 1;
  /** route to slave / replica */
  export const SLAVE: u8 = 2;
  /** route to server NAME (Statement.hintServer) */
  export const SERVER: u8 = 3;
  /** route to last: the server the session's previous statement went to */
  export const LAST: u8 = 4;
}

/** Statement.trx bits. */
export namespace Trx {
  export const ACTIVE: u16 = 1;
  export const READ_ONLY: u16 = 2;
  export const AUTOCOMMIT: u16 = 4;
  /** The host tracks the transaction state: ACTIVE, READ_ONLY and AUTOCOMMIT are valid. */
  export const TRACKED: u16 = 8;
}

/** MariaDB command bytes a plugin commonly checks (Statement.command). */
export namespace Command {
  export const QUERY: u8 = 0x03;
  export const STMT_PREPARE: u8 = 0x16;
  export const STMT_EXECUTE: u8 = 0x17;
}

/** RouteDecision.target. */
export namespace Target {
  export const KEEP: u8 = 0;
  export const SERVER: u8 = 1;
  export const ALL: u8 = 2;
  export const ERROR: u8 = 3;
  /** (1.2) every server of the service; their result sets merged into one (SHOW DATABASES). */
  export const MERGE: u8 = 4;
}

/** RouteDecision.flags (1.2). */
export namespace RouteFlag {
  /** A session write (USE, COM_INIT_DB, SET) runs on the chosen server only, outside the host's session history. */
  export const ONLY: u32 = 1;
}

/** SessionTargets.action. */
export namespace TargetsAction {
  export const DEFAULT: u8 = 0;
  export const LIST: u8 = 1;
  export const REFUSE: u8 = 2;
}

/** StatementAction.action. */
export namespace FilterAction {
  export const CONTINUE: u8 = 0;
  export const REWRITE: u8 = 1;
  export const BLOCK: u8 = 2;
}

/** "No server" in u32 server-index fields. */
export const NO_SERVER: u32 = 0xffffffff;

/** wsx_abi_version()'s value: (major << 16) | minor. */
export const ABI_VERSION: i32 = (ABI_MAJOR << 16) | ABI_MINOR;

/** This SDK's version (reported in describe()). */
export const SDK_VERSION: string = "1.2.0";
