// Checks a plugin module's declarations against the sandbox rules before it is instrumented:
// what it may import, its memory and its tables. The code itself is checked by the
// instrumenter (instrument.ts), which refuses instructions it does not know.

import { PluginRejected } from './errors.js';
import { readLayout, withMemoryMaximum, type ModuleLayout } from './wasm-sections.js';
import { FUEL_EXPORT } from './fuel.js';

/** Import modules the sandbox provides, and for `env` the only names it provides. */
export const ALLOWED_IMPORT_MODULES: readonly string[] = ['wasmscale_v1', 'extism:host/env'];
export const ALLOWED_ENV_IMPORTS: readonly string[] = ['abort', 'trace', 'seed'];

/**
 * The functions the host provides in each allowed module (ABI.md §8; the Extism 1.0.3 kernel's,
 * kernel.ts KERNEL_FUNCTIONS, which a unit test keeps equal). A name outside these lists is
 * refused here, with the same message as a refused module, instead of failing at link time.
 */
export const PROVIDED_IMPORTS: Readonly<Record<string, readonly string[]>> = {
  wasmscale_v1: ['log', 'metric_add', 'clock_ms'],
  'extism:host/env': [
    'alloc', 'free', 'load_u8', 'load_u64', 'store_u8', 'store_u64', 'input_offset', 'input_length',
    'input_load_u8', 'input_load_u64', 'output_set', 'error_set', 'config_get', 'var_get', 'var_set',
    'http_request', 'http_status_code', 'length', 'length_unsafe', 'log_warn', 'log_info', 'log_debug', 'log_error',
  ],
  env: ALLOWED_ENV_IMPORTS,
};

/** Largest declared initial size of a table, in entries (tables cannot grow: table.grow is refused). */
export const MAX_TABLE_ENTRIES = 65_536;

/** A wasm32 page (64 KiB). */
export const WASM_PAGE_BYTES = 65_536;

export interface MemoryLimits {
  /** The plugin's memory quota in 64 KiB pages. */
  maxMemoryPages: number;
}

export interface CheckedModule {
  /** The input bytes, or a copy whose memory declares `memoryMaxPages` as its maximum. */
  bytes: Uint8Array;
  memoryInitialPages: number;
  memoryMaxPages: number;
  /** True when the module declared no maximum and the quota was written in. */
  memoryMaxRewritten: boolean;
}

function importAllowed(module: string, name: string): boolean {
  return Object.hasOwn(PROVIDED_IMPORTS, module) && PROVIDED_IMPORTS[module]!.includes(name);
}

/** Throws PluginRejected unless `bytes` is a module the sandbox can run within `limits`. */
export function checkModule(bytes: Uint8Array, limits: MemoryLimits, plugin: string): CheckedModule {
  const quota = limits.maxMemoryPages;
  if (!Number.isInteger(quota) || quota < 1 || quota > 65_536) {
    throw new RangeError(`maxMemoryPages must be an integer in 1..65536, got ${quota}`);
  }
  if (!WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) {
    throw new PluginRejected(plugin, 'invalid', 'is not a valid WebAssembly module (WebAssembly.validate failed)');
  }
  let layout: ModuleLayout;
  try {
    layout = readLayout(bytes);
  } catch (err) {
    throw new PluginRejected(plugin, 'invalid', `cannot read the module's sections: ${(err as Error).message}`, { cause: err });
  }

  // Names are checked for functions (the non-function imports of provided modules are refused next).
  const refused = layout.imports.filter((i) =>
    !(i.kind === 'function' ? importAllowed(i.module, i.name) : Object.hasOwn(PROVIDED_IMPORTS, i.module)));
  if (refused.length > 0) {
    const names = refused.map((i) => `${i.module}.${i.name}`).join(', ');
    // A name missing from a module the host does provide: say what that module has.
    const known = [...new Set(refused.map((i) => i.module))].filter((m) => m !== 'env' && Object.hasOwn(PROVIDED_IMPORTS, m));
    const hint = known.map((m) => `; ${m} provides ${PROVIDED_IMPORTS[m]!.join(', ')}`).join('');
    throw new PluginRejected(plugin, 'import', `imports ${names}, which the sandbox does not provide${hint}`);
  }
  const nonFunction = layout.imports.filter((i) => i.kind !== 'function');
  if (nonFunction.length > 0) {
    const names = nonFunction.map((i) => `${i.module}.${i.name} (${i.kind})`).join(', ');
    throw new PluginRejected(plugin, 'import', `imports ${names}; the sandbox provides only functions`);
  }

  const reserved = layout.exports.find((e) => e.name.startsWith(FUEL_EXPORT));
  if (reserved) {
    throw new PluginRejected(plugin, 'export', `exports ${reserved.name}; names starting with ${FUEL_EXPORT} are reserved for the sandbox's fuel counter`);
  }

  for (const [i, t] of layout.tables.entries()) {
    if (t.refType === 0 || t.limits === undefined) {
      throw new PluginRejected(plugin, 'table', `table ${i} uses a typed-reference encoding the sandbox does not support`);
    }
    if (t.limits.is64 || t.limits.shared) {
      throw new PluginRejected(plugin, 'table', `table ${i} is 64-bit or shared, which the sandbox does not support`);
    }
    if (t.limits.initial > MAX_TABLE_ENTRIES) {
      throw new PluginRejected(plugin, 'table', `table ${i} declares ${t.limits.initial} entries, above the sandbox limit of ${MAX_TABLE_ENTRIES}`);
    }
  }

  if (layout.memories.length === 0) {
    throw new PluginRejected(plugin, 'memory', 'defines no memory; a plugin must define and export its memory');
  }
  if (layout.memories.length > 1) {
    throw new PluginRejected(plugin, 'memory', `defines ${layout.memories.length} memories; the sandbox supports one`);
  }
  const memory = layout.memories[0]!;
  if (memory.shared) throw new PluginRejected(plugin, 'memory', 'declares a shared memory, which the sandbox does not support');
  if (memory.is64) throw new PluginRejected(plugin, 'memory', 'declares a 64-bit memory, which the sandbox does not support');
  if (memory.customPageSize) throw new PluginRejected(plugin, 'memory', 'declares a custom page size, which the sandbox does not support');
  if (!layout.exports.some((e) => e.kind === 'memory' && e.index === 0)) {
    throw new PluginRejected(plugin, 'memory', 'does not export its memory');
  }
  if (memory.initial > quota) {
    throw new PluginRejected(plugin, 'memory', `memory starts at ${memory.initial} pages, above its quota of ${quota} pages`);
  }
  if (memory.max !== undefined) {
    if (memory.max > quota) {
      throw new PluginRejected(plugin, 'memory', `memory declares a maximum of ${memory.max} pages, above its quota of ${quota} pages`);
    }
    return { bytes, memoryInitialPages: memory.initial, memoryMaxPages: memory.max, memoryMaxRewritten: false };
  }
  return {
    bytes: withMemoryMaximum(bytes, quota),
    memoryInitialPages: memory.initial,
    memoryMaxPages: quota,
    memoryMaxRewritten: true,
  };
}
