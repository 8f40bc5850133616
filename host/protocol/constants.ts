/** Capability flags of the client/server protocol (lower 32 bits) and MariaDB's extended ones (upper 32). */
export const Cap = {
  LONG_PASSWORD: 1 << 0,
  FOUND_ROWS: 1 << 1,
  LONG_FLAG: 1 << 2,
  CONNECT_WITH_DB: 1 << 3,
  NO_SCHEMA: 1 << 4,
  COMPRESS: 1 << 5,
  ODBC: 1 << 6,
  LOCAL_FILES: 1 << 7,
  IGNORE_SPACE: 1 << 8,
  PROTOCOL_41: 1 << 9,
  INTERACTIVE: 1 << 10,
  SSL: 1 << 11,
  IGNORE_SIGPIPE: 1 << 12,
  TRANSACTIONS: 1 << 13,
  RESERVED: 1 << 14,
  SECURE_CONNECTION: 1 << 15,
  MULTI_STATEMENTS: 1 << 16,
  MULTI_RESULTS: 1 << 17,
  PS_MULTI_RESULTS: 1 << 18,
  PLUGIN_AUTH: 1 << 19,
  CONNECT_ATTRS: 1 << 20,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 1 << 21,
  CAN_HANDLE_EXPIRED_PASSWORDS: 1 << 22,
  SESSION_TRACK: 1 << 23,
  DEPRECATE_EOF: 1 << 24,
  OPTIONAL_RESULTSET_METADATA: 1 << 25,
  ZSTD_COMPRESSION: 1 << 26,
  PROGRESS_OBSOLETE: 1 << 29,
  SSL_VERIFY_SERVER_CERT: 1 << 30,
  REMEMBER_OPTIONS: 1 << 31,
} as const;

/** MariaDB extended capabilities, sent in the 4 bytes that MySQL leaves as filler. */
export const MariaCap = {
  PROGRESS: 1 << 0,
  COM_MULTI: 1 << 1,
  STMT_BULK_OPERATIONS: 1 << 2,
  EXTENDED_METADATA: 1 << 3,
  CACHE_METADATA: 1 << 4,
} as const;

/**
 * What the proxy can carry through unchanged. Compression and TLS would need the proxy to
 * terminate them; optional result-set metadata (MySQL's) is not offered.
 */
export const PROXY_CAPS =
  Cap.LONG_PASSWORD | Cap.FOUND_ROWS | Cap.LONG_FLAG | Cap.CONNECT_WITH_DB | Cap.NO_SCHEMA |
  Cap.ODBC | Cap.LOCAL_FILES | Cap.IGNORE_SPACE | Cap.PROTOCOL_41 | Cap.INTERACTIVE |
  Cap.IGNORE_SIGPIPE | Cap.TRANSACTIONS | Cap.RESERVED | Cap.SECURE_CONNECTION |
  Cap.MULTI_STATEMENTS | Cap.MULTI_RESULTS | Cap.PS_MULTI_RESULTS | Cap.PLUGIN_AUTH |
  Cap.CONNECT_ATTRS | Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA | Cap.CAN_HANDLE_EXPIRED_PASSWORDS |
  Cap.SESSION_TRACK | Cap.DEPRECATE_EOF | Cap.PROGRESS_OBSOLETE | Cap.REMEMBER_OPTIONS;

/**
 * Metadata caching is carried through: the reply tracker knows the column-count packet's extra
 * byte, and the session keeps what each side has seen (host/session/metadata-cache.ts).
 */
export const PROXY_MARIA_CAPS = MariaCap.PROGRESS | MariaCap.STMT_BULK_OPERATIONS | MariaCap.EXTENDED_METADATA | MariaCap.CACHE_METADATA;

export const Com = {
  SLEEP: 0x00,
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  CREATE_DB: 0x05,
  DROP_DB: 0x06,
  REFRESH: 0x07,
  SHUTDOWN: 0x08,
  STATISTICS: 0x09,
  PROCESS_INFO: 0x0a,
  CONNECT: 0x0b,
  PROCESS_KILL: 0x0c,
  DEBUG: 0x0d,
  PING: 0x0e,
  TIME: 0x0f,
  DELAYED_INSERT: 0x10,
  CHANGE_USER: 0x11,
  BINLOG_DUMP: 0x12,
  TABLE_DUMP: 0x13,
  CONNECT_OUT: 0x14,
  REGISTER_SLAVE: 0x15,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  SET_OPTION: 0x1b,
  STMT_FETCH: 0x1c,
  DAEMON: 0x1d,
  BINLOG_DUMP_GTID: 0x1e,
  RESET_CONNECTION: 0x1f,
  STMT_BULK_EXECUTE: 0xfa,
} as const;

export const Status = {
  IN_TRANS: 0x0001,
  AUTOCOMMIT: 0x0002,
  MORE_RESULTS_EXISTS: 0x0008,
  NO_GOOD_INDEX_USED: 0x0010,
  NO_INDEX_USED: 0x0020,
  CURSOR_EXISTS: 0x0040,
  LAST_ROW_SENT: 0x0080,
  DB_DROPPED: 0x0100,
  NO_BACKSLASH_ESCAPES: 0x0200,
  METADATA_CHANGED: 0x0400,
  QUERY_WAS_SLOW: 0x0800,
  PS_OUT_PARAMS: 0x1000,
  IN_TRANS_READONLY: 0x2000,
  SESSION_STATE_CHANGED: 0x4000,
} as const;

/** Largest payload of one physical packet; a payload of this length is continued in the next. */
export const MAX_PACKET_PAYLOAD = 0xffffff;

export const NATIVE_PASSWORD = 'mysql_native_password';
