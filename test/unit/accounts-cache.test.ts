import { describe, expect, it } from 'vitest';
import type { Account } from '../../host/session/accounts/account.js';
import { AccountCache } from '../../host/session/accounts/account-cache.js';

const acct = (user: string, host: string, extra: Partial<Account> = {}): Account => ({
  user, host, locked: false, methods: [{ plugin: 'mysql_native_password', authString: '', stage2: null }], ...extra,
});

function deferred<T>() {
  let resolve!: (v: T) => void, reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

function recordingLog() {
  const lines: { level: string; msg: string }[] = [];
  return {
    lines,
    warn: (_o: object, msg: string) => { lines.push({ level: 'warn', msg }); },
    info: (_o: object, msg: string) => { lines.push({ level: 'info', msg }); },
  };
}

describe('AccountCache.find / hostAllowed', () => {
  async function cacheWith(accounts: Account[]) {
    const c = new AccountCache({ fetch: async () => accounts, minRefreshIntervalMs: 1000 });
    await c.load();
    return c;
  }

  it('prefers the specific host over %', async () => {
    const c = await cacheWith([acct('bob', '%'), acct('bob', '10.0.0.%'), acct('bob', '10.0.0.5')]);
    expect(c.find('bob', '10.0.0.5')?.host).toBe('10.0.0.5');
    expect(c.find('bob', '::ffff:10.0.0.6')?.host).toBe('10.0.0.%');
    expect(c.find('bob', '192.0.2.1')?.host).toBe('%');
    expect(c.size).toBe(3);
  });

  it('prefers the named user over anonymous on an equal host, and falls back to anonymous', async () => {
    const c = await cacheWith([acct('', 'localhost'), acct('bob', 'localhost'), acct('bob', '%')]);
    expect(c.find('bob', '127.0.0.1')?.user).toBe('bob');
    expect(c.find('alice', '::1')?.user).toBe('');
    expect(c.find('alice', '10.1.1.1')).toBeUndefined();
    // MariaDB's well-known surprise: ''@localhost beats bob@% for a local client.
    const d = await cacheWith([acct('', 'localhost'), acct('bob', '%')]);
    expect(d.find('bob', '127.0.0.1')?.user).toBe('');
    expect(d.find('bob', '10.1.1.1')?.user).toBe('bob');
  });

  it('matches user names case-sensitively and returns locked accounts for the caller to refuse', async () => {
    const c = await cacheWith([acct('Bob', '%', { locked: true })]);
    expect(c.find('bob', '10.0.0.1')).toBeUndefined();
    expect(c.find('Bob', '10.0.0.1')?.locked).toBe(true);
  });

  it('answers hostAllowed from every account', async () => {
    const c = await cacheWith([acct('a', 'localhost'), acct('b', '10.0.0.0/255.0.0.0')]);
    expect(c.hostAllowed('::1')).toBe(true);
    expect(c.hostAllowed('10.9.9.9')).toBe(true);
    expect(c.hostAllowed('192.168.0.1')).toBe(false);
  });
});

describe('AccountCache loading', () => {
  it('keeps the old list when a reload fails and logs each distinct error once', async () => {
    let fail: Error | undefined;
    const log = recordingLog();
    const c = new AccountCache({
      fetch: async () => { if (fail) throw fail; return [acct('bob', '%')]; },
      minRefreshIntervalMs: 0, log,
    });
    expect(c.loaded).toBe(false);
    await c.load();
    expect(c.loaded).toBe(true);
    expect(c.lastError).toBeUndefined();

    fail = new Error('backend down');
    await c.load();
    await c.load();
    expect(c.lastError?.message).toBe('backend down');
    expect(c.find('bob', '10.0.0.1')?.user).toBe('bob');
    fail = new Error('other error');
    await c.load();
    expect(log.lines.filter((l) => l.level === 'warn')).toHaveLength(2);

    fail = undefined;
    await c.load();
    expect(c.lastError).toBeUndefined();
    expect(log.lines.at(-1)).toEqual({ level: 'info', msg: 'accounts loaded again' });
  });

  it('stays unloaded, with lastError, when the first load fails', async () => {
    const c = new AccountCache({ fetch: async () => { throw new Error('nope'); }, minRefreshIntervalMs: 0 });
    await expect(c.load()).resolves.toBeUndefined();
    expect(c.loaded).toBe(false);
    expect(c.lastError?.message).toBe('nope');
    expect(c.find('x', '127.0.0.1')).toBeUndefined();
  });

  it('rate-limits refreshIfAllowed with the injected clock, failures included', async () => {
    let t = 1_000_000, fetches = 0, fail = false;
    const c = new AccountCache({
      fetch: async () => { fetches++; if (fail) throw new Error('down'); return [acct('bob', '%')]; },
      minRefreshIntervalMs: 5000, now: () => t,
    });
    await c.load();
    expect(await c.refreshIfAllowed()).toBe(false); // load() counts as a fetch
    t += 4999;
    expect(await c.refreshIfAllowed()).toBe(false);
    t += 1;
    fail = true;
    expect(await c.refreshIfAllowed()).toBe(true);
    expect(fetches).toBe(2);
    t += 100;
    expect(await c.refreshIfAllowed()).toBe(false); // the failed fetch still counts
    t += 5000;
    fail = false;
    expect(await c.refreshIfAllowed()).toBe(true);
    expect(fetches).toBe(3);
  });

  it('lets concurrent callers share one in-flight fetch', async () => {
    let fetches = 0;
    const gate = deferred<Account[]>();
    const c = new AccountCache({ fetch: () => { fetches++; return gate.promise; }, minRefreshIntervalMs: 60_000 });
    const calls = [c.refreshIfAllowed(), c.refreshIfAllowed(), c.refreshIfAllowed()];
    expect(fetches).toBe(1);
    gate.resolve([acct('new', '%')]);
    expect(await Promise.all(calls)).toEqual([true, true, true]);
    expect(fetches).toBe(1);
    expect(c.find('new', '10.0.0.1')?.user).toBe('new');
    expect(await c.refreshIfAllowed()).toBe(false); // interval not over yet
  });

  it('does not let an older, slower fetch overwrite a newer list', async () => {
    const first = deferred<Account[]>(), second = deferred<Account[]>();
    const queue = [first.promise, second.promise];
    const c = new AccountCache({ fetch: () => queue.shift()!, minRefreshIntervalMs: 0 });
    const a = c.load(), b = c.load();
    second.resolve([acct('newer', '%')]);
    await b;
    first.resolve([acct('older', '%')]);
    await a;
    expect(c.find('newer', '10.0.0.1')).toBeDefined();
    expect(c.find('older', '10.0.0.1')).toBeUndefined();
  });
});

// Regression: a user created right after a reload got 1045 through the proxy because the
// failed-login reload was rate-limited away (clients-auth "locked account" flaked on it).
describe('AccountCache.refreshWhenAllowed', () => {
  it('waits out the rate limit, then fetches once for all waiters', async () => {
    let fetches = 0;
    let list = [acct('old', '%')];
    const c = new AccountCache({ fetch: async () => { fetches++; return list; }, minRefreshIntervalMs: 150 });
    await c.load();
    list = [acct('old', '%'), acct('fresh', '%')];
    expect(await c.refreshIfAllowed()).toBe(false);
    expect(c.find('fresh', '127.0.0.1')).toBeUndefined();
    const started = Date.now();
    await Promise.all([c.refreshWhenAllowed(), c.refreshWhenAllowed(), c.refreshWhenAllowed()]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(fetches).toBe(2);
    expect(c.find('fresh', '127.0.0.1')?.user).toBe('fresh');
  });
});
