/**
 * The contract between a session and its filters: a filter decides *what happens* to a statement
 * (continue, rewrite, block with an error) and may watch replies. Filters run in the order the
 * service lists them, before the router; replies visit them in reverse order. The WASM plugin
 * bridge (host/plugins/plugin-filter.ts) implements it.
 */
import type { ResultRows } from '../protocol/result-set.js';
import type { SessionView, Statement } from './router.js';

export const enum FilterAction {
  Continue = 0,
  /** Go on with `text` as the statement's SQL (COM_QUERY and COM_STMT_PREPARE only). */
  Rewrite = 1,
  /** Answer the client with an ERR packet: `errorCode`, `sqlState`, `text`. */
  Block = 2,
}

/** A filter's answer. Filters may reuse one object: read it before the next call. */
export interface FilterVerdict {
  action: FilterAction;
  text: string;
  errorCode: number;
  sqlState: string;
}

/** What a filter learns of a reply (ABI Reply record). Reused by the host: read, do not keep. */
export interface ReplyInfo {
  ok: boolean;
  errorCode: number;
  /** Name of the server that answered. */
  server: string;
  affectedRows: number;
  rows: number;
}

export interface FilterSession {
  /** null: continue unchanged (the common case allocates nothing). */
  statement(stmt: Statement): FilterVerdict | null;
  /** Whether reply() wants to be called: each call costs a hook call. */
  readonly wantsReplies: boolean;
  reply(info: ReplyInfo): void;
  /** Whether result() wants to be called (result sets are then read and passed on, read-only). */
  readonly wantsResults: boolean;
  /** A result set the client got: its columns and (the first, up to a limit) rows. */
  result(rows: ResultRows, info: { server: string; binary: boolean; truncated: boolean }): void;
  close(): void;
}

export interface Filter {
  readonly name: string;
  newSession(session: SessionView): FilterSession;
}
