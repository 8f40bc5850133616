/** MariaDB error codes the proxy itself sends, with the SQLSTATE and message format the server uses. */
export interface ErrorSpec { code: number; sqlState: string }

export const Er = {
  CON_COUNT: { code: 1040, sqlState: '08004' },
  HANDSHAKE: { code: 1043, sqlState: '08S01' },
  DBACCESS_DENIED: { code: 1044, sqlState: '42000' },
  ACCESS_DENIED: { code: 1045, sqlState: '28000' },
  BAD_DB: { code: 1049, sqlState: '42000' },
  UNKNOWN_COM: { code: 1047, sqlState: '08S01' },
  NO_SUCH_THREAD: { code: 1094, sqlState: 'HY000' },
  HOST_NOT_PRIVILEGED: { code: 1130, sqlState: 'HY000' },
  NET_PACKET_TOO_LARGE: { code: 1153, sqlState: '08S01' },
  NET_PACKETS_OUT_OF_ORDER: { code: 1156, sqlState: '08S01' },
  NET_READ_ERROR: { code: 1158, sqlState: '08S01' },
  NET_READ_INTERRUPTED: { code: 1159, sqlState: '08S01' },
  UNKNOWN_STMT_HANDLER: { code: 1243, sqlState: 'HY000' },
  QUERY_INTERRUPTED: { code: 1317, sqlState: '70100' },
  CONNECTION_KILLED: { code: 1927, sqlState: '70100' },
  ACCOUNT_LOCKED: { code: 4151, sqlState: 'HY000' },
  CLIENT_INTERACTION_TIMEOUT: { code: 4031, sqlState: 'HY000' },
  // Client-side code clients already know for "the server went away during the query".
  LOST_CONNECTION: { code: 2013, sqlState: 'HY000' },
  // A proxy-side failure to reach any backend: MaxScale reports it with this code.
  NO_BACKEND: { code: 2003, sqlState: 'HY000' },
} as const satisfies Record<string, ErrorSpec>;
