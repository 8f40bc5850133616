// One live instance of a plugin module. It is made synchronously (new WebAssembly.Instance) with
// Extism's kernel as its `extism:host/env` (kernel.ts), which carries the rare lifecycle calls
// (describe, configure: Extism's input/output convention, driven synchronously); the hot-path
// hooks are the raw exports, called synchronously with a record in the exchange buffer. The
// kernel's blocks are dropped after every lifecycle call, and after a hook call that allocated
// any (Extism 1.0.3 keeps them until reset()).
//
// Synchronous creation is what lets a slot replace a trapped instance inside the call that
// trapped even when its warm spare is used up (plugin-slot.ts). Only the one-time loadKernel()
// is asynchronous; create() awaits it, createSync() requires it.
import type { Logger } from 'pino';
import { HOOKS, type HookName } from './abi/constants.js';
import { Exchange } from './abi/exchange.js';
import { HostEnv, hostLimitFor } from './host-functions.js';
import { Kernel, kernelLoaded, loadKernel } from './kernel.js';
import type { PluginMetrics } from './plugin-metrics.js';
import { createFuelMeter, FUEL_SET_EXPORT, fuelForMs, msForFuel, type FuelMeter } from './sandbox/fuel.js';

/** CPU budget of a lifecycle call (describe, configure), ms: generous, they parse JSON. */
const LIFECYCLE_BUDGET_MS = 250;

export type HookFunction = (len: number) => number;

export interface InstanceOptions {
  /** Module name in messages. */
  name: string;
  log: Logger;
  metrics: PluginMetrics;
  /** Fuel per hook call; ignored for modules the sandbox did not instrument. */
  fuelBudget: number;
  /** The plugin's memory quota in bytes (limits.memory): bounds the kernel's blocks too. Default 16 MiB. */
  memoryQuota?: number;
}

/** The module: raw bytes (compiled by create()) or a compiled module. `hash` is accepted and unused. */
export type ModuleSource = { data: Uint8Array; hash?: string } | { module: WebAssembly.Module };

export class PluginInstance {
  readonly ex: Exchange;
  /** Subscribed hooks, by name (set by subscribe(); unsubscribed hooks are never called). */
  readonly hooks: Partial<Record<HookName, HookFunction>> = {};
  private closed = false;

  private constructor(
    readonly name: string,
    private readonly kernel: Kernel,
    readonly env: HostEnv,
    readonly raw: WebAssembly.Instance,
    public fuel: FuelMeter | null,
  ) {
    const e = raw.exports;
    this.ex = new Exchange(e.memory as WebAssembly.Memory, e.wsx_buffer as (min: number) => number);
  }

  static async create(source: ModuleSource, opts: InstanceOptions): Promise<PluginInstance> {
    await loadKernel();
    const module = 'module' in source ? source.module : await WebAssembly.compile(source.data as Uint8Array<ArrayBuffer>);
    return PluginInstance.createSync(module, opts);
  }

  /** Instantiates `module` synchronously (loadKernel() must have resolved). Throws if it cannot. */
  static createSync(module: WebAssembly.Module, opts: InstanceOptions): PluginInstance {
    if (!kernelLoaded()) throw new Error('PluginInstance.createSync: the Extism kernel is not loaded yet');
    const env = new HostEnv(opts.name, opts.log, opts.metrics, opts.memoryQuota);
    const kernel = new Kernel(env.kernelLogger(), env);
    const imports: WebAssembly.Imports = { 'extism:host/env': kernel.imports, ...env.functions() };
    const raw = new WebAssembly.Instance(module, imports);
    const memory = raw.exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) {
      throw new Error(`plugin ${opts.name}: the module does not export its memory as "memory"`);
    }
    env.memory = memory;
    // Modules the sandbox instrumented export the fuel accessors; others run without a budget.
    const fuel = typeof raw.exports[FUEL_SET_EXPORT] === 'function' ? createFuelMeter(raw, opts.fuelBudget) : null;
    env.hostLimitMs = hostLimitFor(msForFuel(opts.fuelBudget));
    return new PluginInstance(opts.name, kernel, env, raw, fuel);
  }

  /** A new per-call budget (runtime change of the plugin's limits). */
  setFuelBudget(budget: number): void {
    if (this.fuel && this.fuel.budget !== budget) this.fuel = createFuelMeter(this.raw, budget);
    this.env.hostLimitMs = hostLimitFor(msForFuel(budget));
  }

  /** Export names of the module. */
  exportNames(): Set<string> {
    return new Set(Object.keys(this.raw.exports));
  }

  /** wsx_abi_version() split into major/minor. Throws if missing or trapping. */
  marker(): { major: number; minor: number } {
    const fn = this.raw.exports.wsx_abi_version;
    if (typeof fn !== 'function') throw new Error('does not export wsx_abi_version (is it a wasmscale plugin?)');
    this.fuel?.set(fuelForMs(LIFECYCLE_BUDGET_MS));
    this.env.deadline = 0;
    const v = (fn as () => number)() >>> 0;
    return { major: v >>> 16, minor: v & 0xffff };
  }

  /**
   * Makes the hooks the descriptor lists callable. Each is wrapped: a call starts a new
   * host-time window, and drops the kernel blocks the call allocated (if any) when it returns.
   */
  subscribe(hooks: readonly HookName[]): void {
    for (const h of HOOKS) delete this.hooks[h];
    const env = this.env;
    const kernel = this.kernel;
    for (const h of hooks) {
      const fn = this.raw.exports[`wsx_${h}`];
      if (typeof fn !== 'function') continue;
      const hook = fn as HookFunction;
      this.hooks[h] = (len: number): number => {
        env.deadline = 0;
        const r = hook(len);
        if (env.kernelBytes !== 0) {
          kernel.reset();
          env.kernelBytes = 0;
        }
        return r;
      };
    }
  }

  private lifecycle(name: 'describe' | 'configure', input?: string): string {
    const fn = this.raw.exports[name];
    if (typeof fn !== 'function') throw new Error(`Plugin error: function "${name}" does not exist`);
    this.fuel?.set(fuelForMs(LIFECYCLE_BUDGET_MS));
    const limit = this.env.hostLimitMs;
    this.env.hostLimitMs = hostLimitFor(LIFECYCLE_BUDGET_MS);
    this.env.deadline = 0;
    try {
      return this.kernel.call(fn as () => unknown, input);
    } finally {
      this.kernel.reset();
      this.env.kernelBytes = 0;
      this.env.hostLimitMs = limit;
    }
  }

  /** describe()'s JSON text. */
  describeSync(): string {
    return this.lifecycle('describe');
  }

  describe(): Promise<string> {
    return new Promise((resolve) => resolve(this.describeSync()));
  }

  /**
   * Passes the configuration; returns null when accepted, else the plugin's message. A module
   * without a configure export accepts any configuration. Throws on a trap.
   */
  configureSync(config: unknown): string | null {
    if (typeof this.raw.exports.configure !== 'function') return null;
    const out = this.lifecycle('configure', JSON.stringify(config));
    return out === '' ? null : out;
  }

  configure(config: unknown): Promise<string | null> {
    return new Promise((resolve) => resolve(this.configureSync(config)));
  }

  /** Sets up the exchange buffer (calls wsx_buffer: may trap). */
  initExchange(): void {
    this.fuel?.refill();
    this.env.deadline = 0;
    this.ex.init();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Nothing to release explicitly: the instance, its memory and the kernel's blocks go with
    // the last reference (the slot drops it).
  }
}
