import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type net from 'node:net';
import { handleOf } from './socket-handoff.js';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { ServerStatus } from '../monitor/server-state.js';
import type { PreparedPlugin } from '../plugins/prepared-plugin.js';
import { pluginStore } from '../plugins/plugin-store.js';
import type { SlotReport } from '../plugins/slot-registry.js';
import type { SwapApplied } from '../plugins/swap-apply.js';
import { Pending, type FromWorker, type ToWorker } from './ipc.js';
import type { WorkerStats } from './worker-runtime.js';

const PING_EVERY_MS = 2000;
const UNRESPONSIVE_AFTER_MS = 10_000;
// Start-up (process launch, module loading, first account fetch) has its own, longer limit: on a
// loaded machine it can outlast UNRESPONSIVE_AFTER_MS, and a watchdog kill then failed the start.
const START_TIMEOUT_MS = 60_000;

/** Where the worker entry point is: compiled JS, or the TypeScript source under tsx (tests). */
function workerEntry(): { file: string; execArgv: string[] } {
  const js = fileURLToPath(new URL('./worker-main.js', import.meta.url));
  if (existsSync(js)) return { file: js, execArgv: [] };
  return { file: fileURLToPath(new URL('./worker-main.ts', import.meta.url)), execArgv: ['--import', 'tsx'] };
}

/**
 * The primary's side of one routing worker: spawns it, hands it sockets, counts its sessions,
 * and restarts it when it dies or stops answering pings (the watchdog).
 */
export class WorkerHandle {
  child: ChildProcess | null = null;
  /** Sessions handed over and not yet reported closed: what least-sessions balancing uses. */
  assigned = 0;
  restarts = 0;
  private readonly stats = new Pending<WorkerStats | null>();
  private readonly swaps = new Pending<SwapApplied | null>();
  private readonly pluginReports = new Pending<Record<string, SlotReport[]> | null>();
  private lastPong = Date.now();
  private watchdog: NodeJS.Timeout | null = null;
  private stopping = false;
  private ready = false;
  private startedAt = 0;
  /** Latest monitored server states: sent on change, and with `init` when the worker (re)starts. */
  private servers: ServerStatus[] = [];

  constructor(
    readonly index: number,
    private config: Config,
    private readonly log: Logger,
    private readonly onKillRequest: (from: WorkerHandle, req: number, id: number, query: boolean) => void,
    private readonly onKillResult: (req: number, found: boolean) => void,
  ) {}

  start(): Promise<void> {
    const entry = workerEntry();
    const child = fork(entry.file, [], { execArgv: [...process.execArgv.filter((a) => !a.startsWith('--inspect')), ...entry.execArgv], serialization: 'advanced' });
    this.child = child;
    // IPC errors of a dying worker: its 'exit' is what counts (restart or stop), not a crash here.
    child.on('error', (err) => this.log.debug({ worker: this.index, err: err.message }, 'worker IPC error'));
    this.assigned = 0;
    this.lastPong = Date.now();
    this.ready = false;
    this.startedAt = Date.now();
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (msg: FromWorker) => {
        switch (msg.t) {
          case 'ready':
            this.ready = true;
            this.lastPong = Date.now();
            return resolve();
          case 'init-failed': return reject(new Error(`worker ${this.index}: ${msg.error}`));
          case 'closed': this.assigned = Math.max(0, this.assigned - 1); return;
          case 'kill-req': return this.onKillRequest(this, msg.req, msg.id, msg.query);
          case 'kill-result': return this.onKillResult(msg.req, msg.found);
          case 'stats-result': return this.stats.settle(msg.req, msg.stats);
          case 'pong': this.lastPong = Date.now(); return;
          case 'swap-result': return this.swaps.settle(msg.req, msg.result);
          case 'plugins-result': return this.pluginReports.settle(msg.req, msg.plugins);
        }
      });
      child.once('exit', (code, signal) => {
        reject(new Error(`worker ${this.index} exited during start-up (code ${code}, signal ${signal})`));
        this.onExit(child, code, signal);
      });
    });
    this.send({ t: 'init', config: this.config, index: this.index, servers: this.servers, plugins: pluginStore.list() });
    this.watchdog ??= setInterval(() => this.checkAlive(), PING_EVERY_MS);
    this.watchdog.unref();
    return ready;
  }

  private checkAlive(): void {
    if (!this.child || this.stopping) return;
    if (!this.ready) {
      if (Date.now() - this.startedAt > START_TIMEOUT_MS) {
        this.log.error({ worker: this.index, pid: this.child.pid }, 'worker did not finish starting; restarting it');
        this.child.kill('SIGKILL');
      }
      return;
    }
    if (Date.now() - this.lastPong > UNRESPONSIVE_AFTER_MS) {
      this.log.error({ worker: this.index, pid: this.child.pid }, 'worker stopped answering; restarting it');
      this.child.kill('SIGKILL');
      return;
    }
    this.send({ t: 'ping', req: 0 });
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.child = null;
    this.stats.failAll(null);
    this.swaps.failAll(null);
    this.pluginReports.failAll(null);
    if (this.stopping) return;
    this.restarts++;
    this.log.error({ worker: this.index, code, signal, lostSessions: this.assigned }, 'worker died; restarting it');
    setTimeout(() => {
      if (!this.stopping) this.start().catch((err: Error) => this.log.error({ worker: this.index, err: err.message }, 'worker restart failed'));
    }, 100).unref();
  }

  /**
   * Answered a ping lately. A frozen worker still looks alive (its IPC channel is open) until the
   * watchdog kills it; new connections should not be handed to it meanwhile, where they would hang.
   */
  get responsive(): boolean {
    return this.alive && Date.now() - this.lastPong < 2 * PING_EVERY_MS + 1000;
  }

  get alive(): boolean {
    return this.child !== null && this.child.connected;
  }

  send(msg: ToWorker): void {
    // With a callback, a worker that is exiting (EPIPE) is an answer here, not an 'error' event
    // that would bring the primary down (regression: Ctrl-C / SIGTERM to the process group).
    if (this.child?.connected) this.child.send(msg, (err) => {
      if (err) this.log.debug({ worker: this.index, err: err.message }, 'message to an exiting worker not delivered');
    });
  }

  /** Hands an accepted, still paused socket to this worker; the primary keeps no copy. */
  handOff(socket: net.Socket, listener: string): void {
    this.assigned++;
    const child = this.child;
    if (!child?.connected) {
      this.assigned--;
      socket.destroy();
      return;
    }
    const handle = handleOf(socket);
    if (!handle) {
      this.assigned--;
      socket.destroy();
      return;
    }
    // The raw handle, not the socket: the worker builds its own socket with onread. The kernel
    // has duplicated the descriptor into the message once it is written, so ours closes then.
    child.send({ t: 'conn', listener } satisfies ToWorker, handle as unknown as net.Socket, (err) => {
      socket.destroy();
      if (err) this.assigned = Math.max(0, this.assigned - 1);
    });
  }

  requestStats(): Promise<WorkerStats | null> {
    if (!this.alive) return Promise.resolve(null);
    const { req, promise } = this.stats.open(2000, null);
    this.send({ t: 'stats', req });
    return promise;
  }

  /** Hot swap in this worker; null if it is not running or did not answer in time. */
  requestSwap(plugin: PreparedPlugin, timeoutMs: number): Promise<SwapApplied | null> {
    if (!this.alive) return Promise.resolve(null);
    const { req, promise } = this.swaps.open(timeoutMs, null);
    this.send({ t: 'swap', req, plugin });
    return promise;
  }

  /** The worker's plugin slots; null if it is not running or did not answer. */
  requestPlugins(): Promise<Record<string, SlotReport[]> | null> {
    if (!this.alive) return Promise.resolve(null);
    const { req, promise } = this.pluginReports.open(2000, null);
    this.send({ t: 'plugins', req });
    return promise;
  }

  updateServers(servers: ServerStatus[]): void {
    this.servers = servers;
    this.send({ t: 'servers', servers });
  }

  updateConfig(config: Config): void {
    this.config = config;
    this.send({ t: 'config', config });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.watchdog) clearInterval(this.watchdog);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.send({ t: 'stop' });
    });
  }
}
