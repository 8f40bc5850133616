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
}

export interface ServiceConfig {
  name: string;
  /** For now always 'first-available' (the host-only placeholder router); later a plugin name. */
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
  services: Record<string, ServiceConfig>;
  listeners: Record<string, ListenerConfig>;
}
