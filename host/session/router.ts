/**
 * The contract between a session and its router: the router decides *where* each statement
 * goes; everything that must be correct for every router (protocol, auth, connections, reply
 * tracking) stays in the host. The WASM plugin bridge implements this same interface.
 */

export type ServerState = 'up' | 'down' | 'unknown' | 'maintenance' | 'draining';
export type ServerRole = 'primary' | 'replica' | 'standalone' | 'unknown';

/** What a router may know of a server (filled by the monitors; see sdk/ABI.md ServerTable). */
export interface ServerView {
  readonly name: string;
  readonly state: ServerState;
  readonly role?: ServerRole;
  /** Replication lag in milliseconds; -1 or undefined when unknown. */
  readonly lagMs?: number;
  /** Configured weight, default 1. */
  readonly weight?: number;
  /** @@gtid_current_pos as the monitor last read it; '' or undefined when unknown. */
  readonly gtid?: string;
}

/** What a router may know of a session. */
export interface SessionView {
  readonly id: number;
  readonly user: string;
  readonly database: string | null;
  readonly clientAddress: string;
  readonly service: string;
}

export interface Statement {
  /** Command byte (COM_QUERY, COM_STMT_EXECUTE, ...). */
  readonly command: number;
  /** The command payload, command byte included. A view: copy it to keep it. */
  readonly payload: Buffer;
  /** Classifier kind (sdk/ABI.md Statement.kind); for COM_STMT_EXECUTE that of the prepared SQL. 0 unknown. */
  readonly kind: number;
  /** Classifier flags (sdk/ABI.md); 0 unknown. */
  readonly flags: number;
  /** Transaction state before the statement: bit 0 in a transaction, bit 1 read-only, bit 2 autocommit, bit 3 tracked (bits 0-2 valid). */
  readonly trx: number;
  /** 64-bit digest of the canonical form as two u32 halves; 0 unknown. */
  readonly digestLo: number;
  readonly digestHi: number;
  /** Routing hint from a comment (sdk/ABI.md Statement.hint): 0 none, 1 master, 2 slave, 3 server, 4 last. */
  readonly hint: number;
  /** hint 3: the server's name; '' otherwise (a constant: no string per statement without a hint). */
  readonly hintServer: string;
}

export type RouteDecision =
  /**
   * `only`: a session write (USE, COM_INIT_DB, SET ...) runs on this server alone and stays out of
   * the session-command history (schemarouter: each shard keeps its own current database).
   */
  | { readonly kind: 'server'; readonly server: string; readonly only?: boolean }
  /** Every connection the session has open (and, through the history, those it opens later). */
  | { readonly kind: 'all' }
  /** Every server of the service (connections opened as needed); the result sets merged into one (SHOW DATABASES). */
  | { readonly kind: 'merge' }
  | { readonly kind: 'error'; readonly message: string };

export interface RouterSession {
  /** Servers to try, in order, when the session opens its first backend connection. */
  initialServers(): readonly string[];
  /** Set when the router refuses the session (no server fits): the client gets this message. */
  readonly refusal?: string | null;
  /** Target of one statement; the host opens the connection if it does not have one yet. */
  route(stmt: Statement): RouteDecision;
  /** The host tells the router which server the session's first connection was opened to. */
  connected(server: string): void;
  /** A statement was sent to / answered by a server (for least-current-operations balancing). */
  opStarted?(server: string): void;
  /** `elapsedUs`: how long the server took to answer (adaptive routing). */
  opEnded?(server: string, elapsedUs?: number): void;
  close(): void;
}

export interface Router {
  readonly name: string;
  /** Whether the router wants the databases of each server (database discovery runs only then). */
  readonly wantsDatabases?: boolean;
  /** The databases each server holds (server name -> names), after each discovery that changed them. */
  databasesChanged?(databases: ReadonlyMap<string, readonly string[]>): void;
  newSession(session: SessionView, servers: readonly ServerView[]): RouterSession;
}
