// `wasmscale check`'s plugin part: every plugin a service uses is loaded as `start` would load
// it (read, sandbox check, CPU instrumentation, validation load with describe and configure), so
// a plugin that would be refused at start-up is reported by check. Costs binaryen's load
// (~350 ms) plus ~10-100 ms per plugin; `check --no-plugins` skips it.
import { pino } from 'pino';
import type { Config } from '../config/index.js';
import { preparePlugin, withFile } from './plugin-loader.js';

/** The refusal message of every plugin that would be refused at start-up (empty: none). */
export async function checkPlugins(config: Config): Promise<string[]> {
  const routers = new Set(Object.values(config.services).map((s) => s.router));
  const filters = new Set(Object.values(config.services).flatMap((s) => s.filters));
  const log = pino({ level: 'silent' });
  const problems: string[] = [];
  for (const p of Object.values(config.plugins)) {
    const kind = routers.has(p.name) ? 'router' : filters.has(p.name) ? 'filter' : null;
    if (kind === null) continue; // start does not load it either
    try {
      await preparePlugin(p, log, { expectKind: kind });
    } catch (err) {
      const named = withFile(err, p.file);
      problems.push(named instanceof Error ? named.message : String(named));
    }
  }
  return problems;
}
