// The offline test kit: runs a router plugin against sessions, statements and a fake server
// table, with no database and no proxy, through exactly the code the proxy uses (sandbox
// instrumentation, validation, the PluginRouter bridge). Two ways in:
//
//   - programmatic, e.g. from a plugin author's vitest:
//       const kit = await PluginTestKit.load('build/my-router.wasm', { config: {...}, servers: [...] });
//       const s = kit.startSession({ user: 'app' });        // s.servers: the plugin's choice
//       expect(kit.route(s, 'SELECT 1')).toEqual({ kind: 'server', server: 'db2' });
//   - `wasmscale plugin test <file.wasm> <cases.json>` (see runPluginCases for the format).
import { pino, type Logger } from 'pino';
import type { PluginLimits } from '../config/index.js';
import type { RouteDecision, RouterSession, ServerRole, ServerState, ServerView, Statement } from '../session/router.js';
import { preparePlugin } from './plugin-loader.js';
import { PluginRouter } from './plugin-router.js';
import { PluginVersion } from './plugin-version.js';

export interface TestServer {
  name: string;
  role?: ServerRole;
  state?: ServerState;
  weight?: number;
  /** Replication lag, ms (-1 unknown). */
  lag_ms?: number;
}

export interface TestSessionInfo {
  user?: string;
  database?: string;
  client_address?: string;
}

export interface TestSession {
  id: number;
  /** Servers the plugin chose to try, best first ([] if refused). */
  servers: readonly string[];
  /** Set when the plugin refused the session. */
  refusal: string | null;
  /** The server the session is connected to (the first choice, unless connect() said otherwise). */
  current: string | null;
  readonly handle: RouterSession;
}

export const TEST_LIMITS: PluginLimits = { memory: 16 * 1024 ** 2, cpu_budget: 50, failure_policy: 'fail_open', max_traps: 5, trap_window: 60_000 };

type MutableServer = { -readonly [K in keyof ServerView]: ServerView[K] };

function toView(s: TestServer): MutableServer {
  return { name: s.name, role: s.role ?? 'unknown', state: s.state ?? 'up', weight: s.weight ?? 1, lagMs: s.lag_ms ?? -1 };
}

export class PluginTestKit {
  private nextId = 1;

  private constructor(
    readonly router: PluginRouter,
    private readonly servers: MutableServer[],
  ) {}

  /** Loads `file` like the proxy would (sandbox, validation, configure) with this server table. */
  static async load(
    file: string,
    opts: { config?: Record<string, unknown>; servers: TestServer[]; limits?: Partial<PluginLimits>; log?: Logger; service?: string; tenant?: string },
  ): Promise<PluginTestKit> {
    const log = opts.log ?? pino({ level: 'silent' });
    const limits = { ...TEST_LIMITS, ...opts.limits };
    const prepared = await preparePlugin({ name: 'plugin', file, config: opts.config ?? {}, limits }, log, { expectKind: 'router' });
    const version = await PluginVersion.compile(prepared);
    const servers = opts.servers.map(toView);
    const router = await PluginRouter.create({ version, service: opts.service ?? 'test', servers, limits, log, ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}) });
    return new PluginTestKit(router, servers);
  }

  /** A new session, as if a client logged in; it is connected to the plugin's first choice. */
  startSession(info: TestSessionInfo = {}): TestSession {
    const id = this.nextId++;
    const handle = this.router.newSession(
      { id, user: info.user ?? 'app', database: info.database ?? null, clientAddress: info.client_address ?? '127.0.0.1', service: 'test' },
      this.servers,
    );
    const servers = handle.initialServers();
    const refusal = handle.refusal ?? null;
    const current = refusal || servers.length === 0 ? null : servers[0]!;
    if (current) handle.connected(current);
    return { id, servers, refusal, current, handle };
  }

  /** The session got a connection to `server` instead (its first choice was down, say). */
  connect(s: TestSession, server: string): void {
    s.handle.connected(server);
    s.current = server;
  }

  /**
   * Routes one statement (COM_QUERY by default). The kit does not classify: pass what the
   * host's classifier would have found (kind, flags, trx, hint) in `fields`.
   */
  route(s: TestSession, sql: string, command = 0x03, fields: Partial<Pick<Statement, 'kind' | 'flags' | 'trx' | 'hint' | 'hintServer'>> = {}): RouteDecision {
    const payload = Buffer.concat([Buffer.from([command]), Buffer.from(sql, 'utf8')]);
    return s.handle.route({ command, payload, kind: 0, flags: 0, trx: 0, digestLo: 0, digestHi: 0, hint: 0, hintServer: '', ...fields });
  }

  endSession(s: TestSession): void {
    s.handle.close();
  }

  /** Replaces the server table (names, roles, states, weights, lag) as a monitor would. */
  setServers(servers: TestServer[]): void {
    const byName = new Map(servers.map((s) => [s.name, s]));
    for (const s of this.servers) {
      const t = byName.get(s.name);
      if (t) Object.assign(s, toView(t));
    }
    this.router.serversChanged(this.servers);
  }

  /** Sessions per server (connected or connecting). */
  connections(): Record<string, number> {
    return this.router.connections();
  }

  metrics(): Record<string, number> {
    return this.router.metrics.snapshot();
  }

  close(): void {
    this.router.close();
  }
}

// ---- cases files --------------------------------------------------------------------------

/**
 * A cases file: configuration, server table, and steps run in order. Sessions are named by the
 * number given at their start.
 *
 * { "config": { "router_options": "slave" },
 *   "servers": [ { "name": "db1", "role": "primary" }, { "name": "db2", "role": "replica" } ],
 *   "steps": [
 *     { "start": 1, "user": "app", "expect": { "server": "db2" } },     // first choice
 *     { "session": 1, "sql": "SELECT 1", "expect": { "route": "keep" } },  // or a server name, or "error"
 *     { "servers": [ { "name": "db2", "role": "replica", "state": "down" } ] },
 *     { "start": 2, "expect": { "refused": true } },
 *     { "end": 1 },
 *     { "expect_connections": { "db2": 0 } } ] }
 */
export interface TestCases {
  config?: Record<string, unknown>;
  servers: TestServer[];
  steps: TestStep[];
}

export type TestStep =
  | ({ start: number; expect?: { server?: string; servers?: string[]; refused?: boolean | string } } & TestSessionInfo)
  | { connect: number; server: string }
  | { session: number; sql: string; command?: number; expect?: { route?: string; error?: string } }
  | { end: number }
  | { servers: TestServer[] }
  | { expect_connections: Record<string, number> };

export interface StepResult {
  step: number;
  what: string;
  ok: boolean;
  /** What went wrong (empty when ok). */
  detail: string;
}

export interface CasesReport {
  results: StepResult[];
  passed: number;
  failed: number;
  metrics: Record<string, number>;
}

const show = (v: unknown) => JSON.stringify(v);

function runStep(kit: PluginTestKit, sessions: Map<number, TestSession>, step: TestStep): { what: string; problems: string[] } {
  const problems: string[] = [];
  const session = (n: number): TestSession => {
    const s = sessions.get(n);
    if (!s) throw new Error(`session ${n} was not started (or has ended)`);
    return s;
  };
  if ('start' in step) {
    const s = kit.startSession(step);
    sessions.set(step.start, s);
    const e = step.expect ?? {};
    if (e.refused !== undefined && e.refused !== false) {
      if (!s.refusal) problems.push(`expected the session to be refused, the plugin chose ${show(s.servers)}`);
      else if (typeof e.refused === 'string' && !s.refusal.includes(e.refused)) problems.push(`refusal ${show(s.refusal)} does not contain ${show(e.refused)}`);
    } else if (s.refusal && (e.server || e.servers || e.refused === false)) {
      problems.push(`the plugin refused the session: ${s.refusal}`);
    }
    if (e.server !== undefined && s.servers[0] !== e.server) problems.push(`expected first choice ${show(e.server)}, got ${show(s.servers[0] ?? null)}`);
    if (e.servers !== undefined && show(s.servers) !== show(e.servers)) problems.push(`expected servers ${show(e.servers)}, got ${show(s.servers)}`);
    return { what: `start session ${step.start}`, problems };
  }
  if ('connect' in step) {
    kit.connect(session(step.connect), step.server);
    return { what: `session ${step.connect} connected to ${step.server}`, problems };
  }
  if ('sql' in step) {
    const s = session(step.session);
    const d = kit.route(s, step.sql, step.command);
    const want = step.expect?.route;
    if (want === 'keep' && !(d.kind === 'server' && d.server === s.current)) problems.push(`expected keep (${s.current}), got ${show(d)}`);
    else if (want === 'error' && d.kind !== 'error') problems.push(`expected an error, got ${show(d)}`);
    else if (want !== undefined && want !== 'keep' && want !== 'error' && !(d.kind === 'server' && d.server === want)) problems.push(`expected server ${show(want)}, got ${show(d)}`);
    if (step.expect?.error !== undefined && !(d.kind === 'error' && d.message.includes(step.expect.error))) problems.push(`expected an error containing ${show(step.expect.error)}, got ${show(d)}`);
    return { what: `session ${step.session}: ${step.sql.length > 40 ? `${step.sql.slice(0, 37)}...` : step.sql}`, problems };
  }
  if ('end' in step) {
    kit.endSession(session(step.end));
    sessions.delete(step.end);
    return { what: `end session ${step.end}`, problems };
  }
  if ('servers' in step) {
    kit.setServers(step.servers);
    return { what: `server table: ${step.servers.map((s) => `${s.name}(${s.role ?? 'unknown'},${s.state ?? 'up'})`).join(' ')}`, problems };
  }
  const got = kit.connections();
  for (const [name, n] of Object.entries(step.expect_connections)) {
    if (got[name] !== n) problems.push(`expected ${n} connections to ${name}, got ${got[name] ?? 'no such server'}`);
  }
  return { what: `connections ${show(step.expect_connections)}`, problems };
}

/** Runs a cases file's steps against the plugin at `file`. Steps after a failure still run. */
export async function runPluginCases(file: string, cases: TestCases, opts: { log?: Logger } = {}): Promise<CasesReport> {
  if (!Array.isArray(cases.servers) || !Array.isArray(cases.steps)) throw new Error('a cases file needs "servers" and "steps" lists');
  const kit = await PluginTestKit.load(file, { config: cases.config ?? {}, servers: cases.servers, ...(opts.log ? { log: opts.log } : {}) });
  const sessions = new Map<number, TestSession>();
  const results: StepResult[] = [];
  try {
    cases.steps.forEach((step, i) => {
      let what = `step ${i + 1}`;
      let problems: string[];
      try {
        ({ what, problems } = runStep(kit, sessions, step));
      } catch (err) {
        problems = [(err as Error).message];
      }
      results.push({ step: i + 1, what, ok: problems.length === 0, detail: problems.join('; ') });
    });
    const failed = results.filter((r) => !r.ok).length;
    return { results, passed: results.length - failed, failed, metrics: kit.metrics() };
  } finally {
    kit.close();
  }
}
