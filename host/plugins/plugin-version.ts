// One loaded version of a plugin in a worker: the prepared bytes compiled once into a
// WebAssembly.Module, from which every instance (one per service, the spares, replacements
// after a trap) is made without compiling again. A hot swap makes a new PluginVersion; the
// old one stays until its last instance is dropped.
import type { Logger } from 'pino';
import { PluginInstance } from './plugin-instance.js';
import type { PluginMetrics } from './plugin-metrics.js';
import type { PreparedPlugin } from './prepared-plugin.js';

export class PluginVersion {
  private constructor(
    readonly prepared: PreparedPlugin,
    readonly module: WebAssembly.Module,
  ) {}

  static async compile(prepared: PreparedPlugin): Promise<PluginVersion> {
    return new PluginVersion(prepared, await WebAssembly.compile(prepared.bytes as Uint8Array<ArrayBuffer>));
  }

  get name(): string {
    return this.prepared.name;
  }

  get descriptor(): PreparedPlugin['descriptor'] {
    return this.prepared.descriptor;
  }

  get config(): Record<string, unknown> {
    return this.prepared.config;
  }

  /** A new instance (not configured yet). */
  instantiate(log: Logger, metrics: PluginMetrics, fuelBudget: number, memoryQuota?: number): Promise<PluginInstance> {
    return PluginInstance.create({ module: this.module }, { name: this.name, log, metrics, fuelBudget, memoryQuota });
  }

  /** instantiate(), synchronously: only once an instance has been made by instantiate() (kernel.ts). */
  instantiateSync(log: Logger, metrics: PluginMetrics, fuelBudget: number, memoryQuota?: number): PluginInstance {
    return PluginInstance.createSync(this.module, { name: this.name, log, metrics, fuelBudget, memoryQuota });
  }
}
