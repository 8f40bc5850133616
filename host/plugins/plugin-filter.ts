// The bridge between a session and a filter plugin: implements the host's Filter interface
// (host/session/filter.ts) by calling wsx_on_statement / wsx_on_reply synchronously through the
// exchange buffer. One PluginFilter per filter per service per worker, with its own slot (so a
// plugin sees only its service's sessions). Like PluginRouter it keeps what the ABI promises
// the plugin: the server table, and on an instance replacement (trap, hot swap) the replay of
// the table and of every live session.
import type { Logger } from 'pino';
import type { PluginLimits } from '../config/index.js';
import { FilterAction, type Filter, type FilterSession, type FilterVerdict, type ReplyInfo } from '../session/filter.js';
import type { ServerView, SessionView, Statement } from '../session/router.js';
import { FilterAction as AbiAction } from './abi/constants.js';
import { decodeStatementAction } from './abi/decode.js';
import { encodeResultSet } from './abi/encode-result.js';
import type { ResultRows } from '../protocol/result-set.js';
import { encodeReply, encodeServerTable, encodeSessionEnd, encodeSessionStart, encodeStatement } from './abi/encode.js';
import type { Exchange } from './abi/exchange.js';
import type { ReplyRecord, ServerRecord, StatementRecord } from './abi/records.js';
import { serverRecords, sessionRecord, tableChanged } from './binding-records.js';
import type { PluginInstance } from './plugin-instance.js';
import { PluginMetrics } from './plugin-metrics.js';
import { countFailure, PluginSlot, TRAPPED } from './plugin-slot.js';
import type { PluginVersion } from './plugin-version.js';
import { StatementMatcher } from './statement-matcher.js';

const COM_QUERY = 0x03;
const COM_STMT_PREPARE = 0x16;
const NO_BYTES = Buffer.alloc(0);

export interface PluginFilterOptions {
  version: PluginVersion;
  service: string;
  servers: readonly ServerView[];
  limits: PluginLimits;
  log: Logger;
  /** Host-side pre-filter: only statements this lets through reach the plugin. */
  matcher?: StatementMatcher | null;
  tenant?: string;
}

class PluginFilterSession implements FilterSession {
  closed = false;
  /** Server index of the session's connection (told by the host through reply()); -1 none. */
  current = -1;

  constructor(readonly filter: PluginFilter, readonly view: SessionView) {}

  get wantsReplies(): boolean {
    return this.filter.wantsReplies;
  }

  statement(stmt: Statement): FilterVerdict | null {
    return this.filter.statement(this, stmt);
  }

  reply(info: ReplyInfo): void {
    this.filter.reply(this, info);
  }

  get wantsResults(): boolean {
    return this.filter.wantsResults;
  }

  result(rows: ResultRows, info: { server: string; binary: boolean; truncated: boolean }): void {
    this.filter.result(this, rows, info);
  }

  close(): void {
    this.filter.closeSession(this);
  }
}

export class PluginFilter implements Filter {
  readonly name: string;
  readonly metrics: PluginMetrics;
  private readonly slot: PluginSlot;
  private servers: readonly ServerView[];
  private readonly sessions = new Map<number, PluginFilterSession>();
  private sent: ServerRecord[] = [];
  private readonly noConns: Uint32Array;
  private readonly log: Logger;
  private readonly tenant: string;
  private readonly matcher: StatementMatcher | null;
  private readonly failClosed: FilterVerdict;
  private readonly verdict: FilterVerdict = { action: FilterAction.Continue, text: '', errorCode: 1105, sqlState: 'HY000' };
  private readonly stmt: StatementRecord = {
    sessionId: 0, currentServer: -1, command: 0, kind: 0, trx: 0, flags: 0, digestLo: 0, digestHi: 0, hint: 0, hintServer: '',
    source: NO_BYTES, sqlStart: 0, sqlEnd: 0,
  };
  private readonly replyRec: ReplyRecord = { sessionId: 0, ok: true, errorCode: 0, server: -1, affectedRows: 0n, rows: 0n };
  private readonly encodeStmt = (ex: Exchange): number => encodeStatement(ex, this.stmt, this.noConns, 0);
  private readonly encodeRep = (ex: Exchange): number => encodeReply(ex, this.replyRec);

  private constructor(opts: PluginFilterOptions) {
    this.name = opts.version.name;
    this.log = opts.log;
    this.tenant = opts.tenant ?? '';
    this.servers = opts.servers;
    this.noConns = new Uint32Array(opts.servers.length);
    this.matcher = opts.matcher ?? null;
    this.metrics = new PluginMetrics(this.name);
    this.slot = new PluginSlot(opts.version, opts.service, opts.log, this.metrics, opts.limits, this);
    this.failClosed = {
      action: FilterAction.Block,
      text: `filter plugin ${this.name} failed; statement refused (failure_policy: fail_closed)`,
      errorCode: 1105,
      sqlState: 'HY000',
    };
  }

  static async create(opts: PluginFilterOptions): Promise<PluginFilter> {
    const f = new PluginFilter(opts);
    await f.slot.start();
    return f;
  }

  get wantsClassification(): boolean {
    return this.slot.version.descriptor.classify;
  }

  get quarantined(): boolean {
    return this.slot.quarantined;
  }

  get liveSessions(): number {
    return this.sessions.size;
  }

  get wantsReplies(): boolean {
    return this.slot.subscribed('on_reply');
  }

  get wantsResults(): boolean {
    return this.slot.subscribed('on_result');
  }

  updateLimits(limits: PluginLimits): void {
    this.slot.updateLimits(limits);
  }

  // ---- server table and replay --------------------------------------------------------------

  serversChanged(servers: readonly ServerView[] = this.servers): void {
    this.servers = servers;
    if (!tableChanged(servers, this.sent)) return;
    const table = serverRecords(servers, this.noConns);
    this.sent = table;
    const r = this.slot.invoke('servers', (ex) => encodeServerTable(ex, table));
    if (r < 0 && r !== TRAPPED) this.failed('servers', r);
  }

  /** SlotOwner: a fresh instance learns the table and every live session again. */
  replay(inst: PluginInstance): void {
    const table = serverRecords(this.servers, this.noConns);
    this.sent = table;
    if (inst.hooks.servers) inst.hooks.servers(encodeServerTable(inst.ex, table));
    const start = inst.hooks.session_start;
    if (!start) return;
    for (const s of this.sessions.values()) {
      inst.fuel?.refill();
      start(encodeSessionStart(inst.ex, sessionRecord(s.view, s.current, this.tenant), this.noConns, this.noConns.length));
    }
  }

  private failed(hook: string, r: number): void {
    countFailure(this.metrics, this.log, this.name, hook, r);
  }

  // ---- sessions -----------------------------------------------------------------------------

  newSession(view: SessionView): FilterSession {
    this.serversChanged();
    const s = new PluginFilterSession(this, view);
    this.sessions.set(view.id, s);
    const r = this.slot.invoke('session_start', (ex) =>
      encodeSessionStart(ex, sessionRecord(view, -1, this.tenant), this.noConns, this.noConns.length));
    // A filter has no say in where the session goes: a response is ignored, a failure only counted.
    if (r < 0 && r !== TRAPPED) this.failed('session_start', r);
    return s;
  }

  statement(s: PluginFilterSession, stmt: Statement): FilterVerdict | null {
    const text = stmt.command === COM_QUERY || stmt.command === COM_STMT_PREPARE;
    if (this.matcher && !this.matcher.accepts(stmt.payload, text)) return null;
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
    st.sqlStart = text ? 1 : 0;
    st.sqlEnd = text ? stmt.payload.length : 0;
    const r = this.slot.invoke('on_statement', this.encodeStmt);
    st.source = NO_BYTES;
    if (r === 0) return null;
    if (r < 0) {
      this.failed('on_statement', r);
      return this.slot.failOpen ? null : this.failClosed;
    }
    let a;
    try {
      a = decodeStatementAction(this.slot.exchange, r);
    } catch (err) {
      this.metrics.errors++;
      this.metrics.policyDecisions++;
      this.log.warn({ plugin: this.name, hook: 'on_statement', err: (err as Error).message }, 'plugin answered with a malformed record; failure policy applies');
      return this.slot.failOpen ? null : this.failClosed;
    }
    const v = this.verdict;
    switch (a.action) {
      case AbiAction.REWRITE:
        if (!text) {
          // Only SQL text can be rewritten; a binary command stays as it is.
          this.log.debug({ plugin: this.name, command: stmt.command }, 'filter asked to rewrite a command without SQL text; ignored');
          return null;
        }
        v.action = FilterAction.Rewrite;
        v.text = a.text;
        return v;
      case AbiAction.BLOCK:
        v.action = FilterAction.Block;
        v.text = a.text || `statement blocked by filter ${this.name}`;
        v.errorCode = a.errorCode;
        v.sqlState = /^[0-9A-Z]{5}$/.test(a.sqlState) ? a.sqlState : 'HY000';
        return v;
      default:
        return null;
    }
  }

  reply(s: PluginFilterSession, info: ReplyInfo): void {
    const r = this.replyRec;
    const index = this.servers.findIndex((x) => x.name === info.server);
    s.current = index;
    r.sessionId = s.view.id;
    r.ok = info.ok;
    r.errorCode = info.errorCode;
    r.server = index;
    r.affectedRows = BigInt(info.affectedRows);
    r.rows = BigInt(info.rows);
    const res = this.slot.invoke('on_reply', this.encodeRep);
    if (res < 0 && res !== TRAPPED) this.failed('on_reply', res);
  }

  result(s: PluginFilterSession, rows: ResultRows, info: { server: string; binary: boolean; truncated: boolean }): void {
    const index = this.servers.findIndex((x) => x.name === info.server);
    const r = this.slot.invoke('on_result', (ex) => encodeResultSet(ex, s.view.id, index, rows, info.binary, info.truncated));
    if (r < 0 && r !== TRAPPED) this.failed('on_result', r);
  }

  closeSession(s: PluginFilterSession): void {
    if (s.closed) return;
    s.closed = true;
    this.sessions.delete(s.view.id);
    const r = this.slot.invoke('session_end', (ex) => encodeSessionEnd(ex, s.view.id));
    if (r < 0 && r !== TRAPPED) this.failed('session_end', r);
  }

  close(): void {
    this.slot.close();
  }
}
