// The host side of the CPU budget: set a plugin instance's fuel before each call, read what is
// left, tell a fuel trap from other traps, convert milliseconds to fuel.
//
// This file does not import binaryen; workers use it on instances of instrumented modules.
//
// Protocol: an instrumented module has a mutable i64 fuel global, exported as `wsx_fuel`, with
// two exported accessors, `wsx_fuel_set(f64)` and `wsx_fuel_get() -> f64` (an f64 argument
// costs ~3 ns to pass; writing the i64 global through the JS API costs ~30 ns, a BigInt).
// Before every call into the instance (hot-path hooks and Extism lifecycle calls alike) the
// host sets the fuel to the call's budget. Running code subtracts from it and executes
// `unreachable` as soon as it goes below zero, so a call that runs out throws a
// WebAssembly.RuntimeError ("unreachable") and leaves the fuel negative; that is how
// classifyTrap() tells a fuel trap from the plugin's own traps.
//
// After ANY trap (fuel, stack overflow, the plugin's own unreachable or abort) the instance
// must be dropped and a new one instantiated from the compiled module: the trap unwound the
// plugin's code mid-way, so its runtime state (allocator, shadow stack, globals) is undefined.

/** Name of the exported fuel global added by the instrumenter. */
export const FUEL_EXPORT = 'wsx_fuel';
/** Exported `(func (param f64))` that sets the fuel (truncated, saturating). */
export const FUEL_SET_EXPORT = 'wsx_fuel_set';
/** Exported `(func (result f64))` that reads the fuel. */
export const FUEL_GET_EXPORT = 'wsx_fuel_get';

// ---- cost model constants (used by instrument.ts; see its header) ----

/** Fixed charge at every function entry (the call, the return, the check), on top of the body's cost. */
export const FUNCTION_ENTRY_COST = 4;
/** Fixed charge at every loop iteration (the back edge, the check), on top of the loop body's cost. */
export const LOOP_ITERATION_COST = 3;
/**
 * memory.fill / memory.copy / memory.init: 1 unit per 2^N bytes, plus 1. One unit per 4 bytes,
 * as if by a loop storing one i32 per unit (a real loop costs ~4x that). Fills larger than the
 * caches run at memory bandwidth (~32 GB/s here: ~8 M units/ms at this rate, within the range
 * of ordinary loops); cached ones faster (64 KiB: ~27 M units/ms).
 */
export const BULK_BYTES_PER_UNIT_LOG2 = 2;
/**
 * memory.grow: units per 64 KiB page asked for (at most the memory's maximum), 4x the cost of
 * filling the page: it stands for the page faults of the page's first touch on an ordinary
 * Linux machine (~10 µs). On the development VM a first touch measured ~230 µs per 64 KiB
 * page, which the meter does not see; that cost is paid once per page per instance, so the
 * memory quota bounds it (256 pages ≈ 60 ms there).
 */
export const GROW_PAGE_COST = 65_536;

// ---- calibration ----

/**
 * Fuel units per millisecond of CPU. Measured by bench/plugin-fuel.ts on the development
 * machine (AMD EPYC, 2 vCPUs, Node 20.20 / V8 11.3, warm optimized code, in a process that has
 * not loaded binaryen): tight loops burn between 4-7 M units/ms (call-heavy recursion, over
 * several runs) and ~21 M units/ms (string building, whose memory.copy is charged by size),
 * median ~10 M; the empty `(loop br 0)` ~10 M. See bench/README.md for each loop. The figure
 * is set near the slowest burner, so that a budget bounds the CPU time of a loop of any of
 * these kinds (the fastest burners run out after a quarter to a half of it). It is a property of the cost model and the
 * CPU: re-run the bench on another machine class and adjust.
 */
export const FUEL_UNITS_PER_MS = 5_500_000;

/** Default per-call CPU budget. */
export const DEFAULT_CPU_BUDGET_MS = 2;

/** Fuel for `ms` milliseconds of CPU (rounded up; at least 1). */
export function fuelForMs(ms: number, unitsPerMs: number = FUEL_UNITS_PER_MS): number {
  if (!(ms >= 0) || !(unitsPerMs > 0)) throw new RangeError(`fuelForMs: bad arguments ${ms}, ${unitsPerMs}`);
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(1, Math.ceil(ms * unitsPerMs)));
}

/** Milliseconds of CPU that `units` of fuel stand for. */
export function msForFuel(units: number, unitsPerMs: number = FUEL_UNITS_PER_MS): number {
  return units / unitsPerMs;
}

/** Fuel the global holds right after instantiation (for the start function and `_initialize`). */
export const DEFAULT_INITIAL_FUEL = fuelForMs(100);

// ---- per-instance API ----

type Instanceish = WebAssembly.Instance | WebAssembly.Exports;

interface FuelExports {
  set: (units: number) => void;
  get: () => number;
}

function fuelExports(target: Instanceish): FuelExports {
  const exports = target instanceof WebAssembly.Instance ? target.exports : target;
  const set = exports[FUEL_SET_EXPORT];
  const get = exports[FUEL_GET_EXPORT];
  if (typeof set !== 'function' || typeof get !== 'function') {
    throw new Error(`instance has no ${FUEL_SET_EXPORT}/${FUEL_GET_EXPORT}: the module was not prepared by the sandbox`);
  }
  return { set: set as FuelExports['set'], get: get as FuelExports['get'] };
}

/** Sets the fuel for the next call. Looks the export up each time; a FuelMeter caches it. */
export function setFuel(target: Instanceish, units: number): void {
  fuelExports(target).set(units);
}

/** Fuel left (negative after a fuel trap). */
export function fuelLeft(target: Instanceish): number {
  return fuelExports(target).get();
}

export class FuelExhausted extends Error {
  override readonly name = 'FuelExhausted';
  constructor(
    readonly budget: number,
    options?: { cause?: unknown },
  ) {
    super(`plugin call ran out of fuel (budget ${budget} units ≈ ${msForFuel(budget).toFixed(2)} ms of CPU)`, options);
  }
}

/** fuel: ran out of fuel. stack: call stack overflow. trap: any other wasm trap. host: a JS exception from an import. */
export type TrapKind = 'fuel' | 'stack' | 'trap' | 'host';

export function classifyTrap(err: unknown, fuelLeftNow: number): TrapKind {
  if (err instanceof WebAssembly.RuntimeError) return fuelLeftNow < 0 ? 'fuel' : 'trap';
  if (err instanceof RangeError && /call stack/i.test(err.message)) return 'stack';
  return 'host';
}

/** A per-instance handle with the fuel exports looked up once: refill() is one ~3 ns wasm call. */
export interface FuelMeter {
  readonly budget: number;
  /** Sets the fuel to the budget; call before every call into the instance. */
  refill(): void;
  /** Sets the fuel to `units` (e.g. a larger budget for a lifecycle call). */
  set(units: number): void;
  /** Fuel left (negative after a fuel trap). */
  left(): number;
  /** Fuel burned since the last refill()/set() (more than was set after a fuel trap). */
  used(): number;
  exhausted(): boolean;
  /** What an exception thrown by a call into the instance was. */
  classify(err: unknown): TrapKind;
  /** A FuelExhausted for a fuel trap (with the original as cause), else `err` unchanged. */
  explain(err: unknown): unknown;
}

export function createFuelMeter(target: Instanceish, budget: number = fuelForMs(DEFAULT_CPU_BUDGET_MS)): FuelMeter {
  const { set, get } = fuelExports(target);
  let lastSet = budget;
  return {
    budget,
    refill(): void {
      set(budget);
      lastSet = budget;
    },
    set(units: number): void {
      set(units);
      lastSet = units;
    },
    left: get,
    used: () => lastSet - get(),
    exhausted: () => get() < 0,
    classify: (err) => classifyTrap(err, get()),
    explain(err: unknown): unknown {
      return classifyTrap(err, get()) === 'fuel' ? new FuelExhausted(lastSet, { cause: err }) : err;
    },
  };
}
