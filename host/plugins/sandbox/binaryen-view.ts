// Lazy access to binaryen.js, with local types for the expression wrapper classes its typings
// leave out. Loading binaryen costs ~350 ms and ~110 MB, so only the process that prepares
// modules (the primary) should ever call loadBinaryen(); workers get instrumented bytes.

import type binaryenNamespace from 'binaryen';

/** A binaryen ExpressionRef / FunctionRef: a pointer into binaryen's heap. */
export type Ref = number;
type Get = (expr: Ref) => Ref;
type Set = (expr: Ref, child: Ref) => void;
type Flag = (expr: Ref) => boolean;

/** The static accessors of binaryen.js's expression wrapper classes that the sandbox uses. */
export interface ExpressionAccessors {
  Block: { getChildren(expr: Ref): Ref[] };
  If: { getCondition: Get; getIfTrue: Get; getIfFalse: Get };
  Loop: { getBody: Get; setBody: Set };
  Break: { getCondition: Get; getValue: Get };
  Switch: { getCondition: Get; getValue: Get };
  Call: { getOperands(expr: Ref): Ref[] };
  CallIndirect: { getTarget: Get; getOperands(expr: Ref): Ref[] };
  LocalSet: { getValue: Get };
  GlobalSet: { getValue: Get };
  Load: { getPtr: Get; isAtomic: Flag };
  Store: { getPtr: Get; getValue: Get; isAtomic: Flag };
  SIMDExtract: { getVec: Get };
  SIMDReplace: { getVec: Get; getValue: Get };
  SIMDShuffle: { getLeft: Get; getRight: Get };
  SIMDTernary: { getA: Get; getB: Get; getC: Get };
  SIMDShift: { getVec: Get; getShift: Get };
  SIMDLoad: { getPtr: Get };
  SIMDLoadStoreLane: { getPtr: Get; getVec: Get };
  MemoryInit: { getDest: Get; getOffset: Get; getSize: Get; setSize: Set };
  MemoryCopy: { getDest: Get; getSource: Get; getSize: Get; setSize: Set };
  MemoryFill: { getDest: Get; getValue: Get; getSize: Get; setSize: Set };
  Unary: { getValue: Get; getOp: Get };
  Binary: { getLeft: Get; getRight: Get; getOp: Get };
  Select: { getIfTrue: Get; getIfFalse: Get; getCondition: Get };
  Drop: { getValue: Get };
  Return: { getValue: Get };
  MemoryGrow: { getDelta: Get; setDelta: Set };
  RefIsNull: { getValue: Get };
  TableGet: { getIndex: Get };
  TableSet: { getIndex: Get; getValue: Get };
  TupleMake: { getOperands(expr: Ref): Ref[] };
  TupleExtract: { getTuple: Get };
  Function: { getBody: Get; setBody: Set };
}

export type Binaryen = typeof binaryenNamespace & ExpressionAccessors;
export type BinaryenModule = binaryenNamespace.Module;

let loading: Promise<Binaryen> | undefined;

/** Imports binaryen once per process (~350 ms the first time). */
export function loadBinaryen(): Promise<Binaryen> {
  loading ??= import('binaryen').then((m) => m.default as Binaryen);
  return loading;
}

/** Names of all expression ids binaryen knows (for messages about kinds the sandbox refuses). */
export function expressionIdNames(b: Binaryen): Map<number, string> {
  const names = new Map<number, string>();
  for (const [key, value] of Object.entries(b)) {
    if (key.endsWith('Id') && typeof value === 'number' && key !== 'InvalidId') names.set(value, key.slice(0, -2));
  }
  return names;
}
