// prepareModule(): the one entry point the plugin loader calls, in the primary, for every
// plugin module it is about to run: check it against the sandbox rules, then instrument it with
// the CPU budget. Workers receive the returned bytes and never load binaryen.

import { performance } from 'node:perf_hooks';
import { loadBinaryen } from './binaryen-view.js';
import { checkModule, type MemoryLimits } from './validate.js';
import { instrument } from './instrument.js';
import { DEFAULT_INITIAL_FUEL } from './fuel.js';

export interface PrepareReport {
  /** Functions defined in the module (all instrumented). */
  functions: number;
  /** Loop headers instrumented. */
  loops: number;
  /** Wall time of check + instrumentation, without the one-time binaryen load. */
  instrumentMs: number;
  originalSize: number;
  size: number;
  /** The memory maximum the prepared module declares (its own, or the quota written in). */
  memoryMaxPages: number;
  /** True when the module declared no maximum and the quota was written in. */
  memoryMaxRewritten: boolean;
}

export interface PreparedModule {
  /** The instrumented module; it exports `wsx_fuel` (see fuel.ts). */
  bytes: Uint8Array;
  report: PrepareReport;
}

export interface PrepareOptions {
  /** Used in rejection messages: "plugin <name>: ...". */
  name?: string;
  /** Fuel available to the start function and to calls made before the host first sets the fuel. */
  initialFuel?: number;
}

/** The default memory quota (sdk/ABI.md §2): 256 pages = 16 MiB. */
export const DEFAULT_MAX_MEMORY_PAGES = 256;

/**
 * Checks and instruments a plugin module. Rejects with PluginRejected (message naming what is
 * wrong) if the module imports anything but wasmscale_v1.*, extism:host/env.* and
 * env.abort/trace/seed; has no exported memory, several, a shared or 64-bit one, or one whose
 * initial size or declared maximum is above `limits.maxMemoryPages`; or contains an instruction
 * the fuel meter does not know. A memory without a declared maximum gets the quota as maximum.
 *
 * Async because binaryen is an ES module with top-level await: the first call loads it
 * (~350 ms, ~110 MB); later calls only instrument.
 */
export async function prepareModule(
  bytes: Uint8Array,
  limits: MemoryLimits,
  options: PrepareOptions = {},
): Promise<PreparedModule> {
  const name = options.name ?? 'plugin';
  // Checks that need no binaryen come first, so a refused module never loads it.
  const started = performance.now();
  const checked = checkModule(bytes, limits, name);
  const checkMs = performance.now() - started;
  const b = await loadBinaryen();
  const t0 = performance.now();
  const result = instrument(b, checked.bytes, name, {
    initialFuel: options.initialFuel ?? DEFAULT_INITIAL_FUEL,
    memoryMaxPages: checked.memoryMaxPages,
  });
  const instrumentMs = checkMs + (performance.now() - t0);
  return {
    bytes: result.bytes,
    report: {
      functions: result.functions,
      loops: result.loops,
      instrumentMs,
      originalSize: bytes.length,
      size: result.bytes.length,
      memoryMaxPages: checked.memoryMaxPages,
      memoryMaxRewritten: checked.memoryMaxRewritten,
    },
  };
}

/** Loads binaryen ahead of the first prepareModule() call (e.g. while the primary starts). */
export async function warmUpInstrumenter(): Promise<void> {
  await loadBinaryen();
}
