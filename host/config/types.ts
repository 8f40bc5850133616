// The normalized configuration the rest of the host works with: defaults applied, durations in
// milliseconds, sizes in bytes, every object carrying its own name. Field names are the YAML
// names, so a parameter has one name everywhere (file, admin API, overlay, RUNTIME_PARAMETERS).
// Written out by hand (not inferred from the schema) so that readers see documented fields.

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LogConfig {
  level: LogLevel;
  /** 'auto' = pretty when stdout is a TTY, JSON otherwise. */
  format: LogFormat;
}

export interface AdminConfig {
  enabled: boolean;
  host: string;
  port: number;
}

export interface ServerConfig {
  name: string;
  address: string;
  port: number;
  /** Relative share for routers that balance by weight; default 1, 0 = never chosen. */
  weight: number;
}

/** A server monitor (MaxScale's parameter names and defaults). Durations in ms. */
export interface MonitorConfig {
  name: string;
  module: 'mariadbmon';
  /** Servers it monitors, in order of preference (ties in primary selection go to the earlier). */
  servers: string[];
  user: string;
  password: string;
  /** Time between ticks (default 2 s). */
  monitor_interval: number;
  backend_connect_timeout: number;
  backend_read_timeout: number;
  /** Connect attempts per server per tick. */
  backend_connect_attempts: number;
  /** Ticks a primary may be down (without running replicas) before another may take its role. */
  failcount: number;
  /** Replicas whose IO thread cannot reach the primary (SQL thread running) stay replicas. */
  detect_stale_slave: boolean;
  /** A writable server nobody replicates from may be the primary. */
  detect_standalone_master: boolean;
  /** Match Master_Host:Master_Port to server addresses (else only Master_Server_Id). */
  assume_unique_hostnames: boolean;
  /** Do not mark servers replicating from unmonitored servers "Slave of External Server". */
  ignore_external_masters: boolean;
}

export interface ServiceConfig {
  name: string;
  /** 'first-available' (the host-only placeholder router) or the name of a router plugin in `plugins`. */
  router: string;
  /** Names of servers, in configured order; non-empty, each defined in `servers`. */
  servers: string[];
  /** Service user that reads the accounts from the backends. */
  user: string;
  password: string;
  /** Periodic reload of the accounts, ms (>= 1 s). */
  users_refresh_interval: number;
  /** Least time between reloads triggered by failed logins, ms. */
  users_refresh_min_interval: number;
  /** Close client sessions idle this long, ms; 0 = never. */
  idle_timeout: number;
  /** Drop a client that stalls mid-packet this long, ms; 0 = never. */
  net_read_timeout: number;
  /** Largest logical (reassembled) client packet accepted, bytes. */
  max_allowed_packet: number;
  /** Backend connect timeout, ms (> 0). */
  connect_timeout: number;
  /** Monitor the servers' states and roles come from; without one: role unknown, state unknown. */
  monitor?: string;
  /** Filter plugins (names in `plugins`), in the order statements pass through them. */
  filters: string[];
  /** Replay an open transaction on a new connection when its connection is lost. */
  transaction_replay: boolean;
  /** Largest transaction (statement bytes) kept for replay; a bigger one is not replayed. */
  transaction_replay_max_size: number;
  /** Replays tried for one loss before the session gets an error. */
  transaction_replay_attempts: number;
  /** How long a replay may take in all (reconnects included), ms. */
  transaction_replay_timeout: number;
  /** A COMMIT in flight when the connection is lost is not replayed (it may have committed): the client gets 2013. */
  transaction_replay_safe_commit: boolean;
  /**
   * Reads on replicas wait for the session's last write (local) or the primary's position (global:
   * gtid_binlog_pos, universal: gtid_current_pos); fast / fast_global do not wait but use a replica
   * the monitor saw at that write / at the primary's position, else the primary.
   */
  causal_reads: 'none' | 'local' | 'global' | 'fast' | 'fast_global' | 'universal';
  /** How long such a wait may take before the read goes to the primary, ms. */
  causal_reads_timeout: number;
  /** Losing the main connection while idle does not end the session; it is reopened when needed. */
  master_reconnection: boolean;
  /** A statement the router cannot place waits (routed again every 250 ms) instead of failing at once. */
  delayed_retry: boolean;
  /** How long it may wait, ms. */
  delayed_retry_timeout: number;
  /** Re-read of each server's databases for routers that shard by database, ms (>= 1 s). */
  refresh_interval: number;
  /** Least time between such reads triggered by "unknown database" replies, ms. */
  refresh_min_interval: number;
}

export type FailurePolicy = 'fail_open' | 'fail_closed';

/** Sandbox limits of each instance of a plugin (sdk/ABI.md §2, §9). */
export interface PluginLimits {
  /** Memory quota, bytes: the module's declared maximum must fit (default 16 MiB). */
  memory: number;
  /** CPU budget of one call, ms (default 5); converted to fuel by the sandbox. */
  cpu_budget: number;
  /** Fuel units per call; when set, used instead of cpu_budget. */
  fuel?: number;
  /** What a failed call (trap, error status) does: fail_open skips the plugin, fail_closed fails the statement. */
  failure_policy: FailurePolicy;
  /** This many traps within trap_window quarantine the plugin (default 5). */
  max_traps: number;
  /** ms (default 60 s). */
  trap_window: number;
}

/** A WebAssembly router or filter: `services.<name>.router` names one. */
export interface PluginConfig {
  name: string;
  /** Path of the .wasm, absolute (the YAML value is relative to the config file's directory). */
  file: string;
  /** The plugin's own settings, passed to its `configure` export as a JSON object. */
  config: Record<string, unknown>;
  limits: PluginLimits;
  /** Filters: only statements whose SQL matches this regular expression reach the plugin. */
  match?: string;
  /** Filters: statements whose SQL matches this never reach the plugin. */
  exclude?: string;
  /** How match/exclude compare letters (default ignorecase). */
  options?: 'ignorecase' | 'case';
  /** Hot-swap the plugin when `file` changes (default false). */
  watch?: boolean;
}

export interface ListenerConfig {
  name: string;
  /** Name of a service defined in `services`. */
  service: string;
  host: string;
  port: number;
  /** A client must finish authenticating within this, ms (> 0). */
  handshake_timeout: number;
}

export interface Config {
  /** Routing worker processes; 'auto' resolved to the CPU count. 0 = all in one process. */
  workers: number;
  log: LogConfig;
  admin: AdminConfig;
  servers: Record<string, ServerConfig>;
  /** Empty when none are configured. */
  monitors: Record<string, MonitorConfig>;
  /** Empty when none are configured. */
  plugins: Record<string, PluginConfig>;
  services: Record<string, ServiceConfig>;
  listeners: Record<string, ListenerConfig>;
}
