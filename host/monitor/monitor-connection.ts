// One monitored server's persistent monitor connection (mysql2, as MaxScale uses Connector-C):
// kept open between ticks, dropped on any connection-level failure and reopened at the next
// probe (and once within the same probe, so a server restarted between two ticks is not
// reported down).
import mysql from 'mysql2/promise';
import type { ServerConfig } from '../config/index.js';
import { parseProbe, PROBE_SQL } from './server-probe-query.js';
import type { ProbeOutcome } from './server-state.js';

export interface MonitorConnectionOptions {
  user: string;
  password: string;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  connectAttempts: number;
}

interface SqlError extends Error {
  errno?: number;
  code?: string;
  fatal?: boolean;
}

/** The server answered and said no: it is running, but this user cannot monitor it. */
const REFUSALS = new Set([
  1044, // ER_DBACCESS_DENIED_ERROR
  1045, // ER_ACCESS_DENIED_ERROR
  1142, // ER_TABLEACCESS_DENIED_ERROR
  1227, // ER_SPECIFIC_ACCESS_DENIED_ERROR (no REPLICATION CLIENT / SLAVE MONITOR)
]);

const describe = (err: unknown): string => {
  const e = err as SqlError;
  return e.errno ? `${e.message} (errno ${e.errno})` : e.message ?? String(err);
};

export class MonitorConnection {
  private conn: mysql.Connection | null = null;
  private closed = false;

  constructor(
    readonly server: ServerConfig,
    private readonly opts: MonitorConnectionOptions,
  ) {}

  /** Reads the server's variables and replication connections. Never throws. */
  async probe(): Promise<ProbeOutcome> {
    if (this.conn) {
      const r = await this.query(this.conn);
      if (r) return r;
    }
    let error = 'not connected';
    for (let attempt = 0; attempt < this.opts.connectAttempts && !this.closed; attempt++) {
      let conn: mysql.Connection;
      try {
        conn = await this.connect();
      } catch (err) {
        error = describe(err);
        if (REFUSALS.has((err as SqlError).errno ?? 0)) return { reachable: true, error };
        continue;
      }
      if (this.closed) {
        conn.destroy();
        break;
      }
      this.conn = conn;
      const r = await this.query(conn);
      if (r) return r;
      error = 'the connection broke during the probe';
    }
    return { reachable: false, error };
  }

  /** Runs the probe on `conn`; undefined if the connection broke (it is dropped then). */
  private async query(conn: mysql.Connection): Promise<ProbeOutcome | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.opts.readTimeoutMs);
    });
    const running = conn.query(PROBE_SQL).then(([results]) => results);
    running.catch(() => {}); // settled after a timeout; nobody listens then
    try {
      const results = await Promise.race([running, timeout]);
      if (results === 'timeout') {
        this.drop(conn);
        return undefined;
      }
      return { reachable: true, obs: parseProbe(results) };
    } catch (err) {
      const e = err as SqlError;
      if (e.fatal || !e.errno) {
        this.drop(conn);
        return undefined;
      }
      // A statement error (a missing grant...): the server is there, the connection is fine.
      return { reachable: true, error: describe(err) };
    } finally {
      clearTimeout(timer);
    }
  }

  private async connect(): Promise<mysql.Connection> {
    const conn = await mysql.createConnection({
      host: this.server.address,
      port: this.server.port,
      user: this.opts.user,
      password: this.opts.password,
      connectTimeout: this.opts.connectTimeoutMs,
      multipleStatements: true,
      supportBigNumbers: true,
      dateStrings: true,
    });
    // A broken connection is noticed by the next probe; never let its 'error' crash the process.
    conn.on('error', () => this.drop(conn));
    return conn;
  }

  private drop(conn: mysql.Connection): void {
    if (this.conn === conn) this.conn = null;
    conn.destroy();
  }

  close(): void {
    this.closed = true;
    if (this.conn) this.drop(this.conn);
  }
}
