// What the classifier remembers about the statement it is reading (one of possibly several in a
// multi-statement text). Reset per statement; never reallocated.
import { Flag } from './flags.js';

/** SET parsing states. */
export const SET_NONE = 0;
/** Expecting an assignment target (after SET or a top-level comma). */
export const SET_TARGET = 1;
/** After a target, expecting `=` or `:=`. */
export const SET_EQ = 2;
/** The first token of the value. */
export const SET_VALUE = 3;
/** Rest of the value, up to a top-level comma. */
export const SET_REST = 4;

/** Number of leading tokens remembered (keyword ids; 0 an identifier, -1 anything else). */
export const HEAD = 8;

export class StatementState {
  /** Significant tokens seen (leading parentheses excluded). */
  ntok = 0;
  readonly head = new Int32Array(HEAD);
  flags = 0;
  depth = 0;
  /** Keyword ids of the previous two tokens (0 identifier, -1 not a word). */
  prev1 = -1;
  prev2 = -1;
  /** A user variable waiting for the next token (`:=` makes it a write). */
  pendingVar = false;
  /** A routing-relevant function name waiting for its `(`. */
  pendingFunc = 0;
  /** END inside a compound statement, waiting to see END IF / END LOOP / ... */
  pendingEnd = false;
  /** CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT/PACKAGE, BEGIN NOT ATOMIC: ';' inside BEGIN..END does not end it. */
  compound = false;
  block = 0;
  /** A '(' was seen in this statement. */
  parenSeen = false;
  /** First top-level DML keyword after WITH. */
  withMain = 0;
  readOnly = false;
  chain = false;
  sawTo = false;
  sawFrom = false;
  outfile = false;
  /** Inside SELECT ... INTO @a, @b: the variables are written. */
  intoVars = false;
  seqWrite = false;
  set = SET_NONE;
  setGlobal = false;
  /** The current SET target is autocommit. */
  autocommitTarget = false;
  /** Its value so far: 1 on, 0 off, -1 none or not a constant. */
  autocommitValue = -1;
  /** SET STATEMENT ... FOR: skipping to FOR, then the inner statement restarts the head. */
  setStatement = false;

  reset(): void {
    this.ntok = 0;
    this.head[0] = -2; // entries at and beyond ntok are never read
    this.flags = 0;
    this.depth = 0;
    this.prev1 = -1;
    this.prev2 = -1;
    this.pendingVar = false;
    this.pendingFunc = 0;
    this.pendingEnd = false;
    this.compound = false;
    this.block = 0;
    this.parenSeen = false;
    this.withMain = 0;
    this.readOnly = false;
    this.chain = false;
    this.sawTo = false;
    this.sawFrom = false;
    this.outfile = false;
    this.intoVars = false;
    this.seqWrite = false;
    this.set = SET_NONE;
    this.setGlobal = false;
    this.autocommitTarget = false;
    this.autocommitValue = -1;
    this.setStatement = false;
  }

  /** At the end of an assignment: a constant autocommit value becomes its flag. */
  commitAutocommit(): void {
    if (this.autocommitValue === 1) this.flags |= Flag.AUTOCOMMIT_ON;
    else if (this.autocommitValue === 0) this.flags |= Flag.AUTOCOMMIT_OFF;
    this.autocommitValue = -1;
  }

  /** Whether one of head[from..] is `kw`. */
  headHas(kw: number, from = 1): boolean {
    const n = this.ntok < HEAD ? this.ntok : HEAD;
    for (let i = from; i < n; i++) if (this.head[i] === kw) return true;
    return false;
  }

  /** The first of `kws` among head[1..], or 0. */
  headFirst(kws: readonly number[]): number {
    const n = this.ntok < HEAD ? this.ntok : HEAD;
    for (let i = 1; i < n; i++) if (kws.includes(this.head[i]!)) return this.head[i]!;
    return 0;
  }
}
