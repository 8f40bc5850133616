// One live instance of a plugin module. Extism creates it and carries the rare lifecycle calls
// (describe, configure: Extism's input/output convention); the hot-path hooks are the raw
// exports of the same WebAssembly.Instance (plugin.getInstance()), called synchronously with a
// record in the exchange buffer. Extism 1.0.3's call context grows with every call and fails
// after 16,384 of them unless reset(): only lifecycle calls go through it, and each is
// followed by reset().
import type { Logger } from 'pino';
import { HOOKS, type HookName } from './abi/constants.js';
import { Exchange } from './abi/exchange.js';
import { loadExtism, type ExtismPlugin } from './extism.js';
import { HostEnv } from './host-functions.js';
import type { PluginMetrics } from './plugin-metrics.js';
import { createFuelMeter, FUEL_SET_EXPORT, fuelForMs, type FuelMeter } from './sandbox/fuel.js';

/** CPU budget of a lifecycle call (describe, configure), ms: generous, they parse JSON. */
const LIFECYCLE_BUDGET_MS = 250;

export type HookFunction = (len: number) => number;

/** The module's name in the Extism manifest (a plugin is one module). */
const MODULE_NAME = 'plugin';

export interface InstanceOptions {
  /** Module name in messages. */
  name: string;
  log: Logger;
  metrics: PluginMetrics;
  /** Fuel per hook call; ignored for modules the sandbox did not instrument. */
  fuelBudget: number;
}

/** The module as Extism takes it: raw bytes (first load: Extism checks the hash) or a compiled module. */
export type ModuleSource = { data: Uint8Array; hash?: string } | { module: WebAssembly.Module };

export class PluginInstance {
  readonly ex: Exchange;
  /** Subscribed hooks, by name (set by subscribe(); unsubscribed hooks are never called). */
  readonly hooks: Partial<Record<HookName, HookFunction>> = {};
  private closed = false;

  private constructor(
    readonly name: string,
    private readonly extism: ExtismPlugin,
    readonly raw: WebAssembly.Instance,
    public fuel: FuelMeter | null,
  ) {
    const e = raw.exports;
    this.ex = new Exchange(e.memory as WebAssembly.Memory, e.wsx_buffer as (min: number) => number);
  }

  static async create(source: ModuleSource, opts: InstanceOptions): Promise<PluginInstance> {
    const { createPlugin } = await loadExtism();
    const env = new HostEnv(opts.name, opts.log, opts.metrics);
    const logger = extismLogger(opts.log, opts.name);
    // Extism hashes `data.buffer` whole: hand it a Uint8Array that owns its buffer.
    const wasm = 'data' in source ? { ...source, data: source.data.slice(), name: MODULE_NAME } : { ...source, name: MODULE_NAME };
    const plugin = await createPlugin({ wasm: [wasm] }, { useWasi: false, runInWorker: false, functions: env.functions(), logger });
    const raw = await plugin.getInstance(MODULE_NAME);
    const memory = raw.exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) {
      await plugin.close();
      throw new Error(`plugin ${opts.name}: the module does not export its memory as "memory"`);
    }
    env.memory = memory;
    // Modules the sandbox instrumented export the fuel accessors; others run without a budget.
    const fuel = typeof raw.exports[FUEL_SET_EXPORT] === 'function' ? createFuelMeter(raw, opts.fuelBudget) : null;
    return new PluginInstance(opts.name, plugin, raw, fuel);
  }

  /** A new per-call budget (runtime change of the plugin's limits). */
  setFuelBudget(budget: number): void {
    if (this.fuel && this.fuel.budget !== budget) this.fuel = createFuelMeter(this.raw, budget);
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
    const v = (fn as () => number)() >>> 0;
    return { major: v >>> 16, minor: v & 0xffff };
  }

  /** Makes the hooks the descriptor lists callable. */
  subscribe(hooks: readonly HookName[]): void {
    for (const h of HOOKS) delete this.hooks[h];
    for (const h of hooks) {
      const fn = this.raw.exports[`wsx_${h}`];
      if (typeof fn === 'function') this.hooks[h] = fn as HookFunction;
    }
  }

  private async lifecycle(fn: 'describe' | 'configure', input?: string): Promise<string> {
    this.fuel?.set(fuelForMs(LIFECYCLE_BUDGET_MS));
    try {
      const out = await this.extism.call(fn, input);
      return out ? out.text() : '';
    } finally {
      await this.extism.reset();
    }
  }

  /** describe()'s JSON text. */
  describe(): Promise<string> {
    return this.lifecycle('describe');
  }

  /**
   * Passes the configuration; resolves null when accepted, else the plugin's message. A
   * module without a configure export accepts any configuration. Throws on a trap.
   */
  async configure(config: unknown): Promise<string | null> {
    if (typeof this.raw.exports.configure !== 'function') return null;
    const out = await this.lifecycle('configure', JSON.stringify(config));
    return out === '' ? null : out;
  }

  /** Sets up the exchange buffer (calls wsx_buffer: may trap). */
  initExchange(): void {
    this.fuel?.refill();
    this.ex.init();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.extism.close().catch(() => {});
  }
}

/** Extism's kernel log_* calls, routed to the host's logger. */
function extismLogger(log: Logger, plugin: string): Console {
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (...args: unknown[]) => log[level]({ plugin }, args.map(String).join(' '));
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), log: at('info'), trace: at('debug') } as unknown as Console;
}
