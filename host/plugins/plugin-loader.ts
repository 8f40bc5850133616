// Loading a plugin for real use, once per version, in the primary: read the file, let the sandbox
// check and instrument it, then load it once through Extism and validate what the ABI requires
// (ABI.md §2–§4): the version marker, the required exports, the descriptor, the configuration
// (against the descriptor's schema, then configure()). The result goes to every worker.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { PluginConfig } from '../config/index.js';
import { formatAbi, HOST_ABI_MAJOR, HOST_ABI_MINOR, KIND_HOOKS, type PluginKind } from './abi/constants.js';
import { parseDescriptor, type PluginDescriptor } from './abi/descriptor.js';
import { checkConfigSchema } from './config-schema.js';
import { PluginInstance } from './plugin-instance.js';
import { PluginMetrics } from './plugin-metrics.js';
import { memoryPages, type PreparedPlugin } from './prepared-plugin.js';
import { PluginRejected } from './sandbox/errors.js';
import { fuelForMs } from './sandbox/fuel.js';
import { prepareModule } from './sandbox/prepare.js';

/** Why a plugin cannot be loaded; the message starts with "plugin <name>: ". */
export class PluginLoadError extends Error {
  override name = 'PluginLoadError';
  constructor(readonly plugin: string, readonly reason: string, options?: { cause?: unknown }) {
    super(`plugin ${plugin}: ${reason}`, options);
  }
}

/**
 * `err` (a PluginLoadError or the sandbox's PluginRejected) with the plugin's file named after
 * the plugin: "plugin <name>: <file>: <reason>", of the same class (and kind); unchanged if the
 * reason names the file already (a read error) or for other errors. Start-up, `wasmscale check`
 * and hot swap report refusals this way.
 */
export function withFile(err: unknown, file: string): unknown {
  if (!(err instanceof PluginLoadError || err instanceof PluginRejected) || err.reason.includes(file)) return err;
  const reason = `${file}: ${err.reason}`;
  const named = err instanceof PluginRejected
    ? new PluginRejected(err.plugin, err.kind, reason, { cause: err.cause })
    : new PluginLoadError(err.plugin, reason, { cause: err.cause });
  if (err.stack) named.stack = err.stack.replace(err.message, named.message);
  return named;
}

/** Exports every plugin must have (ABI.md §2); the kind's required hook is checked with the descriptor. */
const REQUIRED_EXPORTS = ['memory', 'wsx_abi_version', 'wsx_buffer', 'describe'] as const;

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** ABI.md §3: same major, minor not above ours. Returns a reason, or null if loadable. */
export function abiProblem(marker: { major: number; minor: number }): string | null {
  const theirs = formatAbi(marker.major, marker.minor);
  const ours = formatAbi(HOST_ABI_MAJOR, HOST_ABI_MINOR);
  if (marker.major !== HOST_ABI_MAJOR) return `built for plugin ABI ${theirs}; this host speaks ABI ${ours} (a different major version cannot be loaded)`;
  if (marker.minor > HOST_ABI_MINOR) return `built for plugin ABI ${theirs}, newer than this host's ${ours} (upgrade wasmscale, or build against an older SDK)`;
  return null;
}

/** Missing required exports, by name. */
export function missingExports(module: WebAssembly.Module): string[] {
  const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  return REQUIRED_EXPORTS.filter((n) => !names.has(n));
}

export interface ValidatedModule {
  descriptor: PluginDescriptor;
  /** The configure() verdict: null = accepted (or not configured). */
  configureError: string | null;
}

/**
 * Instantiates `bytes` through Extism and checks marker, descriptor and (when `config` is given)
 * the configuration. Throws PluginLoadError. The instance is closed before returning.
 */
export async function validateModule(
  name: string,
  bytes: Uint8Array,
  log: Logger,
  opts: { config?: Record<string, unknown>; expectKind?: PluginKind; fuelBudget?: number; memoryQuota?: number } = {},
): Promise<ValidatedModule> {
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (err) {
    throw new PluginLoadError(name, `not a valid WebAssembly module (${(err as Error).message})`);
  }
  const missing = missingExports(module);
  if (missing.length > 0) throw new PluginLoadError(name, `does not export ${missing.join(', ')} (required of every wasmscale plugin; see sdk/ABI.md §2)`);

  let inst: PluginInstance;
  try {
    inst = await PluginInstance.create({ module }, {
      name, log, metrics: new PluginMetrics(name), fuelBudget: opts.fuelBudget ?? fuelForMs(5), memoryQuota: opts.memoryQuota,
    });
  } catch (err) {
    throw new PluginLoadError(name, `cannot be instantiated: ${(err as Error).message}`, { cause: err });
  }
  try {
    let marker;
    try {
      marker = inst.marker();
    } catch (err) {
      throw new PluginLoadError(name, `wsx_abi_version() failed: ${(err as Error).message}`, { cause: err });
    }
    const abi = abiProblem(marker);
    if (abi) throw new PluginLoadError(name, abi);

    let text: string;
    try {
      text = await inst.describe();
    } catch (err) {
      throw new PluginLoadError(name, `describe() failed: ${(err as Error).message}`, { cause: err });
    }
    let descriptor: PluginDescriptor;
    try {
      descriptor = parseDescriptor(text, marker, inst.exportNames());
    } catch (err) {
      throw new PluginLoadError(name, (err as Error).message, { cause: err });
    }
    if (opts.expectKind && descriptor.kind !== opts.expectKind) {
      throw new PluginLoadError(name, `is a ${descriptor.kind} ("${descriptor.name}"), but it is used as a ${opts.expectKind}; a ${opts.expectKind} subscribes to "${KIND_HOOKS[opts.expectKind].required}"`);
    }

    let configureError: string | null = null;
    if (opts.config) {
      if (descriptor.configSchema !== undefined) {
        const problems = checkConfigSchema(opts.config, descriptor.configSchema);
        if (problems.length > 0) throw new PluginLoadError(name, `configuration refused by the plugin's config_schema: ${problems.join('; ')}`);
      }
      try {
        configureError = await inst.configure(opts.config);
      } catch (err) {
        throw new PluginLoadError(name, `configure() failed: ${(err as Error).message}`, { cause: err });
      }
      if (configureError !== null) throw new PluginLoadError(name, `configuration refused by the plugin: ${configureError}`);
      try {
        inst.subscribe(descriptor.hooks);
        inst.initExchange();
      } catch (err) {
        throw new PluginLoadError(name, `wsx_buffer() failed: ${(err as Error).message}`, { cause: err });
      }
    }
    return { descriptor, configureError };
  } finally {
    inst.close();
  }
}

let versions = 0;

/**
 * Everything the primary does with a configured plugin before workers may use it. Throws
 * PluginLoadError (or the sandbox's PluginRejected, whose message has the same form); callers
 * that report to an operator add the file with withFile().
 */
export async function preparePlugin(cfg: PluginConfig, log: Logger, opts: { expectKind?: PluginKind } = {}): Promise<PreparedPlugin> {
  let original: Uint8Array;
  try {
    original = new Uint8Array(await readFile(cfg.file));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new PluginLoadError(cfg.name, `cannot read ${cfg.file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  // The sandbox's checks (imports, memory quota, known instructions) and the CPU-budget
  // instrumentation; the instrumented module exports wsx_fuel.
  const pages = memoryPages(cfg.limits);
  const prepared = await prepareModule(original, { maxMemoryPages: pages }, { name: cfg.name });
  const fuelBudget = cfg.limits.fuel ?? fuelForMs(cfg.limits.cpu_budget);
  const { descriptor } = await validateModule(cfg.name, prepared.bytes, log, { config: cfg.config, fuelBudget, memoryQuota: pages * 65536, ...opts });
  return {
    name: cfg.name,
    file: cfg.file,
    sha256: sha256(original),
    bytes: prepared.bytes,
    instrumented: true,
    descriptor,
    config: cfg.config,
    limits: cfg.limits,
    version: ++versions,
    loadedAt: Date.now(),
  };
}
