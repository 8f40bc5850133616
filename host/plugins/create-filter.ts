// What a service calls to get the filters `services.<name>.filters` lists.
import type { Logger } from 'pino';
import type { PluginConfig } from '../config/index.js';
import type { ServerView } from '../session/router.js';
import { PluginFilter } from './plugin-filter.js';
import { pluginStore } from './plugin-store.js';
import { StatementMatcher } from './statement-matcher.js';

export async function createPluginFilter(
  plugin: PluginConfig,
  opts: { service: string; servers: readonly ServerView[]; log: Logger; tenant?: string },
): Promise<PluginFilter> {
  const version = await pluginStore.version(plugin, opts.log, 'filter');
  return PluginFilter.create({
    version,
    service: opts.service,
    servers: opts.servers,
    limits: plugin.limits,
    log: opts.log,
    matcher: StatementMatcher.from(plugin.match, plugin.exclude, plugin.options !== 'case'),
    ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
  });
}

export { PluginFilter };
