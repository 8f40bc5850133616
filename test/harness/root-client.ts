// One cached mysql2 connection as root to a local server; reconnects after a fatal error.
import mysql from 'mysql2/promise';

export interface Queryable {
  readonly name: string;
  query<T = unknown>(sql: string, params?: unknown[]): Promise<T>;
}

export class RootClient {
  #conn: Promise<mysql.Connection> | undefined;

  constructor(private readonly port: () => number) {}

  async query<T = unknown>(sql: string, params?: unknown[]): Promise<T> {
    const pending = (this.#conn ??= this.#connect());
    let conn: mysql.Connection;
    try {
      conn = await pending;
    } catch (err) {
      if (this.#conn === pending) this.#conn = undefined;
      throw err;
    }
    try {
      const [rows] = await conn.query(sql, params);
      return rows as unknown as T;
    } catch (err) {
      if ((err as { fatal?: boolean }).fatal && this.#conn === pending) this.#drop();
      throw err;
    }
  }

  /** Forget the cached connection (destroying its socket; no COM_QUIT round trip). */
  close(): void {
    this.#drop();
  }

  #drop(): void {
    const pending = this.#conn;
    this.#conn = undefined;
    pending?.then((c) => c.destroy()).catch(() => {});
  }

  #connect(): Promise<mysql.Connection> {
    const pending: Promise<mysql.Connection> = mysql
      .createConnection({
        host: '127.0.0.1',
        port: this.port(),
        user: 'root',
        password: '',
        multipleStatements: true,
        supportBigNumbers: true,
        connectTimeout: 10_000,
      })
      .then((conn) => {
        conn.on('error', () => {
          if (this.#conn === pending) this.#drop();
        });
        return conn;
      });
    return pending;
  }
}
