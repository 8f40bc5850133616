// Which parameters may change while the proxy runs (MaxScale: "modifiable at runtime").
// The admin API accepts changes to these only, applies them to live objects, and persists them
// to the runtime overlay; a change to anything else (listener addresses, worker count, a
// service's servers, ...) is refused with "needs a restart". Each entry is a path in the YAML
// file, with `*` standing for one object name. An entry here is a promise: the code that uses
// the parameter must read it from the current config each time (or be told of the change),
// never cache it at start-up:
//   - log.level: the primary and every worker set their logger's level.
//   - services.*.idle_timeout, net_read_timeout: apply to sessions' next timer (re)arm.
//   - services.*.max_allowed_packet: applies to the next packet read.
//   - services.*.connect_timeout: applies to the next backend connect.
//   - services.*.users_refresh_interval, users_refresh_min_interval: the account loader
//     reschedules its timer with the new interval.
//   - plugins.*.limits.cpu_budget, fuel: the next call into each instance gets the new budget.
//   - plugins.*.limits.failure_policy: applies to the next failed call.
//   - plugins.*.limits.max_traps, trap_window: apply to the next trap.
//   (A plugin's file and config change through a hot swap, its memory quota with a new instance.)

const LIST = [
  'log.level',
  'services.*.idle_timeout',
  'services.*.net_read_timeout',
  'services.*.max_allowed_packet',
  'services.*.connect_timeout',
  'services.*.users_refresh_interval',
  'services.*.users_refresh_min_interval',
  'plugins.*.limits.cpu_budget',
  'plugins.*.limits.fuel',
  'plugins.*.limits.failure_policy',
  'plugins.*.limits.max_traps',
  'plugins.*.limits.trap_window',
] as const;

export type RuntimeParameter = (typeof LIST)[number];

export const RUNTIME_PARAMETERS: ReadonlySet<RuntimeParameter> = new Set(LIST);

// Object names may contain dots, so `*` matches any non-empty run of characters.
const PATTERNS = LIST.map((p) => {
  const re = p.split('*').map((s) => s.replace(/[.]/g, '\\.')).join('.+');
  return [p, new RegExp(`^${re}$`)] as const;
});

/** The pattern a concrete path matches ('services.main.idle_timeout' → 'services.*.idle_timeout'), or undefined. */
export function runtimeParameterOf(path: string): RuntimeParameter | undefined {
  return PATTERNS.find(([, re]) => re.test(path))?.[0];
}

/** True if the parameter at this concrete path may change without a restart. */
export function isRuntimeParameter(path: string): boolean {
  return runtimeParameterOf(path) !== undefined;
}
