// Accounts every harness topology has (created on the primary, replicated to the replicas).
export interface Credentials {
  readonly user: string;
  readonly password: string;
}

export const CREDENTIALS = {
  /** root@localhost/127.0.0.1, no password (mysql_native_password). */
  root: { user: 'root', password: '' },
  /** 'repl'@'%': REPLICATION SLAVE; used by the replicas. */
  repl: { user: 'repl', password: 'repl-pw' },
  /** 'wsproxy'@'%': the proxy's monitoring/service account. */
  wsproxy: { user: 'wsproxy', password: 'wsproxy-pw' },
  /** 'app'@'%': ALL ON *.*; the application user that connects through the proxy. */
  app: { user: 'app', password: 'app-pw' },
} as const satisfies Record<string, Credentials>;

/** SQL run once on the primary (multi statement) before the replicas start replicating. */
export const PRIMARY_SETUP_SQL = [
  'CREATE DATABASE IF NOT EXISTS test',
  `CREATE USER 'repl'@'%' IDENTIFIED BY 'repl-pw'`,
  `GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'`,
  `CREATE USER 'wsproxy'@'%' IDENTIFIED BY 'wsproxy-pw'`,
  `GRANT SELECT ON mysql.* TO 'wsproxy'@'%'`,
  `GRANT PROCESS, REPLICATION CLIENT, SLAVE MONITOR, CONNECTION ADMIN, READ_ONLY ADMIN ON *.* TO 'wsproxy'@'%'`,
  `CREATE USER 'app'@'%' IDENTIFIED BY 'app-pw'`,
  `GRANT ALL ON *.* TO 'app'@'%'`,
].join(';\n');
