import type { Config } from '../config/index.js';
import type { ServerStatus } from '../monitor/server-state.js';
import { pluginStore } from '../plugins/plugin-store.js';
import { slotRegistry } from '../plugins/slot-registry.js';
import { applySwap } from '../plugins/swap-apply.js';
import { createLogger } from './logger.js';
import { Pending, type FromWorker, type ToWorker } from './ipc.js';
import { socketFromHandle, type TcpHandle } from './socket-handoff.js';
import { WorkerRuntime } from './worker-runtime.js';

// Entry point of a routing worker process. It owns the sockets the primary hands it; the
// primary never reads them, so no event can reach a connection before this process holds it.

function send(msg: FromWorker): void {
  if (process.connected) process.send!(msg);
}

let runtime: WorkerRuntime | null = null;
/** init() in progress or done: a swap that arrives during start-up waits for it (its slots exist then). */
let started: Promise<void> = Promise.resolve();
const remoteKills = new Pending<boolean>();

async function init(config: Config, index: number, servers: ServerStatus[]): Promise<void> {
  const log = createLogger(config.log, { worker: index });
  runtime = new WorkerRuntime(config, index, log, (id, query) => {
    const { req, promise } = remoteKills.open(10_000, false);
    send({ t: 'kill-req', req, id, query });
    return promise;
  });
  runtime.onSessionClosed = () => send({ t: 'closed' });
  runtime.applyServerStates(servers);
  await runtime.init();
  send({ t: 'ready' });
}

process.on('message', (msg: ToWorker, handle: unknown) => {
  switch (msg.t) {
    case 'init':
      for (const p of msg.plugins ?? []) pluginStore.add(p);
      started = init(msg.config, msg.index, msg.servers ?? []).catch((err: unknown) => send({ t: 'init-failed', error: (err as Error).message }));
      return;
    case 'swap':
      void started
        .then(() => applySwap(msg.plugin))
        .catch((err: unknown) => ({ swapped: 0, errors: [(err as Error).message] }))
        .then((result) => send({ t: 'swap-result', req: msg.req, result }));
      return;
    case 'plugins':
      send({ t: 'plugins-result', req: msg.req, plugins: slotRegistry.report() });
      return;
    case 'conn': {
      if (!runtime || !handle) {
        // The client hung up while its socket was in flight: nothing to own.
        if (handle) socketFromHandle(handle as TcpHandle).socket.destroy();
        send({ t: 'closed' });
        return;
      }
      const { socket, reads } = socketFromHandle(handle as TcpHandle);
      runtime.adopt(socket, msg.listener, reads);
      return;
    }
    case 'kill':
      void (runtime?.killLocal(msg.id, msg.query) ?? Promise.resolve(false))
        .catch(() => false)
        .then((found) => send({ t: 'kill-result', req: msg.req, found }));
      return;
    case 'kill-reply':
      remoteKills.settle(msg.req, msg.found);
      return;
    case 'stats':
      if (runtime) send({ t: 'stats-result', req: msg.req, stats: runtime.stats() });
      return;
    case 'ping':
      send({ t: 'pong', req: msg.req });
      return;
    case 'config':
      runtime?.updateConfig(msg.config);
      return;
    case 'servers':
      runtime?.applyServerStates(msg.servers);
      return;
    case 'stop':
      void (runtime?.close() ?? Promise.resolve()).finally(() => process.exit(0));
      return;
  }
});

// The primary going away means nobody can hand us work or stop us: exit.
process.on('disconnect', () => process.exit(0));

// Ctrl-C in a terminal and a service manager's SIGTERM reach the whole process group: the
// primary stops the workers in order (sessions closed, then exit); a worker dying on the signal
// by itself would race with that.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
