// The plugins this process knows, by name: prepared (checked, instrumented, validated) in the
// primary and handed to the workers with their `init` message, so binaryen and the validation
// load run once, not once per worker. A worker compiles each prepared module once and makes its
// instances from it. Keeps the newest version per name: a hot swap replaces it, and instances
// made later use the new version.
import type { Logger } from 'pino';
import type { Config, PluginConfig } from '../config/index.js';
import type { PluginKind } from './abi/constants.js';
import { preparePlugin, withFile } from './plugin-loader.js';
import { PluginVersion } from './plugin-version.js';
import type { PreparedPlugin } from './prepared-plugin.js';

export class PluginStore {
  private readonly prepared = new Map<string, PreparedPlugin>();
  private readonly compiled = new Map<string, Promise<PluginVersion>>();

  /** Prepares every plugin a service uses as its router or a filter. Throws the first plugin's load error. */
  async prepareAll(config: Config, log: Logger): Promise<void> {
    const routers = new Set(Object.values(config.services).map((s) => s.router));
    const filters = new Set(Object.values(config.services).flatMap((s) => s.filters));
    for (const p of Object.values(config.plugins)) {
      const kind = routers.has(p.name) ? 'router' : filters.has(p.name) ? 'filter' : null;
      if (kind === null) continue;
      const started = performance.now();
      let prepared: PreparedPlugin;
      try {
        prepared = await preparePlugin(p, log, { expectKind: kind });
      } catch (err) {
        throw withFile(err, p.file); // "plugin <name>: <file>: <reason>", as a hot swap reports it
      }
      this.add(prepared);
      log.info({ plugin: p.name, module: prepared.descriptor.name, version: prepared.descriptor.version, abi: `${prepared.descriptor.abi.major}.${prepared.descriptor.abi.minor}`, sha256: prepared.sha256.slice(0, 16), ms: Math.round(performance.now() - started) }, 'plugin loaded');
    }
  }

  add(p: PreparedPlugin): void {
    const old = this.prepared.get(p.name);
    if (old && old.version === p.version && old.sha256 === p.sha256) return;
    this.prepared.set(p.name, p);
    this.compiled.delete(p.name);
  }

  /**
   * A new version of a plugin (hot swap): later lookups (a worker's next init, a slot made
   * later) get it. Resolves the compiled version, for the live slots to swap to.
   */
  replace(p: PreparedPlugin): Promise<PluginVersion> {
    this.prepared.set(p.name, p);
    const v = PluginVersion.compile(p);
    this.compiled.set(p.name, v);
    v.catch(() => {
      if (this.compiled.get(p.name) === v) this.compiled.delete(p.name);
    });
    return v;
  }

  /** The prepared current version of a plugin, if any. */
  get(name: string): PreparedPlugin | undefined {
    return this.prepared.get(name);
  }

  /** Everything prepared, for a worker's init message. */
  list(): PreparedPlugin[] {
    return [...this.prepared.values()];
  }

  /** Limits changed at runtime: later lookups see them (live routers are told by their service). */
  updateConfig(config: Config): void {
    for (const [name, p] of this.prepared) {
      const c = config.plugins[name];
      if (c) this.prepared.set(name, { ...p, limits: c.limits });
    }
  }

  /**
   * The compiled current version of a plugin. A plugin not prepared by the primary (a runtime
   * built outside startProxy, e.g. in tests) is prepared here from its config.
   */
  version(cfg: PluginConfig, log: Logger, kind: PluginKind): Promise<PluginVersion> {
    let v = this.compiled.get(cfg.name);
    if (!v) {
      const known = this.prepared.get(cfg.name);
      v = (known ? Promise.resolve(known) : preparePlugin(cfg, log, { expectKind: kind }).then((p) => (this.add(p), p)))
        .then((p) => PluginVersion.compile(p));
      this.compiled.set(cfg.name, v);
      v.catch(() => this.compiled.delete(cfg.name));
    }
    return v;
  }
}

/** This process's store (the primary fills it; a worker receives it with `init`). */
export const pluginStore = new PluginStore();
