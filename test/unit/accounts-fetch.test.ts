// Integration-style: reads the machine's shared MariaDB (127.0.0.1:3306, root,
// empty password). Read-only: it creates no users there.
import { describe, expect, it } from 'vitest';
import { fetchAccounts } from '../../host/session/accounts/fetch-accounts.js';
import { AccountCache } from '../../host/session/accounts/account-cache.js';

const conn = { host: '127.0.0.1', port: 3306, user: 'root', password: '', connectTimeoutMs: 5000 };

describe('fetchAccounts against the shared MariaDB', () => {
  it('finds root@localhost with a native-password method', async () => {
    const accounts = await fetchAccounts(conn);
    const root = accounts.find((a) => a.user === 'root' && a.host === 'localhost');
    expect(root).toBeDefined();
    const native = root!.methods.find((m) => m.plugin === 'mysql_native_password');
    expect(native).toBeDefined();
    // Either a real hash (20 bytes) or the empty password (null).
    if (native!.authString === '') expect(native!.stage2).toBeNull();
    else expect(native!.stage2?.length).toBe(20);
    for (const a of accounts) expect(a.methods.length).toBeGreaterThan(0);
  });

  it('feeds an AccountCache that resolves a local root login', async () => {
    const cache = new AccountCache({ fetch: () => fetchAccounts(conn), minRefreshIntervalMs: 1000 });
    await cache.load();
    expect(cache.lastError).toBeUndefined();
    expect(cache.loaded).toBe(true);
    expect(cache.find('root', '::ffff:127.0.0.1')?.user).toBe('root');
    expect(cache.hostAllowed('127.0.0.1')).toBe(true);
  });

  it('rejects with the server error when the credentials are wrong', async () => {
    await expect(fetchAccounts({ ...conn, user: 'wasmscale_no_such_user' })).rejects.toThrow(/denied/i);
  });
});
