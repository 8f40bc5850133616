import http from 'node:http';
import type { Logger } from 'pino';
import { handlePlugins, type PluginsSource } from './plugins-endpoint.js';

export interface AdminSource {
  stats(): Promise<unknown>;
  /** Every configured server with its monitored state (GET /v1/servers, /v1/servers/<name>). */
  servers?(): { name: string }[];
  /** Every monitor and its current primary (GET /v1/monitors). */
  monitors?(): unknown[];
  /** Plugins: GET /v1/plugins, /v1/plugins/<name>; POST /v1/plugins/<name>/swap (plugins-endpoint.ts). */
  plugins?: PluginsSource;
}

/**
 * Local admin endpoint (loopback by default): JSON only. Issue-sized for now — session counts
 * and worker health; the REST API and metrics grow here.
 */
export async function startAdminServer(host: string, port: number, source: AdminSource, log: Logger): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (source.plugins && handlePlugins(req, path, reply, source.plugins)) return;
    if (req.method !== 'GET') return reply(405, { error: 'method not allowed' });
    if (path === '/v1/health') return reply(200, { status: 'ok' });
    if (path === '/v1/stats') {
      source.stats().then((s) => reply(200, s), (err: Error) => reply(500, { error: err.message }));
      return;
    }
    if (path === '/v1/servers' && source.servers) return reply(200, source.servers());
    if (path?.startsWith('/v1/servers/') && source.servers) {
      let name: string;
      try {
        name = decodeURIComponent(path.slice('/v1/servers/'.length));
      } catch {
        return reply(400, { error: 'malformed server name' });
      }
      const server = source.servers().find((s) => s.name === name);
      return server ? reply(200, server) : reply(404, { error: `no such server: ${name}` });
    }
    if (path === '/v1/monitors' && source.monitors) return reply(200, source.monitors());
    reply(404, { error: `no such resource: ${path}` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === 'EADDRINUSE' ? `admin endpoint: ${host}:${port} is already in use` : `admin endpoint: ${err.message}`)));
    server.listen(port, host, () => resolve());
  });
  log.info({ host, port: (server.address() as { port: number }).port }, 'admin endpoint listening');
  return server;
}
