// The Extism kernel (`extism:host/env`) of a plugin instance, set up so that an instance can be
// made and its lifecycle calls (describe, configure) run synchronously.
//
// Why: after a trap the slot must put a configured instance in place before the next call, and
// a burst of traps can use up the warm spare (plugin-slot.ts). @extism/extism 1.0.3 only makes
// instances asynchronously (createPlugin → WebAssembly.instantiate), but its calls are
// synchronous underneath: ForegroundPlugin.call() stores the input, pushes a call frame and runs
// the export without awaiting anything. So the host uses Extism's own kernel — its CallContext,
// the object whose `extism:host/env` functions every Extism plugin imports — with
// `new WebAssembly.Instance` and drives the calling convention itself, exactly as
// ForegroundPlugin.call() does (store input, begin, call, end, read the output or error block).
//
// CallContext is not exported as a value: loadKernel() gets the class once per process from a
// probe plugin made through createPlugin (a 60-byte module whose one export calls a host
// function, which Extism binds with the context as first argument), and finds its symbol-keyed
// methods by their descriptions. The package is pinned (1.0.3); loadKernel() refuses to work
// (with a message saying so) if any of that is missing, and test/unit/plugin-kernel.test.ts
// checks it.
//
// Every kernel function is wrapped (KernelGuard): each call checks the host-call deadline, and
// alloc() is charged against the plugin's memory quota (ABI.md §8, §9).
import { loadExtism } from './extism.js';

/** The functions of `extism:host/env` in @extism/extism 1.0.3 (its CallContext's ENV object). */
export const KERNEL_FUNCTIONS: readonly string[] = [
  'alloc', 'free', 'load_u8', 'load_u64', 'store_u8', 'store_u64', 'input_offset', 'input_length',
  'input_load_u8', 'input_load_u64', 'output_set', 'error_set', 'config_get', 'var_get', 'var_set',
  'http_request', 'http_status_code', 'length', 'length_unsafe', 'log_warn', 'log_info', 'log_debug', 'log_error',
];

type AnyFunction = (...args: never[]) => unknown;

interface CallContextLike {
  alloc(size: bigint | number): bigint;
}

interface KernelInternals {
  Ctx: new (type: ArrayBufferConstructor, logger: Console, config: Record<string, string>) => CallContextLike;
  ENV: symbol;
  BEGIN: symbol;
  END: symbol;
  STORE: symbol;
  RESET: symbol;
  GET_BLOCK: symbol;
}

/**
 * (module (import "wsx_probe" "ctx" (func)) (func (export "probe") call 0)): calling `probe`
 * through Extism hands our `ctx` function the plugin's CallContext.
 */
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type 0: () -> ()
  0x02, 0x11, 0x01, 0x09, ...Buffer.from('wsx_probe'), 0x03, ...Buffer.from('ctx'), 0x00, 0x00, // import func 0
  0x03, 0x02, 0x01, 0x00, // func 1: type 0
  0x07, 0x09, 0x01, 0x05, ...Buffer.from('probe'), 0x00, 0x01, // export "probe" = func 1
  0x0a, 0x06, 0x01, 0x04, 0x00, 0x10, 0x00, 0x0b, // body: call 0
]);

let internals: KernelInternals | null = null;
let loading: Promise<void> | null = null;

/** Finds Extism's kernel class (once per process). Must have resolved before Kernel is made. */
export function loadKernel(): Promise<void> {
  loading ??= (async () => {
    const { createPlugin } = await loadExtism();
    let ctx: object | null = null;
    const probe = await createPlugin({ wasm: [{ data: PROBE }] }, {
      useWasi: false,
      runInWorker: false,
      functions: { wsx_probe: { ctx: (c: unknown) => void (ctx = c as object) } },
    });
    try {
      await probe.call('probe');
    } finally {
      await probe.close();
    }
    internals = inspectContext(ctx);
  })();
  loading.catch(() => (loading = null));
  return loading;
}

export function kernelLoaded(): boolean {
  return internals !== null;
}

function inspectContext(ctx: object | null): KernelInternals {
  const fail = (what: string): never => {
    throw new Error(`@extism/extism is not the version wasmscale was written for (1.0.3): ${what}`);
  };
  if (ctx === null) return fail('the probe plugin was not called with a call context');
  const proto = Object.getPrototypeOf(ctx) as object;
  const own = (o: object, description: string): symbol =>
    Object.getOwnPropertySymbols(o).find((s) => s.description === description) ?? fail(`its call context has no [${description}]`);
  const k: KernelInternals = {
    Ctx: proto.constructor as KernelInternals['Ctx'],
    ENV: own(ctx, 'env'),
    BEGIN: own(proto, 'begin'),
    END: own(proto, 'end'),
    STORE: own(proto, 'store-value'),
    RESET: own(proto, 'reset'),
    GET_BLOCK: own(proto, 'get-block'),
  };
  const env = (ctx as Record<symbol, Record<string, unknown>>)[k.ENV]!;
  const missing = KERNEL_FUNCTIONS.filter((n) => typeof env[n] !== 'function');
  if (missing.length > 0) fail(`its kernel lacks ${missing.join(', ')}`);
  if (typeof (ctx as CallContextLike).alloc !== 'function') fail('its call context has no alloc()');
  return k;
}

/** What the host checks on kernel calls (HostEnv implements it). */
export interface KernelGuard {
  /** Called on every kernel call: throws (trapping the call) past the call's host-time limit. */
  hostCall(): void;
  /** Called before alloc(n): throws (trapping the call) if `n` more bytes would exceed the memory quota. */
  kernelAlloc(n: number): void;
}

const decoder = new TextDecoder();

/** One instance's Extism kernel: the `extism:host/env` import object and synchronous lifecycle calls. */
export class Kernel {
  readonly imports: Record<string, AnyFunction> = {};
  private readonly ctx: Record<symbol, unknown> & CallContextLike;
  private readonly k: KernelInternals;

  constructor(logger: Console, guard: KernelGuard) {
    if (internals === null) throw new Error('the Extism kernel is not loaded yet (await loadKernel() first)');
    this.k = internals;
    this.ctx = new this.k.Ctx(ArrayBuffer, logger, {}) as Record<symbol, unknown> & CallContextLike;
    const env = this.ctx[this.k.ENV] as Record<string, (...args: unknown[]) => unknown>;
    for (const name of KERNEL_FUNCTIONS) {
      const f = env[name]!;
      this.imports[name] = name === 'alloc'
        ? ((n: bigint) => {
          guard.hostCall();
          guard.kernelAlloc(Number(n));
          return f(n);
        }) as AnyFunction
        : ((...args: unknown[]) => {
          guard.hostCall();
          return f(...args);
        }) as AnyFunction;
    }
  }

  /**
   * Calls `fn` (an export of the instance using this kernel) with Extism's convention, as
   * ForegroundPlugin.call() does: returns the output as text ('' for none); throws the trap, or
   * "Plugin-originated error: ..." if the plugin set an error. Does not reset the kernel.
   */
  call(fn: () => unknown, input?: string): string {
    const c = this.ctx as unknown as Record<symbol, (...a: unknown[]) => unknown>;
    const k = this.k;
    const inputIdx = input ? (c[k.STORE]!.call(this.ctx, input) as number | null) : null;
    c[k.BEGIN]!.call(this.ctx, inputIdx ?? null);
    let result: [number | null, number | null];
    try {
      fn();
      result = c[k.END]!.call(this.ctx) as [number | null, number | null];
    } catch (err) {
      c[k.END]!.call(this.ctx);
      throw err;
    }
    const [errorIdx, outputIdx] = result;
    const idx = errorIdx ?? outputIdx;
    if (idx === null) return '';
    const block = c[k.GET_BLOCK]!.call(this.ctx, idx) as { buffer: ArrayBuffer };
    const text = decoder.decode(block.buffer);
    if (errorIdx !== null) throw new Error(`Plugin-originated error: ${text}`);
    return text;
  }

  /** Drops every block the kernel holds (Extism's reset()). */
  reset(): void {
    (this.ctx as unknown as Record<symbol, () => void>)[this.k.RESET]!.call(this.ctx);
  }
}
