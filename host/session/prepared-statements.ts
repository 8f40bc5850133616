// Prepared statements as the client knows them. With several backend connections per session a
// statement is prepared on each connection that may run it, and each gives it its own id; the
// client gets the proxy's id (1, 2, 3, ...) and every COM_STMT_* is rewritten to the id of the
// connection it goes to (BackendLink.statements).

/** COM_STMT_EXECUTE with this id means "the statement prepared last" (MariaDB, used by pipelining connectors). */
export const LAST_PREPARED = 0xffffffff;

export interface PreparedStatement {
  readonly clientId: number;
  readonly params: number;
  readonly columns: number;
  /** Parameter types of the last execute that sent them (new_params_bound = 1), or null. */
  types: Buffer | null;
  /** Name of the connection the last execute ran on (COM_STMT_FETCH reads the cursor there). */
  lastServer: string | null;
  /** Classifier kind and flags of the statement's SQL, passed to routers with each execute. */
  kind: number;
  flags: number;
  /**
   * Metadata caching: the column definitions the client last received for the statement
   * (host/session/metadata-cache.ts), null if none or unknown.
   */
  columnDefs: Buffer | null;
}

export class PreparedStatements {
  private nextId = 1;
  private readonly byId = new Map<number, PreparedStatement>();
  /** Client id of the statement prepared last (for LAST_PREPARED). */
  last = 0;

  add(params: number, columns: number, kind: number, flags: number): PreparedStatement {
    const ps: PreparedStatement = { clientId: this.nextId++, params, columns, types: null, lastServer: null, kind, flags, columnDefs: null };
    if (this.nextId > 0xfffffffe) this.nextId = 1;
    this.byId.set(ps.clientId, ps);
    this.last = ps.clientId;
    return ps;
  }

  get(clientId: number): PreparedStatement | undefined {
    return this.byId.get(clientId === LAST_PREPARED ? this.last : clientId);
  }

  delete(clientId: number): void {
    this.byId.delete(clientId);
  }

  clear(): void {
    this.byId.clear();
    this.last = 0;
  }
}

/** PREPARE OK: 00 <id u32> <columns u16> <params u16> 00 <warnings u16>; null for an ERR reply. */
export function readPrepareOk(reply: Buffer): { id: number; columns: number; params: number } | null {
  if (reply.length < 4 + 9 || reply[4] !== 0x00) return null;
  return { id: reply.readUInt32LE(5), columns: reply.readUInt16LE(9), params: reply.readUInt16LE(11) };
}

/** Rewrites the statement id of a collected PREPARE OK reply (first packet) in place. */
export function setPrepareOkId(reply: Buffer, id: number): void {
  reply.writeUInt32LE(id >>> 0, 5);
}

/**
 * Offset of the parameter types in a COM_STMT_EXECUTE payload that carries them
 * (new_params_bound = 1), else 0:
 * 17 <id u32> <flags u8> <iterations u32> <null bitmap> <new_params_bound u8> [<types 2*n>] <values>.
 */
export function typesAt(payload: Buffer, params: number): number {
  if (params === 0) return 0;
  const flagAt = 10 + ((params + 7) >> 3);
  if (payload.length < flagAt + 1 + 2 * params || payload[flagAt] !== 1) return 0;
  return flagAt + 1;
}

/**
 * An execute without types (new_params_bound = 0) sent to a connection that never saw them
 * (the server would use garbage): the same execute with the types put in.
 */
export function withTypes(payload: Buffer, params: number, types: Buffer): Buffer {
  const flagAt = 10 + ((params + 7) >> 3);
  if (params === 0 || payload.length <= flagAt || payload[flagAt] !== 0) return payload;
  const out = Buffer.allocUnsafe(payload.length + types.length);
  payload.copy(out, 0, 0, flagAt);
  out[flagAt] = 1;
  types.copy(out, flagAt + 1);
  payload.copy(out, flagAt + 1 + types.length, flagAt + 1);
  return out;
}
