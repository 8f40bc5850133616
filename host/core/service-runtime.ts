import type { Logger } from 'pino';
import type { Config, PluginConfig, ServiceConfig } from '../config/index.js';
import type { ServerStatus } from '../monitor/server-state.js';
import { createPluginFilter, PluginFilter } from '../plugins/create-filter.js';
import { createPluginRouter, PluginRouter } from '../plugins/create-router.js';
import { Cap } from '../protocol/constants.js';
import { AccountCache } from '../session/accounts/account-cache.js';
import { fetchAccounts } from '../session/accounts/fetch-accounts.js';
import { FirstAvailableRouter } from '../session/first-available-router.js';
import type { Filter } from '../session/filter.js';
import type { Router } from '../session/router.js';
import type { BackendServer, ServerGreeting, ServiceContext, SessionSettings } from '../session/service-context.js';
import { DatabaseDiscovery } from './database-discovery.js';
import { probeServer } from './server-probe.js';

/** A BackendServer as this runtime keeps it: updated in place, so a router holding the list sees changes. */
type LiveServer = { -readonly [K in keyof BackendServer]: BackendServer[K] };

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
  /** The placeholder until init() has loaded the service's router plugin, if it names one. */
  router: Router;
  /** The service's filters, in order; empty until init() has loaded them. */
  filters: readonly Filter[] = [];

  /** Plugins get classified statements; the host-only placeholder router needs none. */
  get classifies(): boolean {
    if (this.cfg.causal_reads !== 'none') return true;
    if (this.router instanceof PluginRouter && this.router.wantsClassification) return true;
    for (const f of this.filters) if (f instanceof PluginFilter && f.wantsClassification) return true;
    // Before init() has loaded the plugins: classify, as they probably want it.
    return this.plugin !== undefined && !(this.router instanceof PluginRouter);
  }
  private readonly plugin: PluginConfig | undefined;
  private readonly filterPlugins: PluginConfig[];
  private currentGreeting: ServerGreeting | null = null;
  private probing: Promise<void> | null = null;
  private readonly serverList: LiveServer[];
  /** Bumped whenever a monitor changed a server's state, role, lag or GTID. */
  serversVersion = 0;
  /** Called after such a change (e.g. a router bridge re-sends its server table). */
  onServersChanged: (() => void) | null = null;
  private readonly refreshTimer: NodeJS.Timeout;
  /** Each server's databases, read only for a router that wants them (schemarouter). */
  private discovery: DatabaseDiscovery | null = null;

  constructor(
    private cfg: ServiceConfig,
    config: Config,
    readonly log: Logger,
    readonly kill: (id: number, query: boolean) => Promise<boolean>,
  ) {
    this.name = cfg.name;
    this.serverList = cfg.servers.map((n): LiveServer => ({ ...config.servers[n]!, state: 'unknown', role: 'unknown', lagMs: -1 }));
    this.router = new FirstAvailableRouter();
    this.plugin = cfg.router === 'first-available' ? undefined : config.plugins[cfg.router];
    this.filterPlugins = (cfg.filters ?? []).map((f) => config.plugins[f]).filter((p): p is PluginConfig => p !== undefined);
    this.accounts = new AccountCache({
      fetch: () => this.fetchAccountsFromAnyServer(),
      minRefreshIntervalMs: cfg.users_refresh_min_interval,
      log,
    });
    this.refreshTimer = setInterval(() => void this.accounts.load(), cfg.users_refresh_interval);
    this.refreshTimer.unref();
  }

  /** Read on every statement: built once per configuration change, not per read. */
  get settings(): SessionSettings {
    return (this.cachedSettings ??= {
      idleTimeoutMs: this.cfg.idle_timeout,
      netReadTimeoutMs: this.cfg.net_read_timeout,
      maxAllowedPacket: this.cfg.max_allowed_packet,
      connectTimeoutMs: this.cfg.connect_timeout,
      trxReplay: this.cfg.transaction_replay
        ? { maxSize: this.cfg.transaction_replay_max_size, attempts: this.cfg.transaction_replay_attempts, timeoutMs: this.cfg.transaction_replay_timeout, safeCommit: this.cfg.transaction_replay_safe_commit }
        : null,
      causalReads: this.cfg.causal_reads,
      causalReadsTimeoutMs: this.cfg.causal_reads_timeout,
      masterReconnection: this.cfg.master_reconnection,
      delayedRetryMs: this.cfg.delayed_retry ? this.cfg.delayed_retry_timeout : 0,
    });
  }

  private cachedSettings: SessionSettings | null = null;

  get serviceUser(): { user: string; password: string } {
    return { user: this.cfg.user, password: this.cfg.password };
  }

  /** Applies changed runtime parameters (the server list and router are fixed for a service). */
  update(cfg: ServiceConfig, config?: Config): void {
    this.cfg = cfg;
    this.cachedSettings = null;
    const limits = this.plugin ? config?.plugins[this.plugin.name]?.limits : undefined;
    if (limits && this.router instanceof PluginRouter) this.router.updateLimits(limits);
    for (const f of this.filters) {
      const fl = config?.plugins[f.name]?.limits;
      if (fl && f instanceof PluginFilter) f.updateLimits(fl);
    }
  }

  /** States from the service's monitor (ignored without one: servers stay 'unknown'). */
  applyServerStates(states: readonly ServerStatus[]): void {
    if (!this.cfg.monitor) return;
    let changed = false;
    for (const st of states) {
      const s = this.serverList.find((x) => x.name === st.name);
      if (!s || (s.state === st.state && s.role === st.role && s.lagMs === st.lagMs && s.gtid === st.gtid)) continue;
      s.state = st.state;
      s.role = st.role;
      s.lagMs = st.lagMs;
      s.gtid = st.gtid;
      changed = true;
    }
    if (changed) {
      this.serversVersion++;
      this.onServersChanged?.();
      for (const f of this.filters) if (f instanceof PluginFilter) f.serversChanged(this.serverList);
    }
  }

  async init(): Promise<void> {
    await Promise.all([this.probe(), this.accounts.load(), this.initRouter(), this.initFilters()]);
    await this.initDiscovery();
  }

  /** Starts database discovery if the router wants it; the first map is sent before any session. */
  private async initDiscovery(): Promise<void> {
    const router = this.router;
    if (!router.wantsDatabases || !router.databasesChanged) return;
    this.discovery = new DatabaseDiscovery({
      servers: () => this.serverList,
      user: this.cfg.user,
      password: this.cfg.password,
      connectTimeoutMs: this.cfg.connect_timeout,
      intervalMs: this.cfg.refresh_interval,
      minIntervalMs: this.cfg.refresh_min_interval,
      log: this.log,
      onChange: (map) => {
        this.log.info({ service: this.name, databases: Object.fromEntries(map) }, 'database map changed');
        router.databasesChanged?.(map);
      },
    });
    await this.discovery.refresh();
  }

  get discoversDatabases(): boolean {
    return this.discovery !== null;
  }

  databasesOf(server: string): readonly string[] | undefined {
    return this.discovery?.of(server);
  }

  databaseUnknown(): void {
    this.discovery?.requestRefresh();
  }

  /** Loads the service's filter plugins (one instance each per service per worker). */
  private async initFilters(): Promise<void> {
    if (this.filterPlugins.length === 0) return;
    const filters = await Promise.all(this.filterPlugins.map((p) => createPluginFilter(p, { service: this.name, servers: this.serverList, log: this.log })));
    this.filters = filters;
  }

  /** Loads the router plugin the service names (one instance per service per worker). */
  private async initRouter(): Promise<void> {
    if (!this.plugin) return;
    const router = await createPluginRouter(this.plugin, { service: this.name, servers: this.serverList, log: this.log });
    this.router = router;
    this.onServersChanged = () => router.serversChanged(this.serverList);
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

  /** Servers a monitor does not report down first (then the rest, in configured order). */
  private byPreference(): LiveServer[] {
    return [...this.serverList.filter((s) => s.state !== 'down'), ...this.serverList.filter((s) => s.state === 'down')];
  }

  private probe(): Promise<void> {
    this.probing ??= (async () => {
      for (const s of this.byPreference()) {
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
    for (const s of this.byPreference()) {
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
    this.discovery?.close();
    if (this.router instanceof PluginRouter) this.router.close();
    for (const f of this.filters) if (f instanceof PluginFilter) f.close();
  }
}
