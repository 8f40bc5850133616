import type http from 'node:http';
import net from 'node:net';
import type { Logger } from 'pino';
import { startAdminServer } from '../admin/admin-server.js';
import type { Config, ListenerConfig } from '../config/index.js';
import { MonitorSet } from '../monitor/monitor-set.js';
import { PluginSwapper, SWAP_WORKER_TIMEOUT_MS } from '../plugins/plugin-swap.js';
import { pluginStore } from '../plugins/plugin-store.js';
import { PluginWatcher } from '../plugins/plugin-watch.js';
import { slotRegistry } from '../plugins/slot-registry.js';
import { applySwap } from '../plugins/swap-apply.js';
import { fetchAccounts } from '../session/accounts/fetch-accounts.js';
import { MAX_WORKERS } from './session-registry.js';
import { probeServer } from './server-probe.js';
import { WorkerHandle } from './worker-handle.js';
import { WorkerRuntime, type WorkerStats } from './worker-runtime.js';

export interface ProxyStats {
  sessions: number;
  workers: (WorkerStats & { assigned?: number; restarts?: number; alive: boolean })[];
}

export interface Proxy {
  readonly listeners: { name: string; host: string; port: number }[];
  readonly adminPort: number | null;
  stats(): Promise<ProxyStats>;
  stop(): Promise<void>;
}

export interface StartOptions {
  configPath?: string;
  log: Logger;
}

/**
 * Checks what makes a service useless, once, at start-up, and says what is wrong. Not fatal:
 * servers come and go, and the proxy serves as soon as they answer.
 */
async function checkServices(config: Config, log: Logger): Promise<void> {
  await Promise.all(Object.values(config.services).map(async (svc) => {
    for (const name of svc.servers) {
      const s = config.servers[name]!;
      try {
        await probeServer(s, svc.connect_timeout);
      } catch (err) {
        log.error({ service: svc.name, server: name }, (err as Error).message);
        continue;
      }
      try {
        await fetchAccounts({ host: s.address, port: s.port, user: svc.user, password: svc.password, connectTimeoutMs: svc.connect_timeout });
      } catch (err) {
        log.error({ service: svc.name, server: name, user: svc.user }, `service user cannot read accounts: ${(err as Error).message}`);
      }
    }
  }));
}

function listen(l: ListenerConfig, onConnection: (s: net.Socket) => void): Promise<net.Server> {
  // pauseOnConnect: the accepting process never reads; the owning worker does, after hand-off.
  const server = net.createServer({ pauseOnConnect: true, noDelay: true }, onConnection);
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'is already in use'
        : err.code === 'EACCES' ? 'needs privileges this process does not have'
        : err.code === 'EADDRNOTAVAIL' ? 'is not an address of this machine' : err.message;
      reject(new Error(`listener ${l.name}: ${l.host}:${l.port} ${why}`));
    });
    server.listen({ host: l.host, port: l.port, backlog: 4096 }, () => {
      server.removeAllListeners('error');
      server.on('error', () => {});
      resolve(server);
    });
  });
}

export async function startProxy(config: Config, opts: StartOptions): Promise<Proxy> {
  const log = opts.log;
  if (config.workers > MAX_WORKERS) throw new Error(`workers: at most ${MAX_WORKERS} routing workers are supported`);
  await checkServices(config, log);

  const servers: net.Server[] = [];
  const handles: WorkerHandle[] = [];
  let local: WorkerRuntime | null = null;
  let onConnection: (socket: net.Socket, listener: string) => void;

  // Router plugins are checked, instrumented and validated once, here, before anything starts
  // (a bad plugin stops the start-up with its name and the reason); workers get the result.
  await pluginStore.prepareAll(config, log);

  // Monitors run here, in the primary. Their first tick is over before any worker starts, so
  // every worker begins with known roles; each later change goes to every worker.
  const monitors = new MonitorSet(config, log, (states) => {
    local?.applyServerStates(states);
    for (const h of handles) h.updateServers(states);
  });
  await monitors.start();

  if (config.workers === 0) {
    const rt = new WorkerRuntime(config, 0, log, async () => false);
    rt.applyServerStates(monitors.statuses());
    await rt.init();
    local = rt;
    onConnection = (socket, listener) => rt.adopt(socket, listener);
  } else {
    const relays = new Map<number, { from: WorkerHandle; req: number }>();
    let nextRelay = 1;
    const onKillRequest = (from: WorkerHandle, req: number, id: number, query: boolean): void => {
      const owner = handles[(id & MAX_WORKERS) - 1];
      if (!owner?.alive) return from.send({ t: 'kill-reply', req, found: false });
      const relay = nextRelay++;
      relays.set(relay, { from, req });
      setTimeout(() => {
        const r = relays.get(relay);
        if (r) {
          relays.delete(relay);
          r.from.send({ t: 'kill-reply', req: r.req, found: false });
        }
      }, 10_000).unref();
      owner.send({ t: 'kill', req: relay, id, query });
    };
    const onKillResult = (relay: number, found: boolean): void => {
      const r = relays.get(relay);
      if (!r) return;
      relays.delete(relay);
      r.from.send({ t: 'kill-reply', req: r.req, found });
    };
    // Worker indexes start at 1 so that a session id's low bits are never 0 in multi-process mode.
    for (let i = 1; i <= config.workers; i++) handles.push(new WorkerHandle(i, config, log, onKillRequest, onKillResult));
    for (const h of handles) h.updateServers(monitors.statuses());
    try {
      await Promise.all(handles.map((h) => h.start()));
    } catch (err) {
      await Promise.all(handles.map((h) => h.stop()));
      await monitors.stop();
      throw err;
    }
    onConnection = (socket, listener) => {
      // Owner first: choose the worker with the fewest sessions, then hand the paused socket over.
      let best: WorkerHandle | null = null;
      for (const h of handles) if (h.alive && (!best || h.assigned < best.assigned)) best = h;
      // Skip a worker that stopped answering pings (frozen, awaiting the watchdog) if another answers.
      if (best && !best.responsive) {
        let other: WorkerHandle | null = null;
        for (const h of handles) if (h.responsive && (!other || h.assigned < other.assigned)) other = h;
        best = other ?? best;
      }
      if (!best) return void socket.destroy();
      best.handOff(socket, listener);
    };
  }

  const stats = async (): Promise<ProxyStats> => {
    if (local) {
      const s = local.stats();
      return { sessions: s.sessions, workers: [{ ...s, alive: true }] };
    }
    const all = await Promise.all(handles.map(async (h) => {
      const s = await h.requestStats();
      return { ...(s ?? { index: h.index, pid: h.child?.pid ?? 0, sessions: 0, rssBytes: 0 }), assigned: h.assigned, restarts: h.restarts, alive: s !== null };
    }));
    return { sessions: all.reduce((n, w) => n + w.sessions, 0), workers: all };
  };

  // Hot swap: prepared here once, applied by every worker (or by this process with workers: 0).
  const swapper = new PluginSwapper(() => config, () => local
    ? [{ index: 0, apply: (p) => applySwap(p) }]
    : handles.map((h) => ({ index: h.index, apply: (p) => h.requestSwap(p, SWAP_WORKER_TIMEOUT_MS) })), log);
  const pluginWorkers = async () => local
    ? [{ worker: 0, plugins: slotRegistry.report() }]
    : Promise.all(handles.map(async (h) => ({ worker: h.index, plugins: await h.requestPlugins() })));

  const watcher = new PluginWatcher(config, swapper, log);

  let admin: http.Server | null = null;
  const stop = async (): Promise<void> => {
    watcher.close();
    // Stop accepting, but close the sessions before waiting for the listeners: server.close()
    // calls back only once every connection (those handed to workers too) has ended, so waiting
    // first hung SIGTERM for as long as one client stayed connected.
    const closed = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    if (admin) admin.close();
    if (local) await local.close();
    await Promise.all(handles.map((h) => h.stop()));
    await monitors.stop();
    await Promise.all(closed);
  };

  try {
    for (const l of Object.values(config.listeners)) {
      servers.push(await listen(l, (socket) => onConnection(socket, l.name)));
    }
    if (config.admin.enabled) admin = await startAdminServer(config.admin.host, config.admin.port, {
      stats,
      servers: () => monitors.servers(),
      monitors: () => monitors.reports(),
      plugins: { config: () => config, swapper, workers: pluginWorkers },
    }, log);
  } catch (err) {
    await stop();
    throw err;
  }

  const listeners = Object.values(config.listeners).map((l, i) => ({
    name: l.name,
    host: l.host,
    port: (servers[i]!.address() as net.AddressInfo).port,
  }));
  for (const l of listeners) log.info(l, 'listening');
  return {
    listeners,
    adminPort: admin ? (admin.address() as net.AddressInfo).port : null,
    stats,
    stop,
  };
}
