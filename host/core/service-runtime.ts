import type { Logger } from 'pino';
import type { Config, ServiceConfig } from '../config/index.js';
import { Cap } from '../protocol/constants.js';
import { AccountCache } from '../session/accounts/account-cache.js';
import { fetchAccounts } from '../session/accounts/fetch-accounts.js';
import { FirstAvailableRouter } from '../session/first-available-router.js';
import type { Router } from '../session/router.js';
import type { BackendServer, ServerGreeting, ServiceContext, SessionSettings } from '../session/service-context.js';
import { probeServer } from './server-probe.js';

// Used until a backend has answered: a MariaDB-looking greeting so clients enable MariaDB features.
const FALLBACK_GREETING: ServerGreeting = {
  serverVersion: '5.5.5-10.11.0-MariaDB-wasmscale',
  capabilities: 0xfffff7fe & ~Cap.SSL & ~Cap.COMPRESS,
  mariaCapabilities: 0x0f,
  charset: 45,
};

/** A service as one worker sees it: settings, accounts, servers, router, mirrored greeting. */
export class ServiceRuntime implements ServiceContext {
  readonly name: string;
  readonly accounts: AccountCache;
  readonly router: Router;
  private currentGreeting: ServerGreeting | null = null;
  private probing: Promise<void> | null = null;
  private readonly serverList: BackendServer[];
  private readonly refreshTimer: NodeJS.Timeout;

  constructor(
    private cfg: ServiceConfig,
    config: Config,
    readonly log: Logger,
    readonly kill: (id: number, query: boolean) => Promise<boolean>,
  ) {
    this.name = cfg.name;
    this.serverList = cfg.servers.map((n) => ({ ...config.servers[n]!, state: 'unknown' as const }));
    this.router = new FirstAvailableRouter();
    this.accounts = new AccountCache({
      fetch: () => this.fetchAccountsFromAnyServer(),
      minRefreshIntervalMs: cfg.users_refresh_min_interval,
      log,
    });
    this.refreshTimer = setInterval(() => void this.accounts.load(), cfg.users_refresh_interval);
    this.refreshTimer.unref();
  }

  get settings(): SessionSettings {
    return {
      idleTimeoutMs: this.cfg.idle_timeout,
      netReadTimeoutMs: this.cfg.net_read_timeout,
      maxAllowedPacket: this.cfg.max_allowed_packet,
      connectTimeoutMs: this.cfg.connect_timeout,
    };
  }

  get serviceUser(): { user: string; password: string } {
    return { user: this.cfg.user, password: this.cfg.password };
  }

  /** Applies changed runtime parameters (the server list and router are fixed for a service). */
  update(cfg: ServiceConfig): void {
    this.cfg = cfg;
  }

  async init(): Promise<void> {
    await Promise.all([this.probe(), this.accounts.load()]);
  }

  greeting(): ServerGreeting {
    if (!this.currentGreeting) void this.probe();
    return this.currentGreeting ?? FALLBACK_GREETING;
  }

  servers(): readonly BackendServer[] {
    return this.serverList;
  }

  server(name: string): BackendServer | undefined {
    return this.serverList.find((s) => s.name === name);
  }

  private probe(): Promise<void> {
    this.probing ??= (async () => {
      for (const s of this.serverList) {
        try {
          const hs = await probeServer(s, this.cfg.connect_timeout);
          this.currentGreeting = {
            serverVersion: hs.serverVersion,
            capabilities: hs.capabilities,
            mariaCapabilities: hs.mariaCapabilities,
            charset: hs.charset,
          };
          return;
        } catch (err) {
          this.log.error({ service: this.name, err: (err as Error).message }, 'backend unreachable');
        }
      }
    })().finally(() => {
      this.probing = null;
    });
    return this.probing;
  }

  private async fetchAccountsFromAnyServer(): Promise<Awaited<ReturnType<typeof fetchAccounts>>> {
    const errors: string[] = [];
    for (const s of this.serverList) {
      try {
        return await fetchAccounts({
          host: s.address,
          port: s.port,
          user: this.cfg.user,
          password: this.cfg.password,
          connectTimeoutMs: this.cfg.connect_timeout,
        });
      } catch (err) {
        errors.push(`${s.name}: ${(err as Error).message}`);
      }
    }
    throw new Error(`service ${this.name}: cannot read accounts from any server (${errors.join('; ')})`);
  }

  close(): void {
    clearInterval(this.refreshTimer);
  }
}
