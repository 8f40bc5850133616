// A plugin module checked and ready to run: what the primary produces once per plugin version
// (file → sandbox check and CPU instrumentation → validation load) and hands to every routing
// worker. Plain data, so it crosses the IPC channel (advanced serialization keeps the bytes).
import type { PluginLimits } from '../config/index.js';
import type { PluginDescriptor } from './abi/descriptor.js';

export interface PreparedPlugin {
  /** The plugin's name in the config (plugins.<name>). */
  name: string;
  /** Absolute path of the .wasm it came from. */
  file: string;
  /** SHA-256 (hex) of the file as read. */
  sha256: string;
  /** The module to instantiate: the file instrumented by the sandbox. */
  bytes: Uint8Array;
  /** True when the sandbox instrumented it (it exports wsx_fuel). */
  instrumented: boolean;
  descriptor: PluginDescriptor;
  /** The configuration passed to configure(). */
  config: Record<string, unknown>;
  limits: PluginLimits;
  /** Bumped on every successful load of this plugin name (a hot swap loads a new version). */
  version: number;
  /** When the primary finished preparing it (ms since the epoch). */
  loadedAt: number;
}

/** Memory quota in 64 KiB pages. */
export function memoryPages(limits: PluginLimits): number {
  return Math.max(1, Math.floor(limits.memory / 65536));
}
