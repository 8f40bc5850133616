// The zod schema of wasmscale.yaml. Leaves are written as "unknown → transform" so that every
// message says exactly what was expected and what was found ("expected an integer between 1
// and 65535, got "abc""), in the operator's terms rather than zod's. Objects are strict: a typo
// in a key is an error, never silently ignored. Cross-references between sections (a service's
// servers, a listener's service, clashing addresses) are checked in refs.ts, on the raw data,
// so that they are reported together with the schema problems.
import * as z from 'zod';
import { formatDuration, formatSize, MAX_TIMER_MS, parseDuration, parseSize } from './units.js';

/** Names of servers, services and listeners. Checked in refs.ts (it has the key's location). */
export const NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/** Built-in routers; any other router name must be a plugin in `plugins` (checked in plugin-refs.ts). */
export const ROUTERS = ['first-available'] as const;
export const FAILURE_POLICIES = ['fail_open', 'fail_closed'] as const;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

/** A value as the operator wrote it, for "got ..." in messages. */
export function show(v: unknown): string {
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** A leaf check's verdict when the generic "expected <what>, got <value>" would not say enough. */
class Bad {
  constructor(readonly message: string) {}
}

/**
 * A leaf: `check` returns the normalized value, a Bad (its message is used as is) or undefined
 * (then "expected <what>, got <value>"). A missing value is reported as "required".
 */
function leaf<T>(what: string, check: (v: unknown) => T | Bad | undefined) {
  return z.unknown().transform((v, ctx): T => {
    const r = v === undefined ? new Bad('required') : check(v);
    if (r !== undefined && !(r instanceof Bad)) return r;
    const message = r instanceof Bad ? r.message : `expected ${what}, got ${show(v)}`;
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  });
}

function intRange(min: number, max: number) {
  return leaf(`an integer between ${min} and ${max}`, (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : undefined,
  );
}

const port = intRange(1, 65535);

/** YAML turns `password: 1234` into a number; refuse it rather than guess what was meant. */
function str(opts: { allowEmpty?: boolean } = {}) {
  return leaf(opts.allowEmpty ? 'a string' : 'a non-empty string', (v) => {
    if (typeof v === 'number' || typeof v === 'boolean') {
      return new Bad(`expected a string, got ${show(v)} (put it in quotes: "${String(v)}")`);
    }
    return typeof v === 'string' && (opts.allowEmpty || v !== '') ? v : undefined;
  });
}

const bool = leaf('true or false', (v) => (typeof v === 'boolean' ? v : undefined));

function oneOf<const T extends readonly string[]>(values: T) {
  return leaf(`one of ${values.join(', ')}`, (v) =>
    values.includes(v as string) ? (v as T[number]) : undefined,
  );
}

const DURATION_HINT = 'a duration (seconds, or e.g. "250ms", "10s", "5m", "1h")';

/** Durations in milliseconds; the maximum keeps them valid as Node timer delays. */
function duration(min = 0) {
  return leaf(DURATION_HINT, (v) => {
    const ms = parseDuration(v);
    if (ms === undefined) return undefined;
    if (ms < min) return new Bad(`must be at least ${formatDuration(min)}, got ${show(v)}`);
    if (ms > MAX_TIMER_MS) return new Bad(`must be at most ${formatDuration(MAX_TIMER_MS)}, got ${show(v)}`);
    return ms;
  });
}

function size(min: number, max: number) {
  return leaf('a size (bytes, or e.g. "16k", "64M", "64MiB", "1G")', (v) => {
    const bytes = parseSize(v);
    if (bytes === undefined) return undefined;
    if (bytes < min || bytes > max) {
      return new Bad(`must be between ${formatSize(min)} and ${formatSize(max)}, got ${show(v)}`);
    }
    return bytes;
  });
}

const workers = leaf('"auto" or an integer >= 0', (v): number | 'auto' | undefined =>
  v === 'auto' || (typeof v === 'number' && Number.isInteger(v) && v >= 0) ? v : undefined,
);

// A built-in router or the name of a plugin; which one is checked in plugin-refs.ts.
const router = leaf('a router name', (v) => (typeof v === 'string' && v !== '' ? v : undefined));

const log = z.strictObject({
  level: oneOf(LOG_LEVELS).default('info'),
  format: oneOf(LOG_FORMATS).default('auto'),
});

const admin = z.strictObject({
  enabled: bool.default(true),
  host: str().default('127.0.0.1'),
  port: port.default(8989),
});

const server = z.strictObject({
  address: str(),
  port: port.default(3306),
  // Routers that balance by weight read it (ABI ServerTable weight: u32); 0 = never chosen.
  weight: intRange(0, 1_000_000).default(1),
});

/** Monitor modules that exist today. */
export const MONITOR_MODULES = ['mariadbmon'] as const;

// MaxScale's names and defaults (common monitor parameters + mariadbmon's own).
const monitor = z.strictObject({
  module: oneOf(MONITOR_MODULES),
  servers: z.array(str()).min(1, { error: 'must list at least one server' }),
  user: str(),
  password: str({ allowEmpty: true }).default(''),
  monitor_interval: duration(50).default(2000),
  backend_connect_timeout: duration(1).default(3000),
  backend_read_timeout: duration(1).default(3000),
  backend_connect_attempts: intRange(1, 100).default(1),
  failcount: intRange(0, 1_000_000).default(5),
  detect_stale_slave: bool.default(true),
  detect_standalone_master: bool.default(true),
  assume_unique_hostnames: bool.default(true),
  ignore_external_masters: bool.default(false),
});

const service = z.strictObject({
  router: router.default('first-available'),
  servers: z.array(str()).min(1, { error: 'must list at least one server' }),
  user: str(),
  password: str({ allowEmpty: true }).default(''),
  users_refresh_interval: duration(1000).default(30_000),
  users_refresh_min_interval: duration().default(1000),
  idle_timeout: duration().default(0),
  net_read_timeout: duration().default(30_000),
  // MariaDB's own ceiling for max_allowed_packet is 1GiB.
  max_allowed_packet: size(1024, 1024 ** 3).default(64 * 1024 ** 2),
  connect_timeout: duration(1).default(3000),
  /** Name of a monitor: the servers' states and roles come from it. */
  monitor: str().optional(),
  /** Filter plugins, in the order statements pass through them (replies: reverse order). */
  filters: z.array(str()).default([]),
  // MaxScale's readwritesplit names: replay an open transaction on a new connection when the
  // one it ran on is lost, comparing each result with what the client already got.
  transaction_replay: bool.default(false),
  transaction_replay_max_size: size(0, 1024 ** 3).default(1024 ** 2),
  transaction_replay_attempts: intRange(1, 100).default(5),
  transaction_replay_timeout: duration(1).default(30_000),
  // A COMMIT in flight when the connection is lost may have committed: not replayed (MaxScale 23.08+).
  transaction_replay_safe_commit: bool.default(true),
  // A read sent to a replica first waits for the GTID it must see (MaxScale's readwritesplit names);
  // the fast modes never wait but pick a replica the monitor saw caught up, else the primary.
  causal_reads: oneOf(['none', 'local', 'global', 'fast', 'fast_global', 'universal'] as const).default('none'),
  causal_reads_timeout: duration(1).default(10_000),
  // The session survives the loss of its main (first) connection while idle; it is reopened when needed.
  master_reconnection: bool.default(false),
  // A statement the router finds no server for (no primary during a failover) waits and is routed again.
  delayed_retry: bool.default(false),
  delayed_retry_timeout: duration(1).default(10_000),
  // schemarouter (MaxScale's name and default): how often each server's databases are read again.
  refresh_interval: duration(1000).default(300_000),
  // Least time between reads triggered by "unknown database" (1049) replies.
  refresh_min_interval: duration().default(1000),
});

// A plugin: its module, its own configuration (passed to the plugin's `configure` as JSON) and
// the sandbox limits of each of its instances (sdk/ABI.md §2, §9).
const pluginLimits = z.strictObject({
  memory: size(64 * 1024, 4 * 1024 ** 3).default(16 * 1024 ** 2),
  cpu_budget: duration(1).default(5),
  // Fuel units per call; overrides cpu_budget when set (the sandbox converts cpu_budget to fuel).
  fuel: intRange(1, Number.MAX_SAFE_INTEGER).optional(),
  failure_policy: oneOf(FAILURE_POLICIES).default('fail_open'),
  max_traps: intRange(1, 1_000_000).default(5),
  trap_window: duration(1).default(60_000),
});

const PLUGIN_LIMIT_DEFAULTS = {
  memory: 16 * 1024 ** 2, cpu_budget: 5, failure_policy: 'fail_open', max_traps: 5, trap_window: 60_000,
} as const;

/** A regular expression (JavaScript syntax); refused with the parser's reason when it does not compile. */
const regex = leaf('a regular expression', (v) => {
  if (typeof v !== 'string' || v === '') return undefined;
  try {
    new RegExp(v);
    return v;
  } catch (err) {
    return new Bad(`invalid regular expression: ${(err as Error).message}`);
  }
});

const plugin = z.strictObject({
  file: str(),
  config: z.record(z.string(), z.unknown()).default({}),
  limits: pluginLimits.default(PLUGIN_LIMIT_DEFAULTS),
  // Filters only (MaxScale's filter parameters): the host calls the filter only for statements
  // whose SQL matches `match` and does not match `exclude`.
  match: regex.optional(),
  exclude: regex.optional(),
  options: oneOf(['ignorecase', 'case'] as const).default('ignorecase'),
  /** Hot-swap the plugin when its file changes (host/plugins/plugin-watch.ts). */
  watch: bool.default(false),
});

const listener = z.strictObject({
  service: str(),
  host: str().default('127.0.0.1'),
  port,
  handshake_timeout: duration(1).default(10_000),
});

function section<T extends z.ZodType>(value: T, what: string) {
  return z
    .record(z.string(), value)
    .refine((o) => Object.keys(o).length > 0, { error: `must define at least one ${what}` });
}

export const configSchema = z.strictObject({
  workers: workers.default('auto'),
  log: log.default({ level: 'info', format: 'auto' }),
  admin: admin.default({ enabled: true, host: '127.0.0.1', port: 8989 }),
  servers: section(server, 'server'),
  monitors: z.record(z.string(), monitor).default({}),
  plugins: z.record(z.string(), plugin).default({}),
  services: section(service, 'service'),
  listeners: section(listener, 'listener'),
});

/** What the schema produces; load.ts turns it into the documented `Config`. */
export type ParsedConfig = z.output<typeof configSchema>;
