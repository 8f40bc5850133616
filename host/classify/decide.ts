// The kind and flags of one statement once it has been read, from its leading keywords and what
// the token stream noticed on the way (statement-state.ts).
import { Flag, Kind } from './flags.js';
import { Kw } from './keywords.js';
import type { StatementState } from './statement-state.js';

const DML = [Kw.SELECT, Kw.INSERT, Kw.UPDATE, Kw.DELETE, Kw.REPLACE, Kw.TABLE, Kw.TABLES];
const TABLE_WORDS = [Kw.TABLE, Kw.TABLES];

/** Sets st.flags to the statement's flags and returns its kind. */
export function decide(st: StatementState): number {
  let f = st.flags;
  let kind: number = Kind.UNKNOWN;
  const h1 = st.ntok > 1 ? st.head[1]! : -2;
  switch (st.head[0]) {
    case Kw.SELECT:
    case Kw.DO:
    case Kw.VALUES:
    case Kw.TABLE:
      kind = Kind.READ;
      f |= Flag.READ;
      if (st.outfile || st.seqWrite) {
        kind = Kind.WRITE;
        f |= Flag.WRITE;
      }
      if (st.head[0] === Kw.SELECT && (f & Flag.SYSVAR_READ) !== 0 && !st.sawFrom) f |= Flag.SYSVAR_ONLY;
      break;
    case Kw.WITH:
      if (st.withMain === Kw.SELECT) {
        kind = Kind.READ;
        f |= Flag.READ;
        if (st.outfile || st.seqWrite) {
          kind = Kind.WRITE;
          f |= Flag.WRITE;
        }
      } else if (st.withMain !== 0) {
        kind = Kind.WRITE;
        f |= Flag.WRITE;
      }
      break;
    case Kw.INSERT:
    case Kw.UPDATE:
    case Kw.DELETE:
    case Kw.REPLACE:
      kind = Kind.WRITE;
      f |= Flag.WRITE;
      break;
    case Kw.LOAD:
      kind = Kind.WRITE;
      f |= Flag.WRITE;
      if (h1 === Kw.INDEX) f |= Flag.IMPLICIT_COMMIT;
      break;
    case Kw.CREATE:
      kind = Kind.WRITE;
      f |= Flag.WRITE | Flag.DDL;
      f |= st.headHas(Kw.TEMPORARY) ? Flag.CREATE_TEMP : Flag.IMPLICIT_COMMIT;
      break;
    case Kw.DROP:
      if (h1 === Kw.PREPARE) {
        kind = Kind.SESSION_WRITE;
        f |= Flag.SESSION_WRITE | Flag.DEALLOCATE;
        break;
      }
      kind = Kind.WRITE;
      f |= Flag.WRITE | Flag.DDL;
      f |= st.headHas(Kw.TEMPORARY) ? Flag.DROP_TEMP : Flag.IMPLICIT_COMMIT;
      break;
    case Kw.ALTER:
    case Kw.RENAME:
    case Kw.TRUNCATE:
      kind = Kind.WRITE;
      f |= Flag.WRITE | Flag.DDL | Flag.IMPLICIT_COMMIT;
      break;
    case Kw.GRANT:
    case Kw.REVOKE:
    case Kw.FLUSH:
    case Kw.RESET:
    case Kw.CHANGE:
    case Kw.CACHE:
    case Kw.SHUTDOWN:
    case Kw.STOP:
    case Kw.OPTIMIZE:
    case Kw.REPAIR:
      kind = Kind.WRITE;
      f |= Flag.WRITE | Flag.IMPLICIT_COMMIT;
      break;
    case Kw.CHECK:
      kind = Kind.WRITE; // CHECK TABLE commits implicitly; on a replica it would check another copy
      f |= Flag.IMPLICIT_COMMIT;
      break;
    case Kw.PURGE:
    case Kw.INSTALL:
    case Kw.UNINSTALL:
    case Kw.BINLOG:
    case Kw.BACKUP:
    case Kw.KILL:
      kind = Kind.WRITE;
      f |= Flag.WRITE;
      break;
    case Kw.HANDLER:
      kind = Kind.WRITE; // a HANDLER cursor lives on one connection: keep it on the primary
      break;
    case Kw.SET:
      if ((f & (Flag.WRITE | Flag.SESSION_WRITE)) === 0) f |= Flag.SESSION_WRITE;
      kind = (f & Flag.WRITE) !== 0 ? Kind.WRITE : Kind.SESSION_WRITE;
      break;
    case Kw.USE:
      kind = Kind.SESSION_WRITE;
      f |= Flag.SESSION_WRITE;
      break;
    case Kw.SHOW:
      kind = Kind.READ;
      f |= Flag.READ;
      // SHOW WARNINGS / ERRORS / COUNT(*) WARNINGS report on the previous statement.
      if (h1 === Kw.WARNINGS || h1 === Kw.ERRORS || h1 === Kw.COUNT) f |= Flag.LAST_INSERT_ID;
      break;
    case Kw.GET: // GET DIAGNOSTICS: likewise
      kind = Kind.READ;
      f |= Flag.READ | Flag.LAST_INSERT_ID;
      break;
    case Kw.DESCRIBE:
    case Kw.DESC:
    case Kw.EXPLAIN:
    case Kw.HELP:
    case Kw.CHECKSUM:
      kind = Kind.READ;
      f |= Flag.READ;
      break;
    case Kw.ANALYZE: {
      const what = st.headFirst(DML);
      if (what === Kw.SELECT) {
        kind = Kind.READ;
        f |= Flag.READ;
      } else {
        kind = Kind.WRITE;
        f |= Flag.WRITE;
        if (what === 0 || what === Kw.TABLE || what === Kw.TABLES) f |= Flag.IMPLICIT_COMMIT;
      }
      break;
    }
    case Kw.START:
      if (h1 === Kw.TRANSACTION) {
        kind = Kind.BEGIN;
        f |= Flag.BEGIN | Flag.IMPLICIT_COMMIT;
        if (st.readOnly) f |= Flag.BEGIN_READ_ONLY;
      } else {
        kind = Kind.WRITE; // START SLAVE / REPLICA / ALL SLAVES
        f |= Flag.WRITE | Flag.IMPLICIT_COMMIT;
      }
      break;
    case Kw.BEGIN:
      if (st.compound) {
        kind = Kind.WRITE; // BEGIN NOT ATOMIC ... END: an anonymous block
        f |= Flag.WRITE;
      } else {
        kind = Kind.BEGIN;
        f |= Flag.BEGIN | Flag.IMPLICIT_COMMIT;
      }
      break;
    case Kw.COMMIT:
      kind = Kind.COMMIT;
      f |= Flag.COMMIT;
      if (st.chain) f |= Flag.BEGIN;
      break;
    case Kw.ROLLBACK:
      if (st.sawTo) {
        kind = Kind.TRX_OTHER;
        f |= Flag.SAVEPOINT;
      } else {
        kind = Kind.ROLLBACK;
        f |= Flag.ROLLBACK;
        if (st.chain) f |= Flag.BEGIN;
      }
      break;
    case Kw.SAVEPOINT:
    case Kw.RELEASE:
      kind = Kind.TRX_OTHER;
      f |= Flag.SAVEPOINT;
      break;
    case Kw.XA:
      switch (h1) {
        case Kw.START:
        case Kw.BEGIN:
          kind = Kind.BEGIN;
          f |= Flag.BEGIN;
          break;
        case Kw.END:
        case Kw.PREPARE:
          kind = Kind.TRX_OTHER;
          break;
        case Kw.COMMIT:
          kind = Kind.COMMIT;
          f |= Flag.COMMIT;
          break;
        case Kw.ROLLBACK:
          kind = Kind.ROLLBACK;
          f |= Flag.ROLLBACK;
          break;
        default: // XA RECOVER
          kind = Kind.READ;
          f |= Flag.READ;
      }
      break;
    case Kw.PREPARE:
      kind = Kind.SESSION_WRITE;
      f |= Flag.SESSION_WRITE | Flag.PREPARE;
      break;
    case Kw.EXECUTE:
      kind = Kind.WRITE; // what it runs is known only from its PREPARE
      f |= Flag.EXECUTE;
      break;
    case Kw.DEALLOCATE:
      kind = Kind.SESSION_WRITE;
      f |= Flag.SESSION_WRITE | Flag.DEALLOCATE;
      break;
    case Kw.CALL:
      kind = Kind.WRITE;
      f |= Flag.WRITE | Flag.CALL;
      break;
    case Kw.LOCK:
      kind = Kind.WRITE;
      if (TABLE_WORDS.includes(h1)) f |= Flag.LOCK_TABLES | Flag.IMPLICIT_COMMIT;
      break;
    case Kw.UNLOCK:
      kind = Kind.WRITE;
      if (TABLE_WORDS.includes(h1)) f |= Flag.UNLOCK_TABLES | Flag.IMPLICIT_COMMIT;
      break;
    default:
      break;
  }
  st.flags = f >>> 0;
  return kind;
}
