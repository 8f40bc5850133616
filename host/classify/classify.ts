// The classifier: one pass of the lexer over a statement's bytes yields its kind, flags, routing
// hint and digest into a caller-owned result object. Nothing is allocated per statement.
import { Canon } from './canonical.js';
import { decide } from './decide.js';
import { Flag, Hint, Kind } from './flags.js';
import { parseHint } from './hints.js';
import { Kw } from './keywords.js';
import {
  Lexer, P_ASSIGN, SCOPE_GLOBAL, T_COMMENT, T_END, T_NUMBER, T_PUNCT, T_SYSVAR, T_VAR, T_WORD,
} from './lexer.js';
import { HEAD, SET_EQ, SET_NONE, SET_REST, SET_TARGET, SET_VALUE, StatementState } from './statement-state.js';

/** What classify() fills in. Reuse one per session (or per worker): it is overwritten. */
export class ClassifyResult {
  /** Kind.* (ABI Statement.kind). */
  kind = 0;
  /** Flag.* bits (ABI Statement.flags), an unsigned 32-bit number. */
  flags = 0;
  /** Digest of the canonical form: FNV-1a 64, low and high u32 halves (0 when not computed). */
  digestLo = 0;
  digestHi = 0;
  /** Statements in the text (0 for blank or comment-only text). */
  statements = 0;
  /** Keyword id (Kw) of the first statement's first word; 0 none or not a keyword. */
  verb = 0;
  /** Hint.* from a routing-hint comment (the first one wins). */
  hint = 0;
  /** Hint.SERVER: the server name is buf[hintStart..hintEnd). */
  hintStart = 0;
  hintEnd = 0;
}

// What a keyword means to word(): 0 nothing (most keywords: one table load decides), F_* a
// function that matters when followed by '(', A_BARE_NONDET, or A_SWITCH (look closer).
const F_LAST_ID = 1, F_LOCK = 2, F_SEQ_WRITE = 3, F_SEQ_READ = 4, F_NONDET = 5;
const A_BARE_NONDET = 6, A_SWITCH = 7;
const WORD_ACT = new Uint8Array(512);
for (const k of [Kw.LAST_INSERT_ID, Kw.FOUND_ROWS, Kw.ROW_COUNT]) WORD_ACT[k] = F_LAST_ID;
for (const k of [Kw.GET_LOCK, Kw.RELEASE_LOCK, Kw.IS_FREE_LOCK, Kw.IS_USED_LOCK, Kw.RELEASE_ALL_LOCKS]) WORD_ACT[k] = F_LOCK;
for (const k of [Kw.NEXTVAL, Kw.SETVAL]) WORD_ACT[k] = F_SEQ_WRITE;
WORD_ACT[Kw.LASTVAL] = F_SEQ_READ;
for (const k of [Kw.NOW, Kw.RAND, Kw.UUID, Kw.UUID_SHORT, Kw.SYSDATE, Kw.CURDATE, Kw.CURTIME, Kw.UNIX_TIMESTAMP,
  Kw.UTC_TIMESTAMP, Kw.UTC_DATE, Kw.UTC_TIME, Kw.CONNECTION_ID]) WORD_ACT[k] = F_NONDET;
for (const k of [Kw.CURRENT_TIMESTAMP, Kw.CURRENT_DATE, Kw.CURRENT_TIME, Kw.LOCALTIME, Kw.LOCALTIMESTAMP]) WORD_ACT[k] = A_BARE_NONDET;
for (const k of [Kw.SELECT, Kw.INSERT, Kw.DELETE, Kw.REPLACE, Kw.UPDATE, Kw.SHARE, Kw.ONLY, Kw.CHAIN, Kw.FOR, Kw.OUTFILE,
  Kw.DUMPFILE, Kw.FROM, Kw.TO, Kw.SET, Kw.NOT, Kw.PROCEDURE, Kw.FUNCTION, Kw.TRIGGER, Kw.EVENT, Kw.PACKAGE, Kw.BEGIN,
  Kw.CASE, Kw.END]) WORD_ACT[k] = A_SWITCH;

export class Classifier {
  private readonly lx = new Lexer();
  private readonly canon = new Canon();
  private readonly st = new StatementState();
  private res: ClassifyResult = new ClassifyResult();

  /**
   * Classifies buf[start..end) (the SQL text of a COM_QUERY or COM_STMT_PREPARE payload) into
   * `out` and returns it. `digest` false skips the canonical-form hash (digestLo/Hi stay 0).
   */
  classify(buf: Uint8Array, start: number, end: number, out: ClassifyResult, digest = true): ClassifyResult {
    const lx = this.lx;
    const st = this.st;
    const canon = this.canon;
    out.kind = Kind.UNKNOWN;
    out.flags = 0;
    out.digestLo = 0;
    out.digestHi = 0;
    out.statements = 0;
    out.verb = 0;
    out.hint = Hint.NONE;
    out.hintStart = 0;
    out.hintEnd = 0;
    this.res = out;
    lx.reset(buf, start, end);
    st.reset();
    if (digest) canon.reset(false);
    for (let t = lx.next(); t !== T_END; t = lx.next()) {
      if (t === T_COMMENT) {
        if (out.hint === Hint.NONE && parseHint(buf, lx.start, lx.stop, out) !== Hint.NONE) out.flags |= Flag.HINT;
        continue;
      }
      if (digest) canon.feed(lx);
      this.token(t);
    }
    this.endStatement();
    if (out.statements > 1) out.flags |= Flag.MULTI_STATEMENT;
    out.flags >>>= 0;
    if (digest) {
      canon.finish();
      out.digestLo = canon.lo;
      out.digestHi = canon.hi;
    }
    return out;
  }

  private token(t: number): void {
    const lx = this.lx;
    const st = this.st;
    const code = t === T_PUNCT ? lx.code : 0;
    const kw = t === T_WORD ? lx.kw : 0;
    if (st.pendingVar) {
      st.pendingVar = false;
      // `@v := x` assigns anywhere; `@v = x` only in GET DIAGNOSTICS (elsewhere it compares).
      st.flags |= code === P_ASSIGN || (code === 0x3d && st.head[0] === Kw.GET) ? Flag.USERVAR_WRITE : Flag.USERVAR_READ;
    }
    if (st.pendingFunc !== 0) {
      if (code === 0x28) this.func(st.pendingFunc);
      st.pendingFunc = 0;
    }
    if (st.pendingEnd) {
      st.pendingEnd = false;
      // END IF / END LOOP / END WHILE / END REPEAT / END FOR close constructs never counted.
      if (!(kw === Kw.IF || kw === Kw.LOOP || kw === Kw.WHILE || kw === Kw.REPEAT || kw === Kw.FOR)) st.block--;
    }
    if (code === 0x3b && (!st.compound || st.block <= 0)) {
      this.endStatement();
      return;
    }
    if (code === 0x28) {
      st.depth++;
      st.parenSeen = true;
    }
    else if (code === 0x29) st.depth--;
    if (st.ntok === 0 && code === 0x28) return; // (SELECT ...) UNION (SELECT ...)
    if (st.setStatement) {
      // SET STATEMENT var = value, ... FOR <statement>: classified as <statement>.
      if (kw === Kw.FOR && st.depth === 0) {
        st.reset();
      }
      return;
    }
    const idx = st.ntok++;
    if (idx < HEAD) st.head[idx] = t === T_WORD ? kw : -1;
    if (st.set !== SET_NONE) {
      if (this.setToken(t, code, kw, idx)) return this.after(t, kw);
    }
    switch (t) {
      case T_WORD:
        if (kw !== 0) this.word(kw, idx);
        break;
      case T_VAR:
        if (st.prev1 === Kw.INTO || st.intoVars) {
          st.flags |= Flag.USERVAR_WRITE; // SELECT ... INTO @a, @b
          st.intoVars = true;
          return this.after(t, kw);
        }
        st.pendingVar = true;
        break;
      case T_SYSVAR:
        st.flags |= Flag.SYSVAR_READ;
        if (lx.kw === Kw.IDENTITY || lx.kw === Kw.LAST_INSERT_ID || lx.kw === Kw.WARNING_COUNT || lx.kw === Kw.ERROR_COUNT) {
          st.flags |= Flag.LAST_INSERT_ID;
        }
        break;
    }
    this.after(t, kw);
  }

  private after(t: number, kw: number): void {
    const st = this.st;
    if (st.intoVars && !(t === T_PUNCT && this.lx.code === 0x2c) && t !== T_VAR) st.intoVars = false;
    st.prev2 = st.prev1;
    st.prev1 = t === T_WORD ? kw : -1;
  }

  private word(kw: number, idx: number): void {
    const st = this.st;
    const act = WORD_ACT[kw]!;
    if (act !== A_SWITCH) {
      if (act === A_BARE_NONDET) st.flags |= Flag.NON_DETERMINISTIC;
      else if (act !== 0) st.pendingFunc = act;
      return;
    }
    switch (kw) {
      case Kw.SELECT:
      case Kw.INSERT:
      case Kw.DELETE:
      case Kw.REPLACE:
        if (st.head[0] === Kw.WITH && st.depth === 0 && st.withMain === 0) st.withMain = kw;
        break;
      case Kw.UPDATE:
        if (st.prev1 === Kw.FOR) st.flags |= Flag.LOCKING_READ;
        else if (st.head[0] === Kw.WITH && st.depth === 0 && st.withMain === 0) st.withMain = kw;
        break;
      case Kw.SHARE:
        if (st.prev1 === Kw.FOR || st.prev1 === Kw.IN) st.flags |= Flag.LOCKING_READ;
        break;
      case Kw.ONLY:
        if (st.prev1 === Kw.READ) st.readOnly = true;
        break;
      case Kw.CHAIN:
        if (st.prev1 === Kw.AND) st.chain = true;
        break;
      case Kw.FOR:
        if (st.prev1 === Kw.VALUE) {
          if (st.prev2 === Kw.NEXT) this.func(F_SEQ_WRITE);
          else if (st.prev2 === Kw.PREVIOUS) this.func(F_SEQ_READ);
        }
        break;
      case Kw.OUTFILE:
      case Kw.DUMPFILE:
        if (st.prev1 === Kw.INTO) st.outfile = true;
        break;
      case Kw.FROM:
        st.sawFrom = true;
        break;
      case Kw.TO:
        st.sawTo = true;
        break;
      case Kw.SET:
        if (idx === 0) {
          st.set = SET_TARGET;
          st.setGlobal = false;
        }
        break;
      case Kw.NOT:
        if (idx === 1 && st.head[0] === Kw.BEGIN) {
          st.compound = true; // BEGIN NOT ATOMIC
          st.block = 1;
        }
        break;
      case Kw.PROCEDURE:
      case Kw.FUNCTION:
      case Kw.TRIGGER:
      case Kw.EVENT:
      case Kw.PACKAGE:
        // Only as the object of CREATE (before any parenthesis): a column named `event` must not
        // make later ';' look like part of a body, which would hide a multi-statement.
        if (st.head[0] === Kw.CREATE && !st.parenSeen) st.compound = true;
        break;
      case Kw.BEGIN:
      case Kw.CASE:
        if (st.compound) st.block++;
        break;
      case Kw.END:
        if (st.compound) st.pendingEnd = true;
        break;
    }
  }

  /** A token while inside SET's assignment list. Returns true when consumed as an assignment target. */
  private setToken(t: number, code: number, kw: number, idx: number): boolean {
    const st = this.st;
    const lx = this.lx;
    switch (st.set) {
      case SET_TARGET:
        if (t === T_WORD) {
          switch (kw) {
            case Kw.GLOBAL:
            case Kw.PERSIST:
            case Kw.PERSIST_ONLY:
              st.setGlobal = true;
              return true;
            case Kw.SESSION:
            case Kw.LOCAL:
              st.setGlobal = false;
              return true;
            case Kw.NAMES:
            case Kw.CHARSET:
            case Kw.CHARACTER:
            case Kw.ROLE:
              st.flags |= Flag.SESSION_WRITE;
              st.set = SET_REST;
              return true;
            case Kw.TRANSACTION:
              st.flags |= st.setGlobal ? Flag.GLOBAL_WRITE | Flag.WRITE : Flag.SESSION_WRITE;
              st.set = SET_REST;
              return true;
            case Kw.PASSWORD:
              st.flags |= Flag.WRITE | Flag.IMPLICIT_COMMIT;
              st.set = SET_REST;
              return true;
            case Kw.DEFAULT: // SET DEFAULT ROLE
              st.flags |= Flag.WRITE;
              st.set = SET_REST;
              return true;
            case Kw.STATEMENT:
              if (idx === 1) {
                st.setStatement = true;
                st.set = SET_NONE;
                return true;
              }
          }
          st.flags |= st.setGlobal ? Flag.GLOBAL_WRITE | Flag.WRITE : Flag.SESSION_WRITE;
          st.autocommitTarget = kw === Kw.AUTOCOMMIT && !st.setGlobal;
          st.set = SET_EQ;
          return true;
        }
        if (t === T_VAR) {
          st.flags |= Flag.USERVAR_WRITE | Flag.SESSION_WRITE;
          st.autocommitTarget = false;
          st.set = SET_EQ;
          return true;
        }
        if (t === T_SYSVAR) {
          st.flags |= lx.scope === SCOPE_GLOBAL ? Flag.GLOBAL_WRITE | Flag.WRITE : Flag.SESSION_WRITE;
          st.autocommitTarget = lx.kw === Kw.AUTOCOMMIT && lx.scope !== SCOPE_GLOBAL;
          st.set = SET_EQ;
          return true;
        }
        st.set = SET_REST;
        return false;
      case SET_EQ:
        st.set = code === 0x3d || code === P_ASSIGN ? SET_VALUE : SET_REST;
        return st.set === SET_VALUE;
      case SET_VALUE:
        if (st.autocommitTarget) {
          st.autocommitTarget = false;
          st.autocommitValue = this.boolValue(t, kw); // counts only if the value ends here
        }
        st.set = SET_REST;
        return false;
      default:
        if (code === 0x2c && st.depth === 0) {
          st.commitAutocommit();
          st.set = SET_TARGET;
          return true;
        }
        st.autocommitValue = -1; // `SET autocommit = 1 - x`: an expression, not a constant
        return false;
    }
  }

  /** 1 for 1/ON/TRUE/DEFAULT, 0 for 0/OFF/FALSE, -1 otherwise. */
  private boolValue(t: number, kw: number): number {
    if (t === T_NUMBER) {
      const lx = this.lx;
      if (lx.stop - lx.start !== 1) return -1;
      const c = lx.buf[lx.start];
      return c === 0x31 ? 1 : c === 0x30 ? 0 : -1;
    }
    if (t !== T_WORD) return -1;
    if (kw === Kw.ON || kw === Kw.TRUE || kw === Kw.DEFAULT) return 1;
    if (kw === Kw.OFF || kw === Kw.FALSE) return 0;
    return -1;
  }

  private func(fn: number): void {
    const st = this.st;
    switch (fn) {
      case F_LAST_ID:
        st.flags |= Flag.LAST_INSERT_ID;
        break;
      case F_LOCK:
        st.flags |= Flag.NAMED_LOCK;
        break;
      case F_SEQ_WRITE:
        st.flags |= Flag.SEQUENCE;
        st.seqWrite = true;
        break;
      case F_SEQ_READ:
        st.flags |= Flag.SEQUENCE;
        break;
      default:
        st.flags |= Flag.NON_DETERMINISTIC;
    }
  }

  private endStatement(): void {
    const st = this.st;
    const res = this.res;
    if (st.pendingVar) st.flags |= Flag.USERVAR_READ;
    st.commitAutocommit();
    if (st.ntok > 0) {
      const kind = decide(st);
      if (res.statements === 0) {
        res.kind = kind;
        res.verb = st.head[0]! > 0 ? st.head[0]! : 0;
      } else if (res.kind !== kind) {
        res.kind = Kind.WRITE; // a mixed multi-statement text goes where a write goes
      }
      res.flags |= st.flags;
      res.statements++;
    }
    st.reset();
  }
}

const shared = new Classifier();

/**
 * Classifies buf[start..end) into `out` (see Classifier.classify). Uses a module-level
 * classifier: synchronous, so safe for every session of a worker.
 */
export function classify(buf: Uint8Array, start: number, end: number, out: ClassifyResult, digest = true): ClassifyResult {
  return shared.classify(buf, start, end, out, digest);
}
