// What the session's modules (session-auth.ts, session-dispatch.ts, session-links.ts, fan-out.ts,
// trx-replay.ts, ...) share: the session's state as they see it (SessionCore, which ClientSession
// implements) and the constants they use. Code outside host/session/ is meant to use only the
// session's own surface (SessionView, start, close, closed, credentials, killedBy).
import type net from 'node:net';
import type { ClassifyResult } from '../classify/index.js';
import type { ErrorSpec } from '../protocol/errors.js';
import type { FramedPacket, PacketFramer } from '../protocol/framer.js';
import type { ReplyKind } from '../protocol/reply-tracker.js';
import type { BackendLogin } from './backend-connection.js';
import type { BackendLink, LinkOwner } from './backend-link.js';
import type { FilterSession, ReplyInfo } from './filter.js';
import type { SessionGtid } from './gtid-tracking.js';
import type { MultiOp } from './multi-op.js';
import type { PreparedStatements } from './prepared-statements.js';
import type { MutableStatement } from './classify-statement.js';
import type { RouterSession } from './router.js';
import type { ServiceContext } from './service-context.js';
import type { SessionHistory } from './session-history.js';
import type { TrxLog } from './trx-log.js';

export const enum Phase {
  Handshake,
  Authenticating,
  Command,
  Closed,
}

export const EMPTY: Buffer = Buffer.alloc(0);
export const ROUTER_REFUSED = { code: 1105, sqlState: 'HY000' } as const;
/** MaxScale's max_sescmd_history default. */
export const HISTORY_LIMIT = 50;
/** How often delayed_retry asks the router again. */
export const RETRY_STEP_MS = 250;
/** Bytes of a reply kept for filters that read result sets; the rest is not shown to them. */
export const TEE_LIMIT = 2 * 1024 * 1024;
/** Kind.BEGIN of host/classify (a statement that opens a transaction). */
export const CLASSIFIED_BEGIN = 4;
/** The classifier's kind for COMMIT. */
export const CLASSIFIED_COMMIT = 5;
/** Kind.READ of host/classify. */
export const CLASSIFIED_READ = 1;
/** Kind.SESSION_WRITE of host/classify. */
export const CLASSIFIED_SESSION_WRITE = 3;
/** ER_BAD_DB_ERROR: "Unknown database". */
export const ER_BAD_DB = 1049;

/** The session's one reused Statement (routing a statement must not allocate). */
export type { MutableStatement };

/** An autocommit read in flight on a connection other than the main one (retried on loss). */
export interface RetryableRead {
  link: BackendLink | null;
  payload: Buffer;
  clientStmtId: number;
  kind: ReplyKind;
  seq: number;
}

/** A command waiting for earlier replies (runProxyCommand). */
export interface DeferredCommand {
  packet: FramedPacket;
  run: (p: FramedPacket) => Promise<void>;
}

/**
 * The session as its modules see it. ClientSession's fields are documented where it declares
 * them; these are public only so that the modules can reach them.
 */
export interface SessionCore extends LinkOwner {
  readonly id: number;
  user: string;
  database: string | null;
  readonly clientAddress: string;
  readonly service: string;
  readonly closed: boolean;
  readonly ctx: ServiceContext;
  readonly socket: net.Socket;
  readonly framer: PacketFramer;
  phase: Phase;
  readonly scramble: Buffer;
  advertised: number;
  clientCaps: number;
  stage1: Buffer | null;
  login: BackendLogin | null;
  handshakeTimer: NodeJS.Timeout | null;
  waiter: ((p: FramedPacket) => void) | null;

  readonly links: Map<string, BackendLink>;
  main: BackendLink | null;
  mainName: string | null;
  mainOnPrimary: boolean;
  readonly retry: RetryableRead;
  retryDeadline: number | null;
  readonly history: SessionHistory;
  readonly stmts: PreparedStatements;
  op: MultiOp | null;
  trx: TrxLog | null;
  replaying: boolean;
  failureForNext: string | null;
  gtid: SessionGtid;
  serverStatus: number;
  routerSession: RouterSession | null;
  filterSessions: FilterSession[];
  replyFilters: FilterSession[];
  resultFilters: FilterSession[];
  teeLink: BackendLink | null;
  teeChunks: Buffer[];
  teeBytes: number;
  teeBinary: boolean;
  /** Metadata caching: the column definitions of the teed execute, should its reply skip them. */
  teeColumns: Buffer | null;
  readonly classified: ClassifyResult;
  readonly replyInfo: ReplyInfo;
  readonly statement: MutableStatement;
  infile: boolean;
  infileLink: BackendLink | null;
  busy: boolean;
  deferred: DeferredCommand | null;
  lastCmdSeq: number;
  clientPausedForBackend: boolean;

  writeTo(link: BackendLink, p: FramedPacket): void;
  runProxyCommand(p: FramedPacket, run: (p: FramedPacket) => Promise<void>): boolean;
  drainBacklog(): void;
  armIdleTimer(): void;
  replySeq(): number;
  sendPacket(payload: Buffer, seq: number): void;
  fail(spec: ErrorSpec, message: string, seq: number): void;
  internalError(err: unknown): void;
  logOnce(msg: string, fields: Record<string, unknown>): void;
  close(): void;
}
