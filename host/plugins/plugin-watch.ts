// `plugins.<name>.watch: true`: hot-swap a plugin when its configured file changes. The
// directory is watched, not the file, because builds and editors usually replace a file (write
// elsewhere, rename over it), which ends a watch on the file itself. Events are debounced (a
// build writes in several steps); a file whose content equals the version in use is ignored; a
// version the swap refuses is logged and the old one keeps serving until the next change.
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { PluginSwapper } from './plugin-swap.js';
import { pluginStore } from './plugin-store.js';

const DEBOUNCE_MS = 300;

export class PluginWatcher {
  private readonly watchers: FSWatcher[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(config: Config, private readonly swapper: PluginSwapper, private readonly log: Logger) {
    for (const p of Object.values(config.plugins)) {
      if (!p.watch) continue;
      const name = basename(p.file);
      try {
        const w = watch(dirname(p.file), { persistent: false }, (_event, changed) => {
          if (changed === null || changed === name) this.schedule(p.name, p.file);
        });
        w.on('error', (err) => log.warn({ plugin: p.name, file: p.file, err: err.message }, 'plugin file watch failed; swaps on change stop'));
        this.watchers.push(w);
        log.info({ plugin: p.name, file: p.file }, 'watching the plugin file: a change swaps it in');
      } catch (err) {
        log.warn({ plugin: p.name, file: p.file, err: (err as Error).message }, 'cannot watch the plugin file');
      }
    }
  }

  private schedule(plugin: string, file: string): void {
    if (this.closed) return;
    clearTimeout(this.timers.get(plugin));
    const t = setTimeout(() => {
      this.timers.delete(plugin);
      void this.fire(plugin, file);
    }, DEBOUNCE_MS);
    t.unref();
    this.timers.set(plugin, t);
  }

  private async fire(plugin: string, file: string): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch {
      return; // removed, or mid-rename: the next event tells
    }
    if (createHash('sha256').update(bytes).digest('hex') === pluginStore.get(plugin)?.sha256) return;
    if (this.closed) return;
    try {
      const r = await this.swapper.swap(plugin, { file });
      this.log.info({ plugin, file, version: r.version, sha256: r.sha256.slice(0, 16) }, 'plugin file changed: swapped in');
    } catch (err) {
      this.log.error({ plugin, file, err: (err as Error).message }, 'plugin file changed, but the new version was not swapped in');
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const w of this.watchers) w.close();
  }
}
