// Logins through the proxy fail and succeed exactly as they do directly: same error codes and
// SQLSTATEs for both connectors, fresh accounts work at once, and clients that start with
// another auth plugin are switched to mysql_native_password.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { both, errOf, mariaConn, mysqlConn, useProxy } from './clients-helpers.js';

const ports = useProxy();
const run = promisify(execFile);
const LIMITED = { user: 'auth_limited', password: 'limited-pw' };

beforeAll(async () => {
  const root = await mysqlConn(ports.direct, { user: 'root', password: '', multipleStatements: true });
  await root.query(`CREATE OR REPLACE USER '${LIMITED.user}'@'%' IDENTIFIED BY '${LIMITED.password}';
    GRANT SELECT ON test.* TO '${LIMITED.user}'@'%';
    CREATE OR REPLACE USER 'auth_locked'@'%' IDENTIFIED BY 'locked-pw' ACCOUNT LOCK;
    CREATE OR REPLACE USER 'auth_elsewhere'@'10.9.9.9' IDENTIFIED BY 'elsewhere-pw';
    CREATE OR REPLACE USER 'auth_nopw'@'%';
    GRANT SELECT ON test.* TO 'auth_nopw'@'%'`);
  await root.end();
});

interface Case {
  name: string;
  user: string;
  password: string;
  database?: string;
}

const FAILING: Case[] = [
  { name: 'wrong password', user: 'app', password: 'not-the-password' },
  { name: 'empty password for an account that has one', user: 'app', password: '' },
  { name: 'unknown user', user: 'auth_nobody', password: 'x' },
  { name: 'password for an account without one', user: 'auth_nopw', password: 'x' },
  { name: 'host not allowed for that user', user: 'auth_elsewhere', password: 'elsewhere-pw' },
  { name: 'locked account', user: 'auth_locked', password: 'locked-pw' },
  { name: 'unknown database', user: 'app', password: 'app-pw', database: 'auth_no_such_db' },
  { name: 'database without a grant', user: LIMITED.user, password: LIMITED.password, database: 'mysql' },
];

const EXPECTED: Record<string, [number, string]> = {
  'wrong password': [1045, '28000'],
  'empty password for an account that has one': [1045, '28000'],
  'unknown user': [1045, '28000'],
  'password for an account without one': [1045, '28000'],
  'host not allowed for that user': [1045, '28000'],
  'locked account': [4151, 'HY000'],
  'unknown database': [1049, '42000'],
  'database without a grant': [1044, '42000'],
};

describe('login errors match MariaDB', () => {
  it.each(FAILING)('mysql2 and mariadb: $name', async (c) => {
    const out = await both(ports, async (port) => ({
      mysql2: await errOf(mysqlConn(port, { user: c.user, password: c.password, database: c.database ?? 'test' }).then((x) => x.end())),
      mariadb: await errOf(mariaConn(port, { user: c.user, password: c.password, database: c.database ?? 'test' }).then((x) => x.end())),
    }));
    expect(out.proxy).toEqual(out.direct);
    const [errno, sqlState] = EXPECTED[c.name]!;
    expect(out.proxy.mysql2).toEqual({ errno, sqlState });
    expect(out.proxy.mariadb).toEqual({ errno, sqlState });
  });

  it('the error messages name the user and host as MariaDB does', async () => {
    const msg = (port: number): Promise<string> =>
      mysqlConn(port, { user: 'auth_nobody', password: 'x' }).then(() => 'connected', (e: Error) => e.message);
    const out = await both(ports, msg);
    expect(out.proxy).toBe(out.direct);
    expect(out.proxy).toBe("Access denied for user 'auth_nobody'@'localhost' (using password: YES)");
  });
});

describe('successful logins', () => {
  it('accounts without password, limited grants, and root', async () => {
    const out = await both(ports, async (port) => {
      const res: unknown[] = [];
      for (const [user, password] of [['auth_nopw', ''], [LIMITED.user, LIMITED.password], ['root', '']] as const) {
        const c = await mysqlConn(port, { user, password });
        res.push((await c.query('SELECT CURRENT_USER() AS cu, DATABASE() AS db'))[0]);
        res.push(await errOf(c.query('CREATE OR REPLACE TABLE test.auth_denied (a INT)')).then((e) => e?.errno ?? 'allowed'));
        await c.end();
      }
      return res;
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy).toEqual([[{ cu: 'auth_nopw@%', db: 'test' }], 1142, [{ cu: `${LIMITED.user}@%`, db: 'test' }], 1142, [{ cu: expect.stringMatching(/^root@/), db: 'test' }], 'allowed']);
    await mysqlConn(ports.direct, { user: 'root', password: '' }).then(async (c) => { await c.query('DROP TABLE IF EXISTS test.auth_denied'); await c.end(); });
  });

  it('a user created (or whose password changed) a moment ago logs in through the proxy at once', async () => {
    // Reloads after a failed login are rate-limited (users_refresh_min_interval, 200 ms in
    // tests; as in MaxScale, a login inside that window is refused with the old list): each
    // step waits out the window left by the previous reload.
    const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 250));
    const root = await mysqlConn(ports.direct, { user: 'root', password: '' });
    for (let i = 0; i < 2; i++) {
      const user = `auth_fresh_${i}_${Date.now() % 100000}`;
      const results: unknown[] = [];
      await settle();
      await root.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'fresh-pw'`);
      const c = await mysqlConn(ports.proxy, { user, password: 'fresh-pw', database: undefined });
      results.push((await c.query('SELECT CURRENT_USER() AS cu'))[0]);
      await c.end();
      await settle();
      await root.query(`ALTER USER '${user}'@'%' IDENTIFIED BY 'changed-pw'`);
      // The proxy's copy has the old password: the failed check reloads the accounts.
      const m = await mariaConn(ports.proxy, { user, password: 'changed-pw', database: undefined });
      results.push((await m.query('SELECT CURRENT_USER() AS cu'))[0].cu === `${user}@%`);
      await m.end();
      results.push(await errOf(mysqlConn(ports.proxy, { user, password: 'fresh-pw' })));
      await root.query(`DROP USER '${user}'@'%'`);
      expect(results).toEqual([[{ cu: `${user}@%` }], true, { errno: 1045, sqlState: '28000' }]);
    }
    await root.end();
  });

  it('a client starting with another auth plugin is switched to mysql_native_password (mariadb CLI)', async () => {
    const out = await both(ports, async (port) => {
      const res: string[] = [];
      for (const plugin of ['caching_sha2_password', 'client_ed25519', 'mysql_native_password']) {
        const { stdout } = await run('mariadb', ['-h127.0.0.1', `-P${port}`, '-uapp', '-papp-pw', `--default-auth=${plugin}`, '-N', '-e', 'SELECT CURRENT_USER()']);
        res.push(`${plugin}: ${stdout.trim()}`);
      }
      const bad = await run('mariadb', ['-h127.0.0.1', `-P${port}`, '-uapp', '-pwrong', '--default-auth=caching_sha2_password', '-e', 'SELECT 1'])
        .then(() => 'connected', (e: { stderr: string }) => e.stderr.trim());
      res.push(bad);
      return res;
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy).toEqual([
      'caching_sha2_password: app@%', 'client_ed25519: app@%', 'mysql_native_password: app@%',
      "ERROR 1045 (28000): Access denied for user 'app'@'localhost' (using password: YES)",
    ]);
  });
});
