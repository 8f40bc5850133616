import type { Logger } from 'pino';
import type { AccountSource } from './authenticator.js';
import type { ServerAddress } from './backend-connection.js';
import type { CausalReads } from './causal-reads.js';
import type { Filter } from './filter.js';
import type { Router, ServerView } from './router.js';

/** Limits a session enforces; all may change at runtime (read on every use). */
export interface SessionSettings {
  idleTimeoutMs: number;
  netReadTimeoutMs: number;
  maxAllowedPacket: number;
  connectTimeoutMs: number;
  /** transaction_replay and its limits (0 size: off). */
  trxReplay: { maxSize: number; attempts: number; timeoutMs: number; safeCommit: boolean } | null;
  causalReads: CausalReads;
  causalReadsTimeoutMs: number;
  masterReconnection: boolean;
  /** delayed_retry_timeout when delayed_retry is on, else 0. */
  delayedRetryMs: number;
}

/** What the proxy tells clients about "the server", mirrored from a backend's greeting. */
export interface ServerGreeting {
  serverVersion: string;
  capabilities: number;
  mariaCapabilities: number;
  charset: number;
}

export type BackendServer = ServerAddress & ServerView;

/** Everything a session needs from the service it belongs to (one per service per worker). */
export interface ServiceContext {
  readonly name: string;
  readonly settings: SessionSettings;
  readonly log: Logger;
  readonly accounts: AccountSource;
  readonly router: Router;
  /** Filters in the order statements pass through them. */
  readonly filters: readonly Filter[];
  /** Whether statements are classified (kind, flags, digest) for the router and filters. */
  readonly classifies: boolean;
  greeting(): ServerGreeting;
  servers(): readonly BackendServer[];
  /** KILL of a proxy session id, possibly owned by another worker. Resolves false if unknown. */
  kill(id: number, query: boolean): Promise<boolean>;
  /**
   * With database discovery (a router that shards by database): the databases `server` holds as
   * last read, undefined without discovery or before it read that server.
   */
  databasesOf?(server: string): readonly string[] | undefined;
  /** Database discovery runs: servers are shards holding different databases (prepared statements may exist on some only). */
  readonly discoversDatabases?: boolean;
  /** A reply said "unknown database" (1049): the database map may be stale. */
  databaseUnknown?(): void;
}
