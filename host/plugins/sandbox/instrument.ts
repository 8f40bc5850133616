// Fuel instrumentation: rewrites a module so that it burns fuel as it runs and traps when the
// fuel runs out. Runs in the primary only (it needs binaryen).
//
// Added to the module:
//   (global $wsx$fuel (mut i64) (i64.const <initial fuel>))   exported as "wsx_fuel"
//   (func (export "wsx_fuel_set") (param f64)) and (func (export "wsx_fuel_get") (result f64))
//   a charge at every function entry and every loop header:
//     (global.set $wsx$fuel (i64.sub (global.get $wsx$fuel) (i64.const <cost>)))
//     (if (i64.lt_s (global.get $wsx$fuel) (i64.const 0)) (then (unreachable)))
//   memory.grow's delta, and memory.fill / memory.copy / memory.init's size, wrapped in a call to
//   a helper that charges in proportion and returns its argument unchanged.
//
// Cost model (units are "fuel"; fuel.ts converts them to milliseconds):
//   A function body, and each loop body, is a *region*: the expressions reachable from its entry
//   without entering a nested loop. Control flow inside a region only goes forward (the only
//   back edges in WebAssembly are branches to a loop header, and every loop is its own region),
//   so each expression of a region runs at most once per entry into it. The charge at a
//   region's entry is therefore the sum of its expressions' costs (expression-kinds.ts: 1 for
//   most, 0 for local.get/const/drop/block/nop, 10 for div/rem/sqrt; an upper bound on the work
//   the region does, exact for straight-line code) plus a fixed overhead for the check itself
//   and the call or back edge. Calls are charged again in the callee's entry.
//   Bulk memory costs 1 unit per 2^BULK_BYTES_PER_UNIT_LOG2 bytes (+1); memory.grow costs
//   GROW_PAGE_COST per page asked for (at most the memory's maximum), whether or not it succeeds.
// Nothing else changes: the rewritten module computes the same results as the original as long
// as the fuel lasts.

import { PluginRejected } from './errors.js';
import { expressionIdNames, type Binaryen, type BinaryenModule, type Ref } from './binaryen-view.js';
import { knownKinds, type KindSpec, type SizedOperand } from './expression-kinds.js';
import { FUEL_EXPORT, FUEL_SET_EXPORT, FUEL_GET_EXPORT, BULK_BYTES_PER_UNIT_LOG2, GROW_PAGE_COST, FUNCTION_ENTRY_COST, LOOP_ITERATION_COST } from './fuel.js';

export interface InstrumentOptions {
  /** Fuel the global starts with: what the start function and any call made before the host's first setFuel() may burn. */
  initialFuel: number;
  /** The memory's declared maximum: a memory.grow is charged for at most this many pages (a bigger one fails anyway). */
  memoryMaxPages: number;
}

export interface InstrumentResult {
  bytes: Uint8Array;
  /** Functions defined in the module (each got an entry charge). */
  functions: number;
  /** Loops found (each got a header charge). */
  loops: number;
  /** memory.grow / memory.fill / memory.copy / memory.init sites charged by size. */
  sizedOps: number;
}

/** WebAssembly features binaryen reads and writes for a plugin; the walker refuses the instructions of anything else. */
function sandboxFeatures(b: Binaryen): number {
  const F = b.Features;
  return (
    F.MutableGlobals |
    F.NontrappingFPToInt |
    F.SignExt |
    F.BulkMemory |
    F.BulkMemoryOpt |
    F.SIMD128 |
    F.ReferenceTypes |
    F.Multivalue |
    F.TailCall
  );
}

interface Region {
  cost: number;
  /** The loop whose body this region is; 0 for the function body. */
  loop: Ref;
}

interface SizedOp {
  expr: Ref;
  operand: SizedOperand;
}

/** binaryen names functions without a name-section entry by their index. */
function describeFunction(name: string): string {
  return /^\d+$/.test(name) ? `function #${name}` : `function ${name}`;
}

function uniqueName(exists: (name: string) => boolean, base: string): string {
  let name = base;
  for (let i = 1; exists(name); i++) name = `${base}${i}`;
  return name;
}

/** binaryen.js's i64.const takes one (big)int argument; its typings still say (low, high). */
function i64(m: BinaryenModule, value: number): Ref {
  return (m.i64 as unknown as { const(v: bigint): Ref }).const(BigInt(value));
}

/** Instruments `bytes` (already checked by checkModule). Throws PluginRejected for code it will not meter. */
export function instrument(b: Binaryen, bytes: Uint8Array, plugin: string, opts: InstrumentOptions): InstrumentResult {
  let m: BinaryenModule;
  try {
    m = b.readBinaryWithFeatures(bytes, sandboxFeatures(b));
  } catch (err) {
    throw new PluginRejected(plugin, 'feature', `uses WebAssembly features the sandbox does not support (${(err as Error).message})`, {
      cause: err,
    });
  }
  try {
    return rewrite(b, m, plugin, opts);
  } finally {
    m.dispose();
  }
}

/**
 * binaryen.js keeps its options in process-wide state that the AssemblyScript compiler changes
 * (it turns on Stack IR optimization, which makes emitting several times slower). Emit with
 * fixed options, and put back whatever was there.
 */
function emitWithNames(b: Binaryen, m: BinaryenModule): Uint8Array {
  const saved = [b.getDebugInfo(), b.getGenerateStackIR(), b.getOptimizeStackIR()] as const;
  b.setDebugInfo(true); // keep the name section: function names in plugin stack traces
  b.setGenerateStackIR(false);
  b.setOptimizeStackIR(false);
  try {
    return m.emitBinary();
  } finally {
    b.setDebugInfo(saved[0]);
    b.setGenerateStackIR(saved[1]);
    b.setOptimizeStackIR(saved[2]);
  }
}

/** Builds `fuel -= amount; if (fuel < 0) unreachable`. */
function burner(b: Binaryen, m: BinaryenModule, fuel: string): (amount: Ref) => Ref[] {
  return (amount) => [
    m.global.set(fuel, m.i64.sub(m.global.get(fuel, b.i64), amount)),
    m.if(m.i64.lt_s(m.global.get(fuel, b.i64), i64(m, 0)), m.unreachable()),
  ];
}

interface Walk {
  regions: Region[];
  sized: SizedOp[];
}

/** Walks one function body: checks every expression's kind and sums the cost of each region. */
function walkFunction(b: Binaryen, kinds: Map<number, KindSpec>, body: Ref, fail: (reason: string) => never): Walk {
  const regions: Region[] = [{ cost: FUNCTION_ENTRY_COST, loop: 0 }];
  const sized: SizedOp[] = [];
  const children: Ref[] = [];
  const stack: Ref[] = [body];
  const stackRegion: number[] = [0];
  while (stack.length > 0) {
    const expr = stack.pop()!;
    let region = stackRegion.pop()!;
    const id = b.getExpressionId(expr);
    const spec = kinds.get(id);
    if (spec === undefined) {
      const kind = expressionIdNames(b).get(id) ?? `expression kind #${id}`;
      fail(`contains a ${kind} expression, which the sandbox's fuel meter does not know`);
    }
    const why = spec.refuse?.(b, expr);
    if (why !== undefined) fail(`contains an ${why}, which the sandbox does not support`);
    if (spec.loop) {
      region = regions.length;
      regions.push({ cost: LOOP_ITERATION_COST, loop: expr });
    } else {
      regions[region]!.cost += spec.costOf ? spec.costOf(b, expr) : spec.cost;
      if (spec.sized) sized.push({ expr, operand: spec.sized });
    }
    children.length = 0;
    spec.children(b, expr, children);
    for (let i = children.length - 1; i >= 0; i--) {
      const child = children[i]!;
      if (child !== 0) {
        stack.push(child);
        stackRegion.push(region);
      }
    }
  }
  return { regions, sized };
}

/**
 * Adds `(func $name (param i32) (result i32))` charging for its argument and returning it, to
 * wrap around a size operand. Added after the walk, so not itself instrumented (no loops).
 */
function addChargeHelper(b: Binaryen, m: BinaryenModule, burn: (amount: Ref) => Ref[], unit: SizedOperand['unit'], maxPages: number): string {
  const name = uniqueName((n) => m.getFunction(n) !== 0, `wsx$charge_${unit}`);
  const arg64 = (): Ref => m.i64.extend_u(m.local.get(0, b.i32));
  const amount =
    unit === 'bytes'
      ? m.i64.add(m.i64.shr_u(arg64(), i64(m, BULK_BYTES_PER_UNIT_LOG2)), i64(m, 1))
      : // min(delta, maxPages), unsigned: a grow beyond the maximum fails without growing anything
        m.i64.mul(m.select(m.i32.le_u(m.local.get(0, b.i32), m.i32.const(maxPages)), arg64(), i64(m, maxPages)), i64(m, GROW_PAGE_COST));
  m.addFunction(name, b.i32, b.i32, [], m.block(null, [...burn(amount), m.local.get(0, b.i32)], b.i32));
  return name;
}

/** The fuel global, exported, with its f64 accessors. */
function addFuelExports(b: Binaryen, m: BinaryenModule, fuel: string, initialFuel: number): void {
  m.addGlobal(fuel, b.i64, true, i64(m, initialFuel));
  m.addGlobalExport(fuel, FUEL_EXPORT);
  // Setting an i64 global from JS costs ~15-30 ns (a BigInt through the WebAssembly.Global API);
  // calling an export with an f64 costs ~3 ns. f64 is exact up to 2^53 units.
  const setter = uniqueName((n) => m.getFunction(n) !== 0, 'wsx$fuel_set');
  const getter = uniqueName((n) => m.getFunction(n) !== 0, 'wsx$fuel_get');
  m.addFunction(setter, b.f64, b.none, [], m.global.set(fuel, m.i64.trunc_s_sat.f64(m.local.get(0, b.f64))));
  m.addFunction(getter, b.none, b.f64, [], m.f64.convert_s.i64(m.global.get(fuel, b.i64)));
  m.addFunctionExport(setter, FUEL_SET_EXPORT);
  m.addFunctionExport(getter, FUEL_GET_EXPORT);
}

function rewrite(b: Binaryen, m: BinaryenModule, plugin: string, opts: InstrumentOptions): InstrumentResult {
  const kinds = knownKinds(b);
  const fuel = uniqueName((n) => m.getGlobal(n) !== 0, 'wsx$fuel');
  const burn = burner(b, m, fuel);
  const prepend = (cost: number, body: Ref): Ref => m.block(null, [...burn(i64(m, cost)), body], b.auto);

  let functions = 0;
  let loops = 0;
  const sized: SizedOp[] = [];
  const count = m.getNumFunctions();
  for (let f = 0; f < count; f++) {
    const func = m.getFunctionByIndex(f);
    const info = b.getFunctionInfo(func);
    if (info.module !== null && info.module !== '') continue; // an import
    functions++;
    const walk = walkFunction(b, kinds, info.body, (reason) => {
      throw new PluginRejected(plugin, 'instruction', `${describeFunction(info.name)} ${reason}`);
    });
    for (const r of walk.regions) {
      if (r.loop === 0) b.Function.setBody(func, prepend(r.cost, b.Function.getBody(func)));
      else {
        loops++;
        b.Loop.setBody(r.loop, prepend(r.cost, b.Loop.getBody(r.loop)));
      }
    }
    sized.push(...walk.sized);
  }

  const helpers = new Map<SizedOperand['unit'], string>();
  for (const { expr, operand } of sized) {
    let helper = helpers.get(operand.unit);
    if (helper === undefined) {
      helper = addChargeHelper(b, m, burn, operand.unit, opts.memoryMaxPages);
      helpers.set(operand.unit, helper);
    }
    operand.set(b, expr, m.call(helper, [operand.get(b, expr)], b.i32));
  }
  addFuelExports(b, m, fuel, opts.initialFuel);

  // V8's validator, not binaryen's (3-5x slower here), is the judge of the output.
  const out = emitWithNames(b, m);
  if (!WebAssembly.validate(out as Uint8Array<ArrayBuffer>)) {
    throw new PluginRejected(plugin, 'internal', 'the instrumented module fails WebAssembly.validate (a sandbox bug; please report it)');
  }
  return { bytes: out, functions, loops, sizedOps: sized.length };
}
