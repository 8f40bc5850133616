// Reads the backend's accounts with the service user, the way MaxScale does,
// so the proxy can authenticate clients itself. Decoding follows MariaDB's
// own reader (User_table_json::get_auth in sql/sql_acl.cc).
import { createConnection } from 'mysql2/promise';
import { type Account, type AuthMethod, NATIVE_PASSWORD, makeMethod } from './account.js';

export interface ServiceConnection {
  host: string;
  port: number;
  user: string;
  password: string;
  connectTimeoutMs?: number;
}

export type Row = Record<string, unknown>;
/** Runs one SELECT and returns its rows; injectable so the fallback logic can be tested without a server. */
export type RowQuery = (sql: string) => Promise<Row[]>;

const GLOBAL_PRIV_SQL = 'SELECT User, Host, Priv FROM mysql.global_priv';
// SELECT * because the columns differ between MariaDB <= 10.3 (Password) and
// MySQL 5.7+ (no Password, account_locked); the 10.4+ view has no account_locked.
const USER_SQL = 'SELECT * FROM mysql.user';

// ER_DBACCESS_DENIED_ERROR, ER_TABLEACCESS_DENIED_ERROR, ER_COLUMNACCESS_DENIED_ERROR, ER_SPECIFIC_ACCESS_DENIED_ERROR
const PRIVILEGE_ERRNOS = new Set([1044, 1142, 1143, 1227]);

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return v === null || v === undefined ? '' : String(v);
}

/**
 * One mysql.global_priv row → Account; null for roles and for rows MariaDB
 * itself would refuse (bad JSON, wrongly typed auth entries), which the server
 * skips with a warning, so such a user cannot log in there either.
 */
export function decodeGlobalPriv(user: string, host: string, priv: unknown): Account | null {
  let json: unknown = priv;
  if (typeof priv === 'string' || Buffer.isBuffer(priv)) {
    try { json = JSON.parse(text(priv)); } catch { return null; }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return null;
  const o = json as Record<string, unknown>;
  if (o.is_role === true || o.is_role === 1) return null;

  // get_str_value() returns '' for a missing key; an empty plugin means native.
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const topPlugin = str(o.plugin) || NATIVE_PASSWORD;
  const top = makeMethod(topPlugin, str(o.authentication_string));

  let methods: AuthMethod[];
  if (!Array.isArray(o.auth_or)) {
    methods = [top];
  } else {
    methods = [];
    for (const entry of o.auth_or as unknown[]) {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return null;
      const e = entry as Record<string, unknown>;
      // An entry without "plugin" stands for the top-level plugin/string: the
      // server stores the last-set method at top level (for the mysql.user view)
      // and leaves {} in its place in auth_or.
      if (!('plugin' in e)) { methods.push(top); continue; }
      if (typeof e.plugin !== 'string') return null;
      const a = e.authentication_string;
      if (a !== undefined && typeof a !== 'string') return null;
      methods.push(makeMethod(e.plugin, a ?? ''));
    }
    if (methods.length === 0) return null;
  }
  const locked = o.account_locked === true || o.account_locked === 1;
  return { user, host, methods, locked };
}

/** One mysql.user row (MariaDB <= 10.3, MySQL, or the 10.4+ view) → Account; null for roles. */
export function decodeUserRow(row: Row): Account | null {
  const cols = new Map<string, unknown>();
  for (const [k, v] of Object.entries(row)) cols.set(k.toLowerCase(), v);
  const col = (name: string) => text(cols.get(name));
  if (col('is_role').toUpperCase() === 'Y') return null;
  let plugin = col('plugin');
  let authString = col('authentication_string');
  // Before plugins (and in MariaDB <= 10.3 for native users) the hash lives in
  // Password; MariaDB's acl_load takes it from there when the plugin is native
  // and authentication_string is empty.
  if (plugin === '') plugin = NATIVE_PASSWORD;
  if (plugin.toLowerCase() === NATIVE_PASSWORD && authString === '') authString = col('password');
  return {
    user: col('user'),
    host: col('host'),
    methods: [makeMethod(plugin, authString)],
    locked: col('account_locked').toUpperCase() === 'Y',
  };
}

function errno(e: unknown): number | undefined {
  const n = (e as { errno?: unknown } | null)?.errno;
  return typeof n === 'number' ? n : undefined;
}

/** A server-side SQL error (as opposed to a broken connection). */
function isSqlError(e: unknown): e is Error {
  return e instanceof Error && typeof (e as { sqlState?: unknown }).sqlState === 'string';
}

function privilegeError(serviceUser: string, table: string, cause: Error): Error {
  return new Error(
    `service user '${serviceUser}' cannot read ${table}: ${cause.message} — grant SELECT ON mysql.* to it`,
    { cause },
  );
}

/** global_priv first (MariaDB 10.4+), mysql.user when that is missing or not readable. */
export async function readAccounts(query: RowQuery, serviceUser: string): Promise<Account[]> {
  let rows: Row[];
  let decode: (r: Row) => Account | null;
  try {
    rows = await query(GLOBAL_PRIV_SQL);
    decode = (r) => decodeGlobalPriv(text(r.User), text(r.Host), r.Priv);
  } catch (gpErr) {
    if (!isSqlError(gpErr)) throw gpErr;
    try {
      rows = await query(USER_SQL);
      decode = decodeUserRow;
    } catch (userErr) {
      // Name the table the operator has to fix: global_priv unless it simply
      // does not exist (an older server), in which case mysql.user.
      if (PRIVILEGE_ERRNOS.has(errno(gpErr) ?? 0)) throw privilegeError(serviceUser, 'mysql.global_priv', gpErr);
      if (isSqlError(userErr) && PRIVILEGE_ERRNOS.has(errno(userErr) ?? 0)) {
        throw privilegeError(serviceUser, 'mysql.user', userErr);
      }
      throw userErr;
    }
  }
  const accounts: Account[] = [];
  for (const r of rows) {
    const a = decode(r);
    if (a) accounts.push(a);
  }
  return accounts;
}

export async function fetchAccounts(conn: ServiceConnection): Promise<Account[]> {
  const timeout = conn.connectTimeoutMs ?? 10_000;
  const c = await createConnection({
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    connectTimeout: timeout,
  });
  try {
    // A query timeout too: a stalled backend must not hold the cache's shared
    // in-flight refresh (and every login waiting on it) forever.
    return await readAccounts(async (sql) => {
      const [rows] = await c.query({ sql, timeout });
      return rows as Row[];
    }, conn.user);
  } finally {
    await c.end().catch(() => c.destroy());
  }
}
