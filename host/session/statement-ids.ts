// A command that names a prepared statement, as one of the session's connections must get it:
// each connection gave the statement its own id (BackendLink.statements), and one that never got
// the parameter types needs them in the execute (host/session/prepared-statements.ts).
import { Com } from '../protocol/constants.js';
import type { BackendLink } from './backend-link.js';
import { typesAt, withTypes, type PreparedStatement } from './prepared-statements.js';
import type { SessionCore } from './session-core.js';

function namesStatement(payload: Buffer): boolean {
  const cmd = payload[0];
  return payload.length >= 5 && (cmd === Com.STMT_EXECUTE || cmd === Com.STMT_BULK_EXECUTE || cmd === Com.STMT_RESET);
}

/** A copy of `payload` naming statement `id`, with `ps`'s parameter types put in an execute that lacks them. */
function naming(payload: Buffer, id: number, ps: PreparedStatement | undefined): Buffer {
  let out: Buffer = Buffer.from(payload);
  out.writeUInt32LE(id, 1);
  if (ps?.types && out[0] === Com.STMT_EXECUTE && typesAt(out, ps.params) === 0) out = withTypes(out, ps.params, ps.types);
  return out;
}

/**
 * `payload` (client statement ids) for `link`: a copy with the connection's statement id and,
 * for an execute, the parameter types if they are missing; other commands as they are. Null when
 * the connection does not have the statement.
 */
export function commandFor(s: SessionCore, payload: Buffer, link: BackendLink): Buffer | null {
  if (!namesStatement(payload)) return payload;
  const clientId = payload.readUInt32LE(1);
  const ps = s.stmts.get(clientId);
  const id = link.statements.get(ps?.clientId ?? clientId);
  if (id === undefined) return null;
  if (ps && payload[0] === Com.STMT_EXECUTE) link.typed.add(ps.clientId);
  return naming(payload, id, ps);
}

/**
 * `payload` as the session history keeps it: the statement's own client id (not "the last
 * prepared") and an execute's parameter types in it, so that a connection opened later can run it.
 */
export function commandForHistory(s: SessionCore, payload: Buffer): { payload: Buffer; statement: number } {
  if (!namesStatement(payload)) return { payload, statement: 0 };
  const ps = s.stmts.get(payload.readUInt32LE(1));
  if (!ps) return { payload, statement: 0 };
  return { payload: naming(payload, ps.clientId, ps), statement: ps.clientId };
}
