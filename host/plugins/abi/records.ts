// The records of ABI.md §6 as the host sees them: plain objects in, plain objects out. The
// layouts themselves live in encode.ts and decode.ts, next to the offsets they use.
import type { ServerRole, ServerState } from '../../session/router.js';

/** One server table entry. */
export interface ServerRecord {
  name: string;
  role: ServerRole;
  state: ServerState;
  weight: number;
  /** -1 unknown. */
  lagMs: number;
  /** This worker's sessions of this service on the server (connected or connecting). */
  connections: number;
}

export interface SessionRecord {
  id: number;
  /** Server index the session is connected to; -1 none yet. */
  currentServer: number;
  user: string;
  database: string;
  clientAddress: string;
  service: string;
  tenant: string;
}

/** The parts of a statement the host passes to hooks. `sql` is a slice of `source`. */
export interface StatementRecord {
  sessionId: number;
  currentServer: number;
  command: number;
  kind: number;
  trx: number;
  flags: number;
  /** 64-bit digest as two u32 halves (no BigInt on the hot path). */
  digestLo: number;
  digestHi: number;
  /** Routing hint (HintCode); hintServer is the name for HintCode.SERVER, '' otherwise. ABI 1.1. */
  hint: number;
  hintServer: string;
  source: Buffer;
  sqlStart: number;
  sqlEnd: number;
}

export interface ReplyRecord {
  sessionId: number;
  ok: boolean;
  errorCode: number;
  server: number;
  affectedRows: bigint;
  rows: bigint;
}

/** wsx_route's answer. Decoded into a reused object (see decodeRouteDecision). */
export interface RouteDecisionRecord {
  target: number;
  serverIndex: number;
  message: string;
  /** RouteFlag bits (1.2); 0 from an older plugin (optional so that 1.1 callers' literals still fit). */
  flags?: number;
}

/** One DatabaseTable entry (1.2): the databases a server holds, by server index. */
export interface DatabaseRecord {
  server: number;
  databases: readonly string[];
}

export interface SessionTargetsRecord {
  action: number;
  servers: number[];
  message: string;
}

export interface StatementActionRecord {
  action: number;
  errorCode: number;
  sqlState: string;
  text: string;
}
