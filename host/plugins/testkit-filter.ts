// The offline test kit for FILTER plugins: sessions, statements (classified as the host does,
// testkit-statements.ts), replies and result sets, with no database, through the proxy's own
// PluginFilter bridge (and its match/exclude pre-filter):
//
//   const kit = await FilterTestKit.load('build/my-filter.wasm', { config: { deny: ['drop table'] } });
//   const s = kit.startSession({ user: 'app' });
//   expect(kit.statement(s, 'DROP TABLE t')).toMatchObject({ action: 'block', code: 1141 });
//   kit.reply(s, { ok: true, affected_rows: 1 });
import { pino, type Logger } from 'pino';
import type { PluginLimits } from '../config/index.js';
import { ColumnType, type ResultColumn, type ResultRows } from '../protocol/result-set.js';
import { FilterAction, type FilterSession } from '../session/filter.js';
import type { Statement } from '../session/router.js';
import { PluginFilter } from './plugin-filter.js';
import { preparePlugin } from './plugin-loader.js';
import { PluginVersion } from './plugin-version.js';
import { StatementMatcher } from './statement-matcher.js';
import { TEST_LIMITS, toView, type MutableServer, type TestServer, type TestSessionInfo } from './testkit.js';
import { StatementState, type StatementInput, type StatementOverrides } from './testkit-statements.js';

/** What a filter did with a statement. */
export type FilterOutcome =
  | { action: 'continue' }
  | { action: 'rewrite'; sql: string }
  | { action: 'block'; code: number; sqlstate: string; message: string };

/** A reply as a test gives it (defaults: ok, error 0, the session's server, 0 affected, 0 rows). */
export interface TestReply {
  ok?: boolean;
  error_code?: number;
  affected_rows?: number;
  rows?: number;
  server?: string;
}

/** A column: a name (type VAR_STRING) or its fields. */
export type TestColumn = string | { name: string; type?: number | string; table?: string; schema?: string; flags?: number; decimals?: number };

/** A result set: columns and rows of text values (null: SQL NULL). */
export interface TestResult {
  columns: TestColumn[];
  rows?: (string | number | null)[][];
  server?: string;
  binary?: boolean;
  truncated?: boolean;
}

export interface FilterTestSession {
  id: number;
  /** The server replies come from unless a reply names another. */
  server: string;
  readonly handle: FilterSession;
  readonly state: StatementState;
}

export interface FilterKitOptions {
  config?: Record<string, unknown>;
  /** The server table the plugin is told (default one primary, db1). */
  servers?: TestServer[];
  /** plugins.<name>.match / exclude / options: the host's pre-filter. */
  match?: string;
  exclude?: string;
  options?: 'ignorecase' | 'case';
  limits?: Partial<PluginLimits>;
  log?: Logger;
  service?: string;
  tenant?: string;
  /** Classify statements and derive the transaction state (default true). */
  classify?: boolean;
}

function columnOf(c: TestColumn): ResultColumn {
  if (typeof c === 'string') return { schema: '', table: '', name: c, type: ColumnType.VAR_STRING, flags: 0, decimals: 0 };
  let type: number = ColumnType.VAR_STRING;
  if (typeof c.type === 'number') type = c.type;
  else if (c.type !== undefined) {
    const t = (ColumnType as Record<string, number>)[c.type.toUpperCase()];
    if (t === undefined) throw new Error(`unknown column type ${JSON.stringify(c.type)} (one of ${Object.keys(ColumnType).join(', ')})`);
    type = t;
  }
  return { schema: c.schema ?? '', table: c.table ?? '', name: c.name, type, flags: c.flags ?? 0, decimals: c.decimals ?? 0 };
}

export class FilterTestKit {
  private nextId = 1;

  private constructor(
    readonly filter: PluginFilter,
    private readonly servers: MutableServer[],
    private readonly classifies: boolean,
  ) {}

  /** Loads `file` like the proxy would (sandbox, validation, configure) as a filter. */
  static async load(file: string, opts: FilterKitOptions = {}): Promise<FilterTestKit> {
    const log = opts.log ?? pino({ level: 'silent' });
    const limits = { ...TEST_LIMITS, ...opts.limits };
    const prepared = await preparePlugin({ name: 'plugin', file, config: opts.config ?? {}, limits }, log, { expectKind: 'filter' });
    const version = await PluginVersion.compile(prepared);
    const servers = (opts.servers ?? [{ name: 'db1', role: 'primary' }]).map(toView);
    const filter = await PluginFilter.create({
      version, service: opts.service ?? 'test', servers, limits, log,
      matcher: StatementMatcher.from(opts.match, opts.exclude, opts.options !== 'case'),
      ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
    });
    return new FilterTestKit(filter, servers, opts.classify ?? true);
  }

  startSession(info: TestSessionInfo & { server?: string } = {}): FilterTestSession {
    const id = this.nextId++;
    const handle = this.filter.newSession({ id, user: info.user ?? 'app', database: info.database ?? null, clientAddress: info.client_address ?? '127.0.0.1', service: 'test' });
    return { id, server: info.server ?? this.servers[0]?.name ?? '', handle, state: new StatementState(this.classifies) };
  }

  /** Changes the servers named (roles, states, weights, lag) as a monitor would; the plugin hears of it. */
  setServers(servers: TestServer[]): void {
    const byName = new Map(servers.map((s) => [s.name, s]));
    for (const s of this.servers) {
      const t = byName.get(s.name);
      if (t) Object.assign(s, toView(t));
    }
    this.filter.serversChanged(this.servers.map((s) => ({ ...s })));
  }

  /** on_statement for one statement (COM_QUERY by default), classified as the host would. */
  statement(s: FilterTestSession, sql: string, command = 0x03, fields: StatementOverrides = {}): FilterOutcome {
    return this.runStatement(s, { ...fields, sql, command }).outcome;
  }

  /** The same for a statement given in full; also returns what the plugin saw. */
  runStatement(s: FilterTestSession, input: StatementInput, opts: { failed?: boolean } = {}): { statement: Statement; outcome: FilterOutcome } {
    const statement = s.state.build(input);
    const v = s.handle.statement(statement);
    let outcome: FilterOutcome = { action: 'continue' };
    if (v?.action === FilterAction.Rewrite) outcome = { action: 'rewrite', sql: v.text };
    else if (v?.action === FilterAction.Block) outcome = { action: 'block', code: v.errorCode, sqlstate: v.sqlState, message: v.text };
    // A blocked statement never reaches a server; a failed one changes no transaction state.
    if (outcome.action !== 'block' && !opts.failed) s.state.ran(statement, outcome.action === 'rewrite' ? outcome.sql : undefined);
    return { statement, outcome };
  }

  /** Whether the plugin subscribed to on_reply / on_result (the host calls them only then). */
  get wantsReplies(): boolean {
    return this.filter.wantsReplies;
  }

  get wantsResults(): boolean {
    return this.filter.wantsResults;
  }

  /** on_reply (if subscribed): the reply to the session's last statement. */
  reply(s: FilterTestSession, r: TestReply = {}): void {
    if (!this.wantsReplies) return;
    const ok = r.ok ?? (r.error_code === undefined || r.error_code === 0);
    s.handle.reply({ ok, errorCode: r.error_code ?? 0, server: r.server ?? s.server, affectedRows: r.affected_rows ?? 0, rows: r.rows ?? 0 });
  }

  /** on_result (if subscribed): a result set the client got. */
  result(s: FilterTestSession, r: TestResult): void {
    if (!this.wantsResults) return;
    const rows: ResultRows = {
      columns: r.columns.map(columnOf),
      rows: (r.rows ?? []).map((row) => row.map((v) => (v === null ? null : Buffer.from(String(v), 'utf8')))),
    };
    s.handle.result(rows, { server: r.server ?? s.server, binary: r.binary ?? false, truncated: r.truncated ?? false });
  }

  endSession(s: FilterTestSession): void {
    s.handle.close();
  }

  metrics(): Record<string, number> {
    return this.filter.metrics.snapshot();
  }

  close(): void {
    this.filter.close();
  }
}
