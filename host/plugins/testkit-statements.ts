// The test kit's half of what a client session does before a plugin sees a statement: classify
// it with host/classify exactly as onCommand in host/session/session-dispatch.ts does (COM_QUERY
// and COM_STMT_PREPARE: kind, flags, digest, hint, hint server name; COM_STMT_EXECUTE: the kind
// and flags of the prepared SQL), and the transaction state (Statement.trx).
//
// The transaction state is a simplification: the proxy takes it from the server's status flags
// (SERVER_STATUS_IN_TRANS, _IN_TRANS_READONLY, _AUTOCOMMIT of the previous reply); with no
// server, the kit derives them from the statements the session ran before: BEGIN / START
// TRANSACTION [READ ONLY] / XA START open a transaction, COMMIT / ROLLBACK / an implicit commit
// (DDL, LOCK TABLES, ...) end it, SET autocommit=0|1 switches autocommit (back to 1 commits), and
// with autocommit off a read or a write opens one (the server only does so once a transactional
// table is touched). A case can always give the bits itself.
import { ClassifyResult, classify, Flag, flagsOf, Hint, Kind } from '../classify/index.js';
import { classifyStatement, type MutableStatement } from '../session/classify-statement.js';
import type { Statement } from '../session/router.js';

export const COM_QUERY = 0x03;
export const COM_STMT_PREPARE = 0x16;
export const COM_STMT_EXECUTE = 0x17;
export const COM_STMT_BULK_EXECUTE = 0xfa;

/** Statement.trx bits (sdk/ABI.md Statement.trx). */
export const Trx = { ACTIVE: 1, READ_ONLY: 2, AUTOCOMMIT: 4, TRACKED: 8 } as const;
const TRX_NAMES: Record<string, number> = { active: 1, in_transaction: 1, read_only: 2, autocommit: 4, tracked: 8 };
const HINT_NAMES: Record<string, number> = { none: Hint.NONE, master: Hint.MASTER, slave: Hint.SLAVE, server: Hint.SERVER, last: Hint.LAST };
const KIND_NAMES: Record<string, number> = {
  unknown: Kind.UNKNOWN, read: Kind.READ, write: Kind.WRITE, session_write: Kind.SESSION_WRITE,
  begin: Kind.BEGIN, commit: Kind.COMMIT, rollback: Kind.ROLLBACK, trx_other: Kind.TRX_OTHER,
};

/**
 * What a test gives for one statement. Numbers are the ABI's; names are accepted too: kind
 * "read"/"write"/..., flags ["READ","USERVAR_WRITE"], trx ["active","autocommit","tracked"],
 * hint "master"/"slave"/"server"/"last"/"none".
 */
export interface StatementOverrides {
  kind?: number | string;
  flags?: number | string[];
  trx?: number | string[];
  hint?: number | string;
  hintServer?: string;
}

export interface StatementInput extends StatementOverrides {
  /** SQL text (COM_QUERY, COM_STMT_PREPARE; for COM_STMT_EXECUTE see `prepared`). */
  sql?: string;
  /** Command byte, default COM_QUERY (0x03). */
  command?: number;
  /** COM_STMT_EXECUTE: the prepared statement's SQL (kind and flags come from it, as in the host)... */
  prepared?: string;
  /** ...or the id an earlier COM_STMT_PREPARE of this session got (1, 2, ... as the proxy numbers them). */
  stmtId?: number;
}


function lookup(table: Record<string, number>, what: string, name: string): number {
  const n = table[name.toLowerCase()];
  if (n === undefined) throw new Error(`unknown ${what} ${JSON.stringify(name)} (one of ${Object.keys(table).join(', ')})`);
  return n;
}

/** Numbers for the overrides a test gave (names resolved); absent fields stay absent. */
export function resolveOverrides(o: StatementOverrides): Partial<Pick<Statement, 'kind' | 'flags' | 'trx' | 'hint' | 'hintServer'>> {
  const out: Partial<MutableStatement> = {};
  if (o.kind !== undefined) out.kind = typeof o.kind === 'number' ? o.kind : lookup(KIND_NAMES, 'kind', o.kind);
  if (o.flags !== undefined) out.flags = typeof o.flags === 'number' ? o.flags >>> 0 : flagsOf(o.flags.map((f) => f.toUpperCase()));
  if (o.trx !== undefined) out.trx = typeof o.trx === 'number' ? o.trx : o.trx.reduce((bits, n) => bits | lookup(TRX_NAMES, 'trx bit', n), 0);
  if (o.hint !== undefined) out.hint = typeof o.hint === 'number' ? o.hint : lookup(HINT_NAMES, 'hint', o.hint);
  if (o.hintServer !== undefined) out.hintServer = o.hintServer;
  return out;
}

/** One test session's view of what the host would know: transaction state, prepared statements. */
export class StatementState {
  /** The server status bits the kit keeps in place of the server's (Trx.ACTIVE | READ_ONLY | AUTOCOMMIT). */
  status: number = Trx.AUTOCOMMIT;
  private readonly prepared = new Map<number, { kind: number; flags: number }>();
  private nextStmtId = 1;
  private readonly classified = new ClassifyResult();

  constructor(private readonly classifies: boolean) {}

  /** The Statement the host would hand to the plugins. */
  build(input: StatementInput): Statement {
    const command = input.command ?? COM_QUERY;
    const execute = command === COM_STMT_EXECUTE || command === COM_STMT_BULK_EXECUTE;
    const stmt: MutableStatement = {
      command, payload: execute ? this.executePayload(command, input) : textPayload(command, input.sql ?? ''),
      kind: 0, flags: 0, trx: this.classifies ? Trx.TRACKED | this.status : 0, digestLo: 0, digestHi: 0, hint: 0, hintServer: '',
    };
    if (this.classifies && (command === COM_QUERY || command === COM_STMT_PREPARE)) {
      classifyStatement(stmt, stmt.payload, this.classified);
    }
    if (this.classifies && execute) {
      const ps = input.prepared !== undefined ? this.classifyText(input.prepared) : this.prepared.get(input.stmtId ?? this.nextStmtId - 1);
      if (input.prepared === undefined && !ps) throw new Error(`no prepared statement ${input.stmtId ?? '(none prepared yet)'} in this session: give "prepared" (its SQL) or prepare it first`);
      if (ps) {
        stmt.kind = ps.kind;
        stmt.flags = ps.flags;
      }
    }
    return Object.assign(stmt, resolveOverrides(input));
  }

  /**
   * The statement ran (the plugin did not refuse it, the server did not fail it): what it does to
   * the transaction state, and a COM_STMT_PREPARE gets its statement id. `ran` is the SQL the
   * server got, when a filter rewrote it.
   */
  ran(stmt: Statement, rewritten?: string): void {
    let kind = stmt.kind;
    let flags = stmt.flags;
    if (rewritten !== undefined && this.classifies) ({ kind, flags } = this.classifyText(rewritten));
    if (stmt.command === COM_STMT_PREPARE) {
      this.prepared.set(this.nextStmtId++, { kind, flags });
      return;
    }
    const ends = kind === Kind.COMMIT || kind === Kind.ROLLBACK || (flags & (Flag.COMMIT | Flag.ROLLBACK | Flag.IMPLICIT_COMMIT)) !== 0;
    let st = this.status;
    if (ends) st &= ~(Trx.ACTIVE | Trx.READ_ONLY);
    if ((flags & Flag.AUTOCOMMIT_OFF) !== 0) st &= ~Trx.AUTOCOMMIT;
    if ((flags & Flag.AUTOCOMMIT_ON) !== 0) {
      if (!(st & Trx.AUTOCOMMIT)) st &= ~(Trx.ACTIVE | Trx.READ_ONLY); // autocommit back to 1 commits
      st |= Trx.AUTOCOMMIT;
    }
    if (kind === Kind.BEGIN || (flags & Flag.BEGIN) !== 0) st = ((st | Trx.ACTIVE) & ~Trx.READ_ONLY) | ((flags & Flag.BEGIN_READ_ONLY) !== 0 ? Trx.READ_ONLY : 0);
    else if (!ends && !(st & Trx.AUTOCOMMIT) && (kind === Kind.READ || kind === Kind.WRITE)) st |= Trx.ACTIVE;
    this.status = st;
  }

  private classifyText(sql: string): { kind: number; flags: number } {
    const b = Buffer.from(sql, 'utf8');
    const c = classify(b, 0, b.length, this.classified, false);
    return { kind: c.kind, flags: c.flags };
  }

  private executePayload(command: number, input: StatementInput): Buffer {
    // COM_STMT_EXECUTE: id u32, flags u8, iteration count u32 (no parameters).
    const p = Buffer.alloc(10);
    p[0] = command;
    p.writeUInt32LE((input.stmtId ?? Math.max(1, this.nextStmtId - 1)) >>> 0, 1);
    p.writeUInt32LE(1, 6);
    return p;
  }
}

function textPayload(command: number, sql: string): Buffer {
  return Buffer.concat([Buffer.from([command]), Buffer.from(sql, 'utf8')]);
}
