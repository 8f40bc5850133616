// The plugin ABI's numbers as the host speaks them (sdk/ABI.md is the spec).
import type { ServerRole, ServerState } from '../../session/router.js';

/** The ABI version this host speaks. It loads plugins of this major and any minor <= HOST_ABI_MINOR. */
export const HOST_ABI_MAJOR = 1;
/** 1.1: Statement.hint and hint_server; 1.2: wsx_databases, RouteDecision target MERGE and flags (ABI.md §10). */
export const HOST_ABI_MINOR = 2;

/** Import module of the host functions (ABI.md §8). */
export const HOST_MODULE = 'wasmscale_v1';
/** Import module of the Extism kernel (lifecycle calls). */
export const EXTISM_MODULE = 'extism:host/env';
/** Exports starting with this are reserved for the host's load-time instrumentation (ABI.md §2). */
export const RESERVED_EXPORT_PREFIX = '__wsx_';

export type PluginKind = 'router' | 'filter';

/** Hooks by name as describe() lists them; the export is `wsx_<hook>`. */
export const HOOKS = ['session_start', 'session_end', 'servers', 'route', 'on_statement', 'on_reply', 'databases', 'on_result'] as const;
export type HookName = (typeof HOOKS)[number];

/** Hooks each kind may subscribe to, and the one it must. */
export const KIND_HOOKS: Record<PluginKind, { allowed: readonly HookName[]; required: HookName }> = {
  router: { allowed: ['session_start', 'session_end', 'servers', 'route', 'databases'], required: 'route' },
  filter: { allowed: ['session_start', 'session_end', 'servers', 'on_statement', 'on_reply', 'on_result'], required: 'on_statement' },
};

/** Status codes (ABI.md §7); hooks return them negated. */
export const Status = {
  OK: 0,
  BAD_ARGUMENT: 1,
  NOT_FOUND: 2,
  TOO_LARGE: 3,
  NOT_ALLOWED: 4,
  INTERNAL: 5,
} as const;

export const STATUS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Status).map(([k, v]) => [v, k]));

export const ROLE_CODES: Record<ServerRole, number> = { unknown: 0, primary: 1, replica: 2, standalone: 3 };
export const STATE_CODES: Record<ServerState, number> = { unknown: 0, up: 1, down: 2, maintenance: 3, draining: 4 };

/** "No server" in u32 server-index fields. */
export const NO_SERVER = 0xffffffff;

/** Statement.hint (ABI.md §6): the classifier's Hint values (host/classify/flags.ts). */
export const HintCode = { NONE: 0, MASTER: 1, SLAVE: 2, SERVER: 3, LAST: 4 } as const;

/** RouteDecision.target; MERGE (1.2): every server of the service, result sets merged into one. */
export const Target = { KEEP: 0, SERVER: 1, ALL: 2, ERROR: 3, MERGE: 4 } as const;
/** RouteDecision.flags (1.2). ONLY: a session write (USE, COM_INIT_DB, SET) runs on the named server only, outside the history. */
export const RouteFlag = { ONLY: 1 } as const;
export const TargetsAction = { DEFAULT: 0, LIST: 1, REFUSE: 2 } as const;
export const FilterAction = { CONTINUE: 0, REWRITE: 1, BLOCK: 2 } as const;

/** The host sends at most this much SQL text in a Statement record (sql_total says the full length). */
export const MAX_SQL_BYTES = 1024 * 1024;

export function formatAbi(major: number, minor: number): string {
  return `${major}.${minor}`;
}

/** The marker's value (major << 16 | minor) as "major.minor". */
export function formatMarker(marker: number): string {
  return formatAbi(marker >>> 16, marker & 0xffff);
}
