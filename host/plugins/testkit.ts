// The offline test kit: runs a router plugin against sessions, statements and a fake server
// table, with no database and no proxy, through exactly the code the proxy uses (sandbox
// instrumentation, validation, the PluginRouter bridge, host/classify for each statement;
// testkit-statements.ts). Filters: testkit-filter.ts. Two ways in:
//
//   - programmatic, e.g. from a plugin author's vitest:
//       const kit = await PluginTestKit.load('build/my-router.wasm', { config: {...}, servers: [...] });
//       const s = kit.startSession({ user: 'app' });        // s.servers: the plugin's choice
//       expect(kit.route(s, 'SELECT 1')).toEqual({ kind: 'server', server: 'db2' });
//   - `wasmscale plugin test <file.wasm> <cases.json>` (testkit-cases.ts has the format).
import { pino, type Logger } from 'pino';
import type { PluginLimits } from '../config/index.js';
import type { RouteDecision, RouterSession, ServerRole, ServerState, ServerView, Statement } from '../session/router.js';
import { preparePlugin } from './plugin-loader.js';
import { PluginRouter } from './plugin-router.js';
import { PluginVersion } from './plugin-version.js';
import { StatementState, type StatementInput, type StatementOverrides } from './testkit-statements.js';

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
  /** Transaction state and prepared statements, as the kit derives them (testkit-statements.ts). */
  readonly state: StatementState;
}

export interface TestKitOptions {
  config?: Record<string, unknown>;
  servers: TestServer[];
  limits?: Partial<PluginLimits>;
  log?: Logger;
  service?: string;
  tenant?: string;
  /** Classify statements and derive the transaction state as the host does (default true); false: kind, flags, trx 0 unless given. */
  classify?: boolean;
}

export const TEST_LIMITS: PluginLimits = { memory: 16 * 1024 ** 2, cpu_budget: 50, failure_policy: 'fail_open', max_traps: 5, trap_window: 60_000 };

export type MutableServer = { -readonly [K in keyof ServerView]: ServerView[K] };

export function toView(s: TestServer): MutableServer {
  return { name: s.name, role: s.role ?? 'unknown', state: s.state ?? 'up', weight: s.weight ?? 1, lagMs: s.lag_ms ?? -1 };
}

export class PluginTestKit {
  private nextId = 1;

  private constructor(
    readonly router: PluginRouter,
    private readonly servers: MutableServer[],
    private readonly classifies: boolean,
  ) {}

  /** Loads `file` like the proxy would (sandbox, validation, configure) with this server table. */
  static async load(
    file: string,
    opts: TestKitOptions,
  ): Promise<PluginTestKit> {
    const log = opts.log ?? pino({ level: 'silent' });
    const limits = { ...TEST_LIMITS, ...opts.limits };
    const prepared = await preparePlugin({ name: 'plugin', file, config: opts.config ?? {}, limits }, log, { expectKind: 'router' });
    const version = await PluginVersion.compile(prepared);
    const servers = opts.servers.map(toView);
    const router = await PluginRouter.create({ version, service: opts.service ?? 'test', servers, limits, log, ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}) });
    return new PluginTestKit(router, servers, opts.classify ?? true);
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
    return { id, servers, refusal, current, handle, state: new StatementState(this.classifies) };
  }

  /** The session got a connection to `server` instead (its first choice was down, say). */
  connect(s: TestSession, server: string): void {
    s.handle.connected(server);
    s.current = server;
  }

  /**
   * Routes one statement (COM_QUERY by default), classified as the host would (kind, flags,
   * digest, hint; trx from the session's earlier statements). `fields` overrides any of them.
   */
  route(s: TestSession, sql: string, command = 0x03, fields: StatementOverrides = {}): RouteDecision {
    return this.routeStatement(s, { ...fields, sql, command }).decision;
  }

  /** Routes a statement given in full (COM_STMT_EXECUTE with `prepared` or `stmtId`, say); also returns what the plugin saw. */
  routeStatement(s: TestSession, input: StatementInput): { statement: Statement; decision: RouteDecision } {
    const statement = s.state.build(input);
    const decision = s.handle.route(statement);
    if (decision.kind !== 'error') s.state.ran(statement);
    return { statement, decision };
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

// The cases-file runner (runPluginCases) lives in testkit-cases.ts; its types are re-exported here.
export type { CasesReport, StepResult, TestCases, TestStep } from './testkit-cases.js';
