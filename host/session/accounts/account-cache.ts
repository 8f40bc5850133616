// The proxy's copy of the backend's accounts. Loaded at start, reloaded after
// a failed login (the account may be new) at most once per interval, so a
// client guessing passwords cannot make the proxy hammer the backend.
import type { Account } from './account.js';
import { clientHost, compareRank, hostMatches, parseHostPattern, type HostPattern } from './host-pattern.js';

export interface AccountCacheLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface AccountCacheOptions {
  fetch: () => Promise<Account[]>;
  minRefreshIntervalMs: number;
  now?: () => number;
  log?: AccountCacheLog;
}

interface Entry { user: string; pattern: HostPattern; account: Account }

export class AccountCache {
  private readonly fetchFn: () => Promise<Account[]>;
  private readonly minInterval: number;
  private readonly now: () => number;
  private readonly log: AccountCacheLog | undefined;

  /** In MariaDB's order (compareRank), so the first match is the server's choice. */
  private entries: Entry[] = [];
  private isLoaded = false;
  private error: Error | undefined;
  private lastLoggedError: string | undefined;
  private inFlight: Promise<void> | undefined;
  private lastFetchAt = Number.NEGATIVE_INFINITY;
  // Fetches may overlap (load() does not wait); only a newer one may replace the list.
  private started = 0;
  private applied = 0;

  constructor(opts: AccountCacheOptions) {
    this.fetchFn = opts.fetch;
    this.minInterval = opts.minRefreshIntervalMs;
    this.now = opts.now ?? Date.now;
    this.log = opts.log;
  }

  get loaded(): boolean { return this.isLoaded; }
  /** The last fetch's error; cleared by the next successful fetch. */
  get lastError(): Error | undefined { return this.error; }
  get size(): number { return this.entries.length; }

  /**
   * Always fetches (start-up, admin "reload users"). Never rejects: on
   * failure the old list stays in use and the error is in lastError.
   */
  load(): Promise<void> {
    return this.startFetch();
  }

  /**
   * Reload after a failed login, at most once per minRefreshIntervalMs
   * (counted from the start of the previous fetch, failed ones included, so a
   * dead backend is not retried on every attempt). Callers arriving while a
   * fetch runs join it. Resolves true if a fetch happened or was joined.
   */
  async refreshIfAllowed(): Promise<boolean> {
    if (this.inFlight) {
      await this.inFlight;
      return true;
    }
    if (this.now() - this.lastFetchAt < this.minInterval) return false;
    await this.startFetch();
    return true;
  }

  /**
   * Like refreshIfAllowed, but when the rate limit forbids a fetch now, waits until it allows one
   * (at most minRefreshIntervalMs) instead of giving up: a user created a moment after the last
   * reload still logs in, and a password-guessing client is slowed down. Waiters share one fetch.
   */
  async refreshWhenAllowed(): Promise<boolean> {
    if (this.inFlight) {
      await this.inFlight;
      return true;
    }
    const wait = this.minInterval - (this.now() - this.lastFetchAt);
    if (wait <= 0) {
      await this.startFetch();
      return true;
    }
    this.scheduled ??= new Promise<void>((resolve) => setTimeout(resolve, wait)).then(() => {
      this.scheduled = undefined;
      return this.inFlight ?? this.startFetch();
    });
    await this.scheduled;
    return true;
  }

  private scheduled: Promise<void> | undefined;

  /** The account MariaDB would authenticate `user` from this address as, anonymous ('') included. */
  find(user: string, clientAddress: string): Account | undefined {
    const client = clientHost(clientAddress);
    for (const e of this.entries) {
      if ((e.user === user || e.user === '') && hostMatches(e.pattern, client)) return e.account;
    }
    return undefined;
  }

  /** Whether any account may connect from this address (else MariaDB answers 1130). */
  hostAllowed(clientAddress: string): boolean {
    const client = clientHost(clientAddress);
    return this.entries.some((e) => hostMatches(e.pattern, client));
  }

  private startFetch(): Promise<void> {
    const seq = ++this.started;
    this.lastFetchAt = this.now();
    const p = this.runFetch(seq).finally(() => {
      if (this.inFlight === p) this.inFlight = undefined;
    });
    this.inFlight = p;
    return p;
  }

  private async runFetch(seq: number): Promise<void> {
    let accounts: Account[];
    try {
      accounts = await this.fetchFn();
    } catch (err) {
      if (seq < this.applied) return; // a newer fetch already succeeded
      const e = err instanceof Error ? err : new Error(String(err));
      this.error = e;
      // Once per distinct error: failed logins retry every interval and
      // would otherwise repeat the same line for as long as the backend is down.
      if (e.message !== this.lastLoggedError) {
        this.lastLoggedError = e.message;
        this.log?.warn({ err: e, accounts: this.entries.length },
          this.isLoaded ? 'could not reload accounts; keeping the previous list' : 'could not load accounts');
      }
      return;
    }
    if (seq < this.applied) return;
    this.applied = seq;
    const recovered = this.lastLoggedError !== undefined;
    this.entries = accounts
      .map((account) => ({ user: account.user, pattern: parseHostPattern(account.host), account }))
      .sort(compareRank);
    this.error = undefined;
    this.lastLoggedError = undefined;
    if (!this.isLoaded || recovered) {
      this.log?.info({ accounts: accounts.length }, recovered ? 'accounts loaded again' : 'accounts loaded');
    }
    this.isLoaded = true;
  }
}
