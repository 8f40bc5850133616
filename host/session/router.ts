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
}

export type RouteDecision =
  | { readonly kind: 'server'; readonly server: string }
  | { readonly kind: 'error'; readonly message: string };

export interface RouterSession {
  /** Servers to try, in order, when the session opens its first backend connection. */
  initialServers(): readonly string[];
  /** Set when the router refuses the session (no server fits): the client gets this message. */
  readonly refusal?: string | null;
  /** Target of one statement; the host opens the connection if it does not have one yet. */
  route(stmt: Statement): RouteDecision;
  /** The host tells the router which server a connection was opened (or lost) to. */
  connected(server: string): void;
  close(): void;
}

export interface Router {
  readonly name: string;
  newSession(session: SessionView, servers: readonly ServerView[]): RouterSession;
}
