// What a service calls to get its router when `services.<name>.router` names a plugin.
import type { Logger } from 'pino';
import type { PluginConfig } from '../config/index.js';
import type { ServerView } from '../session/router.js';
import { PluginRouter } from './plugin-router.js';
import { pluginStore } from './plugin-store.js';

export async function createPluginRouter(
  plugin: PluginConfig,
  opts: { service: string; servers: readonly ServerView[]; log: Logger; tenant?: string },
): Promise<PluginRouter> {
  const version = await pluginStore.version(plugin, opts.log, 'router');
  return PluginRouter.create({
    version,
    service: opts.service,
    servers: opts.servers,
    limits: plugin.limits,
    log: opts.log,
    ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
  });
}

export { PluginRouter };
