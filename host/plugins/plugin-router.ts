// The bridge between a session and a router plugin: implements the host's Router interface
// (host/session/router.ts) by calling the plugin's hooks synchronously through the exchange
// buffer. One PluginRouter per service per worker, with its own instance (so a plugin sees only
// its service's sessions and servers). It keeps what the ABI promises the plugin: the server
// table (re-sent when it changes), live connection counts, and on an instance replacement the
// replay of the table and of every live session.
import type { Logger } from 'pino';
import type { PluginLimits } from '../config/index.js';
import type { RouteDecision, Router, RouterSession, ServerView, SessionView, Statement } from '../session/router.js';
import { RouteFlag, TargetsAction, Target } from './abi/constants.js';
import { decodeRouteDecision, decodeSessionTargets } from './abi/decode.js';
import { encodeDatabaseTable, encodeServerTable, encodeSessionEnd, encodeSessionStart, encodeStatement } from './abi/encode.js';
import type { Exchange } from './abi/exchange.js';
import type { DatabaseRecord, RouteDecisionRecord, ServerRecord, StatementRecord } from './abi/records.js';
import type { PluginInstance } from './plugin-instance.js';
import { PluginMetrics } from './plugin-metrics.js';
import { countFailure, PluginSlot, TRAPPED } from './plugin-slot.js';
import { serverRecords, sessionRecord, tableChanged } from './binding-records.js';
import type { PluginVersion } from './plugin-version.js';

const COM_QUERY = 0x03;
const COM_STMT_PREPARE = 0x16;
const COM_INIT_DB = 0x02;

export interface PluginRouterOptions {
  version: PluginVersion;
  service: string;
  /** The service's servers, in configured order: indexes in the plugin's table are positions here. */
  servers: readonly ServerView[];
  limits: PluginLimits;
  log: Logger;
  /** Tenant the service belongs to ('' without tenants). */
  tenant?: string;
}

/** What the router keeps per live session. */
class PluginSession implements RouterSession {
  /** Server index the session is connected to; -1 none yet. */
  current = -1;
  /** Server index counted in `connections` for this session; -1 none. */
  assigned = -1;
  /** The answer to route() when the plugin keeps the session where it is (reused: no allocation). */
  stay: RouteDecision = NO_BACKEND;
  refusal: string | null = null;
  closed = false;

  constructor(
    readonly router: PluginRouter,
    readonly view: SessionView,
    readonly targets: readonly string[],
  ) {}

  initialServers(): readonly string[] {
    return this.targets;
  }

  route(stmt: Statement): RouteDecision {
    return this.router.route(this, stmt);
  }

  connected(server: string): void {
    this.router.connected(this, server);
  }

  opStarted(server: string): void {
    this.router.opChanged(server, 1);
  }

  opEnded(server: string, elapsedUs?: number): void {
    this.router.opChanged(server, -1, elapsedUs);
  }

  close(): void {
    this.router.closeSession(this);
  }
}

const NO_BACKEND: RouteDecision = { kind: 'error', message: 'no backend connection' };
const ALL: RouteDecision = { kind: 'all' };
const MERGE: RouteDecision = { kind: 'merge' };
const NO_BYTES = Buffer.alloc(0);

export class PluginRouter implements Router {
  readonly name: string;
  readonly metrics: PluginMetrics;
  private readonly slot: PluginSlot;
  private servers: readonly ServerView[];
  private readonly sessions = new Map<number, PluginSession>();
  /** Sessions per server index (connected or connecting), this service, this worker. */
  private counts: Uint32Array;
  /** Operations in progress per server index (0 until reply tracking reports them). */
  private ops: Uint32Array;
  /** Average response time per server index, µs (moving average of what sessions report; 0 unknown). */
  private times: Uint32Array;
  /** The table as last sent to the plugin. */
  private sent: ServerRecord[] = [];
  /** Server name → index in the table. */
  private indexOf: Map<string, number>;
  /** A decision object per server index, shared by all sessions (route() allocates nothing). */
  private toServer: RouteDecision[];
  private readonly tenant: string;
  private readonly log: Logger;
  private readonly failClosedDecision: RouteDecision;
  // Scratch records reused on every call (the hot path allocates nothing).
  private readonly stmt: StatementRecord = {
    sessionId: 0, currentServer: -1, command: 0, kind: 0, trx: 0, flags: 0, digestLo: 0, digestHi: 0, hint: 0, hintServer: '',
    source: NO_BYTES, sqlStart: 0, sqlEnd: 0,
  };
  private readonly decision: RouteDecisionRecord = { target: 0, serverIndex: 0, message: '', flags: 0 };
  /** Decisions "this server only" per server index (RouteFlag.ONLY), built with toServer. */
  private toServerOnly: RouteDecision[];
  /** The database table as last sent (1.2), replayed to a fresh instance. */
  private databases: DatabaseRecord[] | null = null;
  private readonly encodeStmt = (ex: Exchange): number => encodeStatement(ex, this.stmt, this.ops, this.ops.length, this.times);

  private constructor(opts: PluginRouterOptions) {
    this.name = opts.version.name;
    this.log = opts.log;
    this.tenant = opts.tenant ?? '';
    this.servers = opts.servers;
    this.counts = new Uint32Array(opts.servers.length);
    this.ops = new Uint32Array(opts.servers.length);
    this.times = new Uint32Array(opts.servers.length);
    this.toServer = opts.servers.map((x) => ({ kind: 'server', server: x.name }));
    this.indexOf = new Map(opts.servers.map((x, i) => [x.name, i]));
    this.toServerOnly = opts.servers.map((x) => ({ kind: 'server', server: x.name, only: true }));
    this.metrics = new PluginMetrics(this.name);
    this.slot = new PluginSlot(opts.version, opts.service, opts.log, this.metrics, opts.limits, this);
    this.failClosedDecision = { kind: 'error', message: `router plugin ${this.name} failed; statement refused (failure_policy: fail_closed)` };
  }

  /** Makes the router and its first instance. Throws if the plugin cannot serve. */
  static async create(opts: PluginRouterOptions): Promise<PluginRouter> {
    const r = new PluginRouter(opts);
    await r.slot.start();
    return r;
  }

  /** Whether the plugin reads the classification (its descriptor's `classify`, default true). */
  get wantsClassification(): boolean {
    return this.slot.version.descriptor.classify;
  }

  get quarantined(): boolean {
    return this.slot.quarantined;
  }

  get liveSessions(): number {
    return this.sessions.size;
  }

  /** Connection counts per server, by name (diagnostics and tests). */
  connections(): Record<string, number> {
    return Object.fromEntries(this.servers.map((s, i) => [s.name, this.counts[i]!]));
  }

  updateLimits(limits: PluginLimits): void {
    this.slot.updateLimits(limits);
  }

  // ---- server table -----------------------------------------------------------------------

  /** The service's servers changed (monitor): re-send the table if the plugin would see a difference. */
  serversChanged(servers: readonly ServerView[] = this.servers): void {
    if (servers !== this.servers) this.adopt(servers);
    if (tableChanged(servers, this.sent)) this.sendTable();
  }

  private adopt(servers: readonly ServerView[]): void {
    if (servers.length !== this.servers.length) {
      const counts = new Uint32Array(servers.length);
      counts.set(this.counts.subarray(0, Math.min(counts.length, this.counts.length)));
      this.counts = counts;
      this.ops = new Uint32Array(servers.length);
      this.times = new Uint32Array(servers.length);
    }
    this.servers = servers;
    this.toServer = servers.map((x) => ({ kind: 'server', server: x.name }));
    this.indexOf = new Map(servers.map((x, i) => [x.name, i]));
    this.toServerOnly = servers.map((x) => ({ kind: 'server', server: x.name, only: true }));
  }

  /** Whether the plugin subscribed to wsx_databases (the service then discovers databases). */
  get wantsDatabases(): boolean {
    return this.slot.subscribed('databases');
  }

  /** Database discovery found a different map: send it as a DatabaseTable (server indexes of the table). */
  databasesChanged(databases: ReadonlyMap<string, readonly string[]>): void {
    const table: DatabaseRecord[] = [];
    this.servers.forEach((s, i) => {
      const dbs = databases.get(s.name);
      if (dbs) table.push({ server: i, databases: dbs });
    });
    this.databases = table;
    const r = this.slot.invoke('databases', (ex) => encodeDatabaseTable(ex, table));
    if (r < 0 && r !== TRAPPED) this.failed('databases', r);
  }

  private sendTable(): void {
    const table = serverRecords(this.servers, this.counts);
    this.sent = table;
    const r = this.slot.invoke('servers', (ex) => encodeServerTable(ex, table));
    if (r < 0 && r !== TRAPPED) this.failed('servers', r);
  }

  /** SlotOwner: a fresh instance learns the table and every live session again. */
  replay(inst: PluginInstance): void {
    const table = serverRecords(this.servers, this.counts);
    this.sent = table;
    const servers = inst.hooks.servers;
    if (servers) servers(encodeServerTable(inst.ex, table));
    const dbs = inst.hooks.databases;
    if (dbs && this.databases) {
      inst.fuel?.refill();
      dbs(encodeDatabaseTable(inst.ex, this.databases));
    }
    const start = inst.hooks.session_start;
    if (!start) return;
    for (const s of this.sessions.values()) {
      inst.fuel?.refill();
      start(encodeSessionStart(inst.ex, sessionRecord(s.view, s.current, this.tenant), this.counts, this.counts.length));
    }
  }

  // ---- sessions -----------------------------------------------------------------------------

  /** Up (or unmonitored) servers first, then the rest, in configured order. */
  private defaultOrder(): string[] {
    return [...this.servers.filter((s) => s.state !== 'down'), ...this.servers.filter((s) => s.state === 'down')].map((s) => s.name);
  }

  private failed(hook: string, r: number): void {
    countFailure(this.metrics, this.log, this.name, hook, r);
  }

  /** Decodes a response; a malformed one counts as a failed call (null: the failure policy applies). */
  private decode<T>(hook: string, fn: () => T): T | null {
    try {
      return fn();
    } catch (err) {
      this.metrics.errors++;
      this.metrics.policyDecisions++;
      this.log.warn({ plugin: this.name, hook, err: (err as Error).message }, 'plugin answered with a malformed record; failure policy applies');
      return null;
    }
  }

  newSession(view: SessionView, servers: readonly ServerView[]): RouterSession {
    this.serversChanged(servers);
    let targets: string[];
    let refusal: string | null = null;
    const r = this.slot.invoke('session_start', (ex) =>
      encodeSessionStart(ex, sessionRecord(view, -1, this.tenant), this.counts, this.counts.length));
    if (r === 0) {
      targets = this.defaultOrder();
    } else if (r > 0) {
      const t = this.decode('session_start', () => decodeSessionTargets(this.slot.exchange, r));
      if (t === null) {
        targets = this.slot.failOpen ? this.defaultOrder() : [];
        if (!this.slot.failOpen) refusal = `router plugin ${this.name} failed; session refused (failure_policy: fail_closed)`;
      } else if (t.action === TargetsAction.REFUSE) {
        targets = [];
        refusal = t.message || `router plugin ${this.name} refused the session`;
      } else if (t.action === TargetsAction.LIST) {
        targets = [...new Set(t.servers.filter((i) => i < this.servers.length).map((i) => this.servers[i]!.name))];
        if (targets.length === 0) refusal = `router plugin ${this.name} chose no valid server`;
      } else {
        targets = this.defaultOrder();
      }
    } else {
      this.failed('session_start', r);
      if (this.slot.failOpen) {
        targets = this.defaultOrder();
      } else {
        targets = [];
        refusal = `router plugin ${this.name} failed; session refused (failure_policy: fail_closed)`;
      }
    }
    const s = new PluginSession(this, view, targets);
    s.refusal = refusal;
    if (targets.length > 0) {
      s.assigned = this.servers.findIndex((x) => x.name === targets[0]);
      if (s.assigned >= 0) this.counts[s.assigned]!++;
    }
    this.sessions.set(view.id, s);
    if (refusal) this.log.info({ plugin: this.name, session: view.id, user: view.user, reason: refusal }, 'router refused the session');
    return s;
  }

  connected(s: PluginSession, server: string): void {
    const i = this.servers.findIndex((x) => x.name === server);
    if (i !== s.assigned) {
      if (s.assigned >= 0 && this.counts[s.assigned]! > 0) this.counts[s.assigned]!--;
      if (i >= 0) this.counts[i]!++;
      s.assigned = i;
    }
    s.current = i;
    s.stay = this.toServer[i] ?? { kind: 'server', server };
  }

  route(s: PluginSession, stmt: Statement): RouteDecision {
    const st = this.stmt;
    st.sessionId = s.view.id;
    st.currentServer = s.current;
    st.command = stmt.command;
    st.kind = stmt.kind;
    st.flags = stmt.flags;
    st.trx = stmt.trx;
    st.digestLo = stmt.digestLo;
    st.digestHi = stmt.digestHi;
    st.hint = stmt.hint;
    st.hintServer = stmt.hintServer;
    st.source = stmt.payload;
    // (1.2) COM_INIT_DB's database name goes in `sql` too: a router that shards by database needs it.
    const text = stmt.command === COM_QUERY || stmt.command === COM_STMT_PREPARE || stmt.command === COM_INIT_DB;
    st.sqlStart = text ? 1 : 0;
    st.sqlEnd = text ? stmt.payload.length : 0;
    const r = this.slot.invoke('route', this.encodeStmt);
    st.source = NO_BYTES; // do not keep the statement's payload alive until the next call
    if (r === 0) return s.stay;
    if (r < 0) {
      this.failed('route', r);
      return this.slot.failOpen ? s.stay : this.failClosedDecision;
    }
    const d = this.decode('route', () => decodeRouteDecision(this.slot.exchange, r, this.decision));
    if (d === null) return this.slot.failOpen ? s.stay : this.failClosedDecision;
    switch (d.target) {
      case Target.SERVER: {
        const target = this.toServer[d.serverIndex];
        if (!target) return { kind: 'error', message: `router plugin ${this.name} chose server index ${d.serverIndex}, which does not exist` };
        return (d.flags ?? 0) & RouteFlag.ONLY ? this.toServerOnly[d.serverIndex]! : target;
      }
      case Target.ALL:
        return ALL;
      case Target.MERGE:
        return MERGE;
      case Target.ERROR:
        return { kind: 'error', message: d.message || `router plugin ${this.name} refused the statement` };
      default:
        return s.stay;
    }
  }

  /** Operations in progress per server (Statement.server_ops): the session reports each start and end. */
  opChanged(server: string, delta: number, elapsedUs?: number): void {
    // Twice per statement: a Map lookup, not a scan with a closure.
    const i = this.indexOf.get(server);
    if (i === undefined) return;
    const v = this.ops[i]! + delta;
    this.ops[i] = v < 0 ? 0 : v;
    if (elapsedUs !== undefined && elapsedUs > 0) {
      // Exponential moving average (1/8 weight to the newest), as MaxScale's adaptive routing does.
      const t = this.times[i]!;
      this.times[i] = t === 0 ? elapsedUs : t + (elapsedUs - t) / 8;
    }
  }

  closeSession(s: PluginSession): void {
    if (s.closed) return;
    s.closed = true;
    if (s.assigned >= 0 && this.counts[s.assigned]! > 0) this.counts[s.assigned]!--;
    this.sessions.delete(s.view.id);
    const r = this.slot.invoke('session_end', (ex) => encodeSessionEnd(ex, s.view.id));
    if (r < 0 && r !== TRAPPED) this.failed('session_end', r);
  }

  close(): void {
    this.slot.close();
  }
}
