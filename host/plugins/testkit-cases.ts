// Cases files for `wasmscale plugin test <plugin.wasm|dir> <cases.json>`: configuration, a server
// table and steps run in order, against a router (testkit.ts) or a filter (testkit-filter.ts);
// the plugin's descriptor says which (or "kind"). Sessions are named by the number given at
// their start. Every statement is classified as the proxy does (kind, flags, digest, hint, and the
// transaction state derived from the session's earlier statements); a step may override any of it.
//
// Router:
// { "config": { "router_options": "slave" },
//   "servers": [ { "name": "db1", "role": "primary" }, { "name": "db2", "role": "replica" } ],
//   "steps": [
//     { "start": 1, "user": "app", "expect": { "server": "db2" } },     // first choice
//     { "session": 1, "sql": "SELECT 1", "expect": { "route": "keep" } },  // a server name, ["db2","db3"] (any of),
//                                                                          // "keep", "all", "merge" or "error"
//     { "session": 1, "sql": "SELECT 1", "expect": { "role": "replica" } },  // any server with that role
//     { "session": 1, "command": 23, "prepared": "SELECT 1", "expect": { "route": "db2" } },  // COM_STMT_EXECUTE
//     { "session": 1, "sql": "SELECT 1", "trx": ["tracked", "active"], "hint": "master", "expect": { "route": "db1" } },
//     { "servers": [ { "name": "db2", "role": "replica", "state": "down" } ] },
//     { "start": 2, "expect": { "refused": true } },
//     { "end": 1 },
//     { "expect_connections": { "db2": 0 } } ] }
//
// Filter ("servers" optional, default one primary db1; "match", "exclude", "options" as in plugins.<name>):
// { "config": { "deny": ["drop table"] },
//   "steps": [
//     { "start": 1, "user": "app" },
//     { "session": 1, "sql": "DROP TABLE t", "expect": { "action": "block", "code": 1141, "sqlstate": "42000", "message": "denied" } },
//     { "session": 1, "sql": "SELECT * FROM t_old", "expect": { "action": "rewrite", "sql": "SELECT * FROM t_new" } },
//     { "session": 1, "sql": "SELECT 1", "expect": { "action": "continue" },
//       "result": { "columns": ["a"], "rows": [["1"]] }, "reply": { "ok": true, "rows": 1 } },   // on_result, then on_reply
//     { "expect_metrics": { "blocked": 1 } } ] }
import type { Logger } from 'pino';
import { kindName } from '../classify/index.js';
import type { RouteDecision } from '../session/router.js';
import { PluginTestKit, type TestServer, type TestSession, type TestSessionInfo } from './testkit.js';
import { FilterTestKit, type FilterOutcome, type FilterTestSession, type TestReply, type TestResult } from './testkit-filter.js';
import type { StatementInput, StatementOverrides } from './testkit-statements.js';

export interface TestCases {
  /** Default: the plugin's descriptor. */
  kind?: 'router' | 'filter';
  config?: Record<string, unknown>;
  /** Required for routers. */
  servers?: TestServer[];
  /** false: no classification, kind/flags/trx 0 unless a step gives them (the kit before ABI 1.2). */
  classify?: boolean;
  match?: string;
  exclude?: string;
  options?: 'ignorecase' | 'case';
  steps: TestStep[];
}

/** A statement step's own fields (the SQL, the command, and overrides of the classification). */
export interface StatementFields extends Omit<StatementOverrides, 'hintServer'> {
  session: number;
  sql?: string;
  command?: number;
  prepared?: string;
  stmt_id?: number;
  hint_server?: string;
}

export interface RouteExpect {
  route?: string | string[];
  role?: string;
  error?: string;
  /** Filters. */
  action?: FilterOutcome['action'];
  sql?: string;
  code?: number;
  sqlstate?: string;
  message?: string;
}

export type TestStep =
  | ({ start: number; server?: string; expect?: { server?: string; servers?: string[]; refused?: boolean | string } } & TestSessionInfo)
  | { connect: number; server: string }
  | (StatementFields & { expect?: RouteExpect; reply?: TestReply; result?: TestResult })
  | { end: number }
  | { servers: TestServer[] }
  | { expect_connections: Record<string, number> }
  | { expect_metrics: Record<string, number> };

export interface StepResult {
  step: number;
  what: string;
  ok: boolean;
  /** What went wrong (empty when ok); one line per problem. */
  detail: string;
}

export interface CasesReport {
  kind: 'router' | 'filter';
  results: StepResult[];
  passed: number;
  failed: number;
  metrics: Record<string, number>;
}

const show = (v: unknown): string => JSON.stringify(v);
const short = (sql: string): string => (sql.length > 40 ? `${sql.slice(0, 37)}...` : sql);

function statementInput(step: StatementFields): StatementInput {
  const input: StatementInput = {};
  if (step.sql !== undefined) input.sql = step.sql;
  if (step.command !== undefined) input.command = step.command;
  if (step.prepared !== undefined) input.prepared = step.prepared;
  if (step.stmt_id !== undefined) input.stmtId = step.stmt_id;
  if (step.kind !== undefined) input.kind = step.kind;
  if (step.flags !== undefined) input.flags = step.flags;
  if (step.trx !== undefined) input.trx = step.trx;
  if (step.hint !== undefined) input.hint = step.hint;
  if (step.hint_server !== undefined) input.hintServer = step.hint_server;
  return input;
}

function statementLabel(step: StatementFields, kind: number): string {
  const text = step.sql ?? (step.prepared !== undefined ? `execute ${step.prepared}`
    : step.command === 0x17 || step.command === 0xfa ? `execute statement ${step.stmt_id ?? '(last prepared)'}` : `command ${step.command ?? 3}`);
  return `session ${step.session}: ${short(text)} [${kindName(kind)}]`;
}

const decisionText = (d: RouteDecision): string =>
  d.kind === 'server' ? `${d.server}${d.only ? ' (only)' : ''}` : d.kind === 'error' ? `error: ${d.message}` : d.kind;

const outcomeText = (o: FilterOutcome): string =>
  o.action === 'continue' ? 'continue' : o.action === 'rewrite' ? `rewrite: ${short(o.sql)}` : `block ${o.code} ${o.sqlstate}: ${o.message}`;

/** A readable diff of an expectation and what happened: only the keys the case gave. */
function diff(expected: Record<string, unknown>, got: Record<string, unknown>): string {
  const shown: Record<string, unknown> = {};
  for (const k of Object.keys(expected)) shown[k] = got[k];
  return `expected ${show(expected)}\n     got ${show(shown)}`;
}

function checkMetrics(want: Record<string, number>, got: Record<string, number>, problems: string[]): void {
  for (const [name, n] of Object.entries(want)) {
    const v = got[name] ?? got[`plugin_${name}`] ?? 0;
    if (v !== n) problems.push(`expected metric ${name} = ${n}, got ${v}`);
  }
}

type Sessions<S> = Map<number, S>;

function sessionOf<S>(sessions: Sessions<S>, n: number): S {
  const s = sessions.get(n);
  if (!s) throw new Error(`session ${n} was not started (or has ended)`);
  return s;
}

function routeProblems(s: TestSession, d: RouteDecision, e: RouteExpect, servers: TestServer[]): string[] {
  const problems: string[] = [];
  const want = e.route;
  if (Array.isArray(want)) {
    if (!(d.kind === 'server' && want.includes(d.server))) problems.push(`expected one of ${show(want)}, got ${show(d)}`);
  } else if (want === 'keep') {
    if (!(d.kind === 'server' && d.server === s.current)) problems.push(`expected keep (${s.current}), got ${show(d)}`);
  } else if (want === 'error' || want === 'all' || want === 'merge') {
    if (d.kind !== want && !(d.kind === 'server' && d.server === want)) problems.push(`expected ${want === 'error' ? 'an error' : `"${want}"`}, got ${show(d)}`);
  } else if (want !== undefined && !(d.kind === 'server' && d.server === want)) {
    problems.push(`expected server ${show(want)}, got ${show(d)}`);
  }
  if (e.role !== undefined) {
    const role = d.kind === 'server' ? (servers.find((x) => x.name === d.server)?.role ?? 'unknown') : null;
    if (role !== e.role) problems.push(`expected a server with role ${show(e.role)}, got ${show(d)}${role ? ` (role ${role})` : ''}`);
  }
  if (e.error !== undefined && !(d.kind === 'error' && d.message.includes(e.error))) problems.push(`expected an error containing ${show(e.error)}, got ${show(d)}`);
  return problems;
}

function runRouterStep(kit: PluginTestKit, sessions: Sessions<TestSession>, table: TestServer[], step: TestStep): { what: string; problems: string[] } {
  const problems: string[] = [];
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
    kit.connect(sessionOf(sessions, step.connect), step.server);
    return { what: `session ${step.connect} connected to ${step.server}`, problems };
  }
  if ('session' in step) {
    const s = sessionOf(sessions, step.session);
    const { statement, decision } = kit.routeStatement(s, statementInput(step));
    problems.push(...misplaced(step.expect ?? {}, 'router'), ...routeProblems(s, decision, step.expect ?? {}, table));
    return { what: `${statementLabel(step, statement.kind)} → ${decisionText(decision)}`, problems };
  }
  if ('end' in step) {
    kit.endSession(sessionOf(sessions, step.end));
    sessions.delete(step.end);
    return { what: `end session ${step.end}`, problems };
  }
  if ('servers' in step) {
    kit.setServers(step.servers);
    for (const t of step.servers) {
      const i = table.findIndex((x) => x.name === t.name);
      if (i >= 0) table[i] = t;
    }
    return { what: `server table: ${step.servers.map((s) => `${s.name}(${s.role ?? 'unknown'},${s.state ?? 'up'})`).join(' ')}`, problems };
  }
  if ('expect_metrics' in step) {
    checkMetrics(step.expect_metrics, kit.metrics(), problems);
    return { what: `metrics ${show(step.expect_metrics)}`, problems };
  }
  const got = kit.connections();
  for (const [name, n] of Object.entries(step.expect_connections)) {
    if (got[name] !== n) problems.push(`expected ${n} connections to ${name}, got ${got[name] ?? 'no such server'}`);
  }
  return { what: `connections ${show(step.expect_connections)}`, problems };
}

/** Expectations of the other kind of plugin are a mistake in the cases file, not a pass. */
function misplaced(e: RouteExpect, kind: 'router' | 'filter'): string[] {
  const keys = kind === 'router' ? (['action', 'sql', 'code', 'sqlstate', 'message'] as const) : (['route', 'role', 'error'] as const);
  const found = keys.filter((k) => e[k] !== undefined);
  return found.length ? [`expect ${found.map((k) => `"${k}"`).join(', ')} does not apply to a ${kind}`] : [];
}

function filterProblems(o: FilterOutcome, e: RouteExpect): string[] {
  const misplacedKeys = misplaced(e, 'filter');
  if (misplacedKeys.length) return misplacedKeys;
  const want: Record<string, unknown> = {};
  for (const k of ['action', 'sql', 'code', 'sqlstate', 'message'] as const) if (e[k] !== undefined) want[k] = e[k];
  if (Object.keys(want).length === 0) return [];
  const got = o as unknown as Record<string, unknown>;
  const same = Object.entries(want).every(([k, v]) => (k === 'message' ? typeof got[k] === 'string' && (got[k] as string).includes(v as string) : got[k] === v));
  return same ? [] : [diff(want, got)];
}

function runFilterStep(kit: FilterTestKit, sessions: Sessions<FilterTestSession>, step: TestStep): { what: string; problems: string[] } {
  const problems: string[] = [];
  if ('start' in step) {
    sessions.set(step.start, kit.startSession(step));
    return { what: `start session ${step.start}`, problems };
  }
  if ('session' in step) {
    const s = sessionOf(sessions, step.session);
    const failed = step.reply !== undefined && (step.reply.ok === false || (step.reply.error_code ?? 0) !== 0);
    let what = `session ${step.session}:`;
    let outcome: FilterOutcome = { action: 'continue' };
    if (step.sql !== undefined || step.prepared !== undefined || step.command !== undefined) {
      const r = kit.runStatement(s, statementInput(step), { failed });
      outcome = r.outcome;
      what = `${statementLabel(step, r.statement.kind)} → ${outcomeText(outcome)}`;
      problems.push(...filterProblems(outcome, step.expect ?? {}));
    }
    // A blocked statement gets no server reply.
    if (outcome.action !== 'block') {
      if (step.result) kit.result(s, step.result);
      if (step.reply) kit.reply(s, step.reply);
      const seen = [step.result && (kit.wantsResults ? 'on_result' : 'no on_result'), step.reply && (kit.wantsReplies ? 'on_reply' : 'no on_reply')].filter(Boolean);
      if (seen.length) what += ` (${seen.join(', ')})`;
    }
    return { what, problems };
  }
  if ('end' in step) {
    kit.endSession(sessionOf(sessions, step.end));
    sessions.delete(step.end);
    return { what: `end session ${step.end}`, problems };
  }
  if ('servers' in step) {
    kit.setServers(step.servers);
    return { what: `server table: ${step.servers.map((s) => s.name).join(' ')}`, problems };
  }
  if ('expect_metrics' in step) {
    checkMetrics(step.expect_metrics, kit.metrics(), problems);
    return { what: `metrics ${show(step.expect_metrics)}`, problems };
  }
  throw new Error(`a filter test has no such step: ${show(step)}`);
}

function runAll(steps: TestStep[], run: (step: TestStep) => { what: string; problems: string[] }): StepResult[] {
  return steps.map((step, i) => {
    let what = `step ${i + 1}`;
    let problems: string[];
    try {
      ({ what, problems } = run(step));
    } catch (err) {
      problems = [(err as Error).message];
    }
    return { step: i + 1, what, ok: problems.length === 0, detail: problems.join('\n') };
  });
}

async function pluginKind(file: string): Promise<'router' | 'filter'> {
  const { inspectPlugin } = await import('./inspect.js');
  return (await inspectPlugin(file)).descriptor.kind;
}

/** Runs a cases file's steps against the plugin at `file`. Steps after a failure still run. */
export async function runPluginCases(file: string, cases: TestCases, opts: { log?: Logger } = {}): Promise<CasesReport> {
  if (!cases || !Array.isArray(cases.steps)) throw new Error('a cases file needs a "steps" list');
  const kind = cases.kind ?? (await pluginKind(file));
  const common = { config: cases.config ?? {}, ...(opts.log ? { log: opts.log } : {}), ...(cases.classify === false ? { classify: false } : {}) };
  if (kind === 'router') {
    if (!Array.isArray(cases.servers)) throw new Error('a router cases file needs "servers" and "steps" lists');
    const table = cases.servers.map((s) => ({ ...s }));
    const kit = await PluginTestKit.load(file, { ...common, servers: cases.servers });
    try {
      const sessions: Sessions<TestSession> = new Map();
      return report(kind, runAll(cases.steps, (step) => runRouterStep(kit, sessions, table, step)), kit.metrics());
    } finally {
      kit.close();
    }
  }
  const kit = await FilterTestKit.load(file, {
    ...common,
    ...(cases.servers ? { servers: cases.servers } : {}),
    ...(cases.match !== undefined ? { match: cases.match } : {}),
    ...(cases.exclude !== undefined ? { exclude: cases.exclude } : {}),
    ...(cases.options !== undefined ? { options: cases.options } : {}),
  });
  try {
    const sessions: Sessions<FilterTestSession> = new Map();
    return report(kind, runAll(cases.steps, (step) => runFilterStep(kit, sessions, step)), kit.metrics());
  } finally {
    kit.close();
  }
}

function report(kind: 'router' | 'filter', results: StepResult[], metrics: Record<string, number>): CasesReport {
  const failed = results.filter((r) => !r.ok).length;
  return { kind, results, passed: results.length - failed, failed, metrics };
}
