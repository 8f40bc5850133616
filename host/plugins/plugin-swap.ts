// The primary's side of a hot swap (DESIGN.md "Plugin ABI" → Hot swap). A new .wasm for a
// configured plugin is prepared and validated once, here (sandbox checks and CPU instrumentation,
// marker, ABI major, exports, memory maximum, describe, configure, a canary call of its hooks),
// must be the same kind as the plugin it replaces, becomes the store's current version (a worker
// the watchdog restarts later gets it with `init`), and is sent to every worker, which swaps its
// live slots (swap-apply.ts). With `workers: 0` the same apply runs in this process. Swaps of one
// plugin run one at a time; a version refused here never reaches a worker, so the old one serves on.
import { isAbsolute } from 'node:path';
import type { Logger } from 'pino';
import type { Config, PluginConfig } from '../config/index.js';
import { formatAbi, type PluginKind } from './abi/constants.js';
import { runCanary } from './plugin-canary.js';
import { preparePlugin, PluginLoadError, withFile } from './plugin-loader.js';
import { pluginStore } from './plugin-store.js';
import type { PreparedPlugin } from './prepared-plugin.js';
import { PluginRejected } from './sandbox/errors.js';
import type { SwapApplied } from './swap-apply.js';

/** A worker's answer to a swap: null if it is not running or did not answer in time. */
export interface SwapTarget {
  index: number;
  apply(p: PreparedPlugin): Promise<SwapApplied | null>;
}

export interface SwapRequest {
  /** Absolute path of the new .wasm. */
  file: string;
  /** A new configuration; default: the one in use. */
  config?: Record<string, unknown>;
}

export interface WorkerSwapReport {
  worker: number;
  ok: boolean;
  /** Services of this worker now running the new version. */
  swapped: number;
  errors: string[];
}

export interface SwapReport {
  plugin: string;
  kind: PluginKind;
  /** The plugin's own version string (describe()). */
  version: string;
  abi: string;
  sha256: string;
  file: string;
  /** The primary's load number (bumped by every load). */
  load: number;
  workers: WorkerSwapReport[];
}

/** A swap refused or failed: `status` is the HTTP status the admin endpoint answers with. */
export class SwapError extends Error {
  override name = 'SwapError';
  constructor(readonly status: number, message: string, readonly workers: WorkerSwapReport[] = []) {
    super(message);
  }
}

/** How long a worker may take to swap (compile, instantiate, configure, replay). */
export const SWAP_WORKER_TIMEOUT_MS = 30_000;

/** Services that use a plugin (as their router or as a filter). */
export function servicesUsing(config: Config, plugin: string): string[] {
  return Object.values(config.services)
    .filter((s) => s.router === plugin || ((s as { filters?: readonly string[] }).filters ?? []).includes(plugin))
    .map((s) => s.name);
}

/** The kind a plugin is used as: what it was loaded as, else what its services use it as. */
function kindOf(config: Config, plugin: string): PluginKind | undefined {
  const loaded = pluginStore.get(plugin)?.descriptor.kind;
  if (loaded) return loaded;
  const services = Object.values(config.services);
  if (services.some((s) => s.router === plugin)) return 'router';
  if (services.some((s) => ((s as { filters?: readonly string[] }).filters ?? []).includes(plugin))) return 'filter';
  return undefined;
}

export class PluginSwapper {
  private readonly counts = new Map<string, number>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly config: () => Config,
    private readonly targets: () => SwapTarget[],
    private readonly log: Logger,
  ) {}

  /** Successful swaps of a plugin since start-up. */
  swapsOf(plugin: string): number {
    return this.counts.get(plugin) ?? 0;
  }

  swap(plugin: string, req: SwapRequest): Promise<SwapReport> {
    const prev = this.queues.get(plugin) ?? Promise.resolve();
    const run = prev.catch(() => {}).then(() => this.run(plugin, req));
    this.queues.set(plugin, run);
    void run.catch(() => {}).then(() => {
      if (this.queues.get(plugin) === run) this.queues.delete(plugin);
    });
    return run;
  }

  private async prepare(plugin: string, cfg: PluginConfig, req: SwapRequest): Promise<PreparedPlugin> {
    const current = pluginStore.get(plugin);
    const kind = kindOf(this.config(), plugin);
    const next: PluginConfig = { ...cfg, file: req.file, config: req.config ?? current?.config ?? cfg.config, limits: current?.limits ?? cfg.limits };
    try {
      const prepared = await preparePlugin(next, this.log, kind ? { expectKind: kind } : {});
      await runCanary(prepared, this.log);
      return prepared;
    } catch (err) {
      if (err instanceof PluginLoadError || err instanceof PluginRejected) {
        // "plugin reads: /tmp/x.wasm: <reason>" (a read error names the file already).
        throw new SwapError(422, (withFile(err, req.file) as Error).message);
      }
      throw err;
    }
  }

  private async run(plugin: string, req: SwapRequest): Promise<SwapReport> {
    const cfg = this.config().plugins[plugin];
    if (!cfg) throw new SwapError(404, `no such plugin: ${plugin} (configured: ${Object.keys(this.config().plugins).join(', ') || 'none'})`);
    if (typeof req.file !== 'string' || !isAbsolute(req.file)) throw new SwapError(400, `plugin ${plugin}: "file" must be an absolute path to a .wasm file`);
    if (req.config !== undefined && (typeof req.config !== 'object' || req.config === null || Array.isArray(req.config))) {
      throw new SwapError(400, `plugin ${plugin}: "config" must be a JSON object`);
    }
    const started = performance.now();
    const prepared = await this.prepare(plugin, cfg, req);
    // Current from now on: a worker (re)started from here gets this version with its init.
    pluginStore.add(prepared);
    const workers = await Promise.all(this.targets().map(async (t): Promise<WorkerSwapReport> => {
      const r = await t.apply(prepared).catch((err: unknown): SwapApplied => ({ swapped: 0, errors: [(err as Error).message] }));
      if (r === null) return { worker: t.index, ok: false, swapped: 0, errors: ['the worker is not running or did not answer (it loads the new version when it starts)'] };
      return { worker: t.index, ok: r.errors.length === 0, swapped: r.swapped, errors: r.errors };
    }));
    this.counts.set(plugin, this.swapsOf(plugin) + 1);
    const d = prepared.descriptor;
    const report: SwapReport = {
      plugin, kind: d.kind, version: d.version, abi: formatAbi(d.abi.major, d.abi.minor), sha256: prepared.sha256,
      file: prepared.file, load: prepared.version, workers,
    };
    const failed = workers.filter((w) => !w.ok);
    this.log.info({ plugin, version: d.version, sha256: prepared.sha256.slice(0, 16), file: prepared.file, ms: Math.round(performance.now() - started), failed: failed.length }, 'plugin swapped');
    if (failed.length > 0) {
      const what = failed.map((w) => `worker ${w.worker}: ${w.errors.join('; ')}`).join('; ');
      throw new SwapError(500, `plugin ${plugin}: ${prepared.file} was loaded, but not every worker runs it (${what})`, workers);
    }
    return report;
  }
}
