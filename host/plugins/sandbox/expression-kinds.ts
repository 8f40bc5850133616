// The expression kinds the fuel meter knows, keyed by binaryen's expression ids.
//
// The instrumenter walks every function body and refuses the module if it meets an id that is
// not in this table, so an instruction added to WebAssembly (or to binaryen) later cannot slip
// past the meter: it is refused until someone decides here how to walk and charge it.
//
// For each kind: how to reach its children (every child must be listed, or a loop inside it
// would go unmetered), the fuel it costs, and whether it needs a charge of its own.

import type { Binaryen, Ref } from './binaryen-view.js';

/** An operand whose value is charged for before the operation runs: pages for memory.grow, bytes for bulk memory. */
export interface SizedOperand {
  unit: 'pages' | 'bytes';
  get(b: Binaryen, expr: Ref): Ref;
  set(b: Binaryen, expr: Ref, value: Ref): void;
}

export interface KindSpec {
  /** Text-format name, for messages. */
  name: string;
  /**
   * Static fuel cost of one execution: 1 for most; 0 for what compiles to no code of its own
   * (blocks, nop, local.get, constants, drop); EXPENSIVE_OP_COST for divisions, remainders and
   * square roots (see knownKinds).
   */
  cost: number;
  /** Cost depending on the expression (overrides `cost`). */
  costOf?(b: Binaryen, expr: Ref): number;
  /** Pushes the expression's children (0 = absent optional child, skipped by the walker). */
  children(b: Binaryen, expr: Ref, out: Ref[]): void;
  /** A loop header: its body is a region of its own, charged on every iteration. */
  loop?: true;
  /** memory.grow's delta, memory.fill/copy/init's size. */
  sized?: SizedOperand;
  /** Returns why this particular expression is refused, if it is (e.g. an atomic load). */
  refuse?(b: Binaryen, expr: Ref): string | undefined;
}

const none = (): void => {};

/** Keys are binaryen.js expression id names without the `Id` suffix (`Loop` -> binaryen.LoopId). */
const KNOWN: Record<string, KindSpec> = {
  Nop: { name: 'nop', cost: 0, children: none },
  Unreachable: { name: 'unreachable', cost: 1, children: none },
  Block: { name: 'block', cost: 0, children: (b, e, o) => void o.push(...b.Block.getChildren(e)) },
  If: { name: 'if', cost: 1, children: (b, e, o) => void o.push(b.If.getCondition(e), b.If.getIfTrue(e), b.If.getIfFalse(e)) },
  Loop: { name: 'loop', cost: 0, loop: true, children: (b, e, o) => void o.push(b.Loop.getBody(e)) },
  Break: { name: 'br', cost: 1, children: (b, e, o) => void o.push(b.Break.getCondition(e), b.Break.getValue(e)) },
  Switch: { name: 'br_table', cost: 1, children: (b, e, o) => void o.push(b.Switch.getCondition(e), b.Switch.getValue(e)) },
  Call: { name: 'call', cost: 1, children: (b, e, o) => void o.push(...b.Call.getOperands(e)) },
  CallIndirect: {
    name: 'call_indirect',
    cost: 1,
    children: (b, e, o) => void o.push(b.CallIndirect.getTarget(e), ...b.CallIndirect.getOperands(e)),
  },
  Return: { name: 'return', cost: 1, children: (b, e, o) => void o.push(b.Return.getValue(e)) },
  Drop: { name: 'drop', cost: 0, children: (b, e, o) => void o.push(b.Drop.getValue(e)) },
  Select: {
    name: 'select',
    cost: 1,
    children: (b, e, o) => void o.push(b.Select.getIfTrue(e), b.Select.getIfFalse(e), b.Select.getCondition(e)),
  },
  LocalGet: { name: 'local.get', cost: 0, children: none },
  LocalSet: { name: 'local.set', cost: 1, children: (b, e, o) => void o.push(b.LocalSet.getValue(e)) },
  GlobalGet: { name: 'global.get', cost: 1, children: none },
  GlobalSet: { name: 'global.set', cost: 1, children: (b, e, o) => void o.push(b.GlobalSet.getValue(e)) },
  Const: { name: 'const', cost: 0, children: none },
  Unary: { name: 'unary', cost: 1, children: (b, e, o) => void o.push(b.Unary.getValue(e)) },
  Binary: { name: 'binary', cost: 1, children: (b, e, o) => void o.push(b.Binary.getLeft(e), b.Binary.getRight(e)) },
  Load: {
    name: 'load',
    cost: 1,
    children: (b, e, o) => void o.push(b.Load.getPtr(e)),
    refuse: (b, e) => (b.Load.isAtomic(e) ? 'atomic load' : undefined),
  },
  Store: {
    name: 'store',
    cost: 1,
    children: (b, e, o) => void o.push(b.Store.getPtr(e), b.Store.getValue(e)),
    refuse: (b, e) => (b.Store.isAtomic(e) ? 'atomic store' : undefined),
  },
  MemorySize: { name: 'memory.size', cost: 1, children: none },
  MemoryGrow: {
    name: 'memory.grow',
    cost: 1,
    children: (b, e, o) => void o.push(b.MemoryGrow.getDelta(e)),
    sized: { unit: 'pages', get: (b, e) => b.MemoryGrow.getDelta(e), set: (b, e, v) => b.MemoryGrow.setDelta(e, v) },
  },
  MemoryFill: {
    name: 'memory.fill',
    cost: 1,
    sized: { unit: 'bytes', get: (b, e) => b.MemoryFill.getSize(e), set: (b, e, v) => b.MemoryFill.setSize(e, v) },
    children: (b, e, o) => void o.push(b.MemoryFill.getDest(e), b.MemoryFill.getValue(e), b.MemoryFill.getSize(e)),
  },
  MemoryCopy: {
    name: 'memory.copy',
    cost: 1,
    sized: { unit: 'bytes', get: (b, e) => b.MemoryCopy.getSize(e), set: (b, e, v) => b.MemoryCopy.setSize(e, v) },
    children: (b, e, o) => void o.push(b.MemoryCopy.getDest(e), b.MemoryCopy.getSource(e), b.MemoryCopy.getSize(e)),
  },
  MemoryInit: {
    name: 'memory.init',
    cost: 1,
    sized: { unit: 'bytes', get: (b, e) => b.MemoryInit.getSize(e), set: (b, e, v) => b.MemoryInit.setSize(e, v) },
    children: (b, e, o) => void o.push(b.MemoryInit.getDest(e), b.MemoryInit.getOffset(e), b.MemoryInit.getSize(e)),
  },
  DataDrop: { name: 'data.drop', cost: 1, children: none },
  SIMDExtract: { name: 'simd extract_lane', cost: 1, children: (b, e, o) => void o.push(b.SIMDExtract.getVec(e)) },
  SIMDReplace: {
    name: 'simd replace_lane',
    cost: 1,
    children: (b, e, o) => void o.push(b.SIMDReplace.getVec(e), b.SIMDReplace.getValue(e)),
  },
  SIMDShuffle: {
    name: 'i8x16.shuffle',
    cost: 1,
    children: (b, e, o) => void o.push(b.SIMDShuffle.getLeft(e), b.SIMDShuffle.getRight(e)),
  },
  SIMDTernary: {
    name: 'simd ternary',
    cost: 1,
    children: (b, e, o) => void o.push(b.SIMDTernary.getA(e), b.SIMDTernary.getB(e), b.SIMDTernary.getC(e)),
  },
  SIMDShift: { name: 'simd shift', cost: 1, children: (b, e, o) => void o.push(b.SIMDShift.getVec(e), b.SIMDShift.getShift(e)) },
  SIMDLoad: { name: 'v128 load', cost: 1, children: (b, e, o) => void o.push(b.SIMDLoad.getPtr(e)) },
  SIMDLoadStoreLane: {
    name: 'v128 load/store lane',
    cost: 1,
    children: (b, e, o) => void o.push(b.SIMDLoadStoreLane.getPtr(e), b.SIMDLoadStoreLane.getVec(e)),
  },
  RefNull: { name: 'ref.null', cost: 1, children: none },
  RefIsNull: { name: 'ref.is_null', cost: 1, children: (b, e, o) => void o.push(b.RefIsNull.getValue(e)) },
  RefFunc: { name: 'ref.func', cost: 1, children: none },
  TableGet: { name: 'table.get', cost: 1, children: (b, e, o) => void o.push(b.TableGet.getIndex(e)) },
  TableSet: { name: 'table.set', cost: 1, children: (b, e, o) => void o.push(b.TableSet.getIndex(e), b.TableSet.getValue(e)) },
  TableSize: { name: 'table.size', cost: 1, children: none },
  TupleMake: { name: 'tuple.make', cost: 0, children: (b, e, o) => void o.push(...b.TupleMake.getOperands(e)) },
  TupleExtract: { name: 'tuple.extract', cost: 0, children: (b, e, o) => void o.push(b.TupleExtract.getTuple(e)) },
};

/** Integer and float division/remainder and square root take 10-40 cycles, not 1. */
export const EXPENSIVE_OP_COST = 10;
const EXPENSIVE_BINARY = ['DivSInt32', 'DivUInt32', 'RemSInt32', 'RemUInt32', 'DivSInt64', 'DivUInt64', 'RemSInt64', 'RemUInt64', 'DivFloat32', 'DivFloat64'];
const EXPENSIVE_UNARY = ['SqrtFloat32', 'SqrtFloat64'];

/**
 * Kinds deliberately absent (refused): atomics and pause (no shared memory), table.grow /
 * table.fill / table.copy / table.init / elem.drop (tables stay at their declared size),
 * exception handling (try, throw, ...; and its pop), GC, typed function references (call_ref,
 * br_on_*), strings, stack switching, wide arithmetic, and anything binaryen adds later.
 */
export function knownKinds(b: Binaryen): Map<number, KindSpec> {
  const table = new Map<number, KindSpec>();
  const constants = b as unknown as Record<string, unknown>;
  const lookup = (name: string): number => {
    const value = constants[name];
    if (typeof value !== 'number') throw new Error(`binaryen has no ${name}: the sandbox's expression table needs updating`);
    return value;
  };
  for (const [key, spec] of Object.entries(KNOWN)) table.set(lookup(`${key}Id`), spec);
  const binary = new Set(EXPENSIVE_BINARY.map(lookup));
  const unary = new Set(EXPENSIVE_UNARY.map(lookup));
  table.set(lookup('BinaryId'), { ...KNOWN['Binary']!, costOf: (bn, e) => (binary.has(bn.Binary.getOp(e)) ? EXPENSIVE_OP_COST : 1) });
  table.set(lookup('UnaryId'), { ...KNOWN['Unary']!, costOf: (bn, e) => (unary.has(bn.Unary.getOp(e)) ? EXPENSIVE_OP_COST : 1) });
  return table;
}
