import type net from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { ServerStatus } from '../monitor/server-state.js';
import { ClientSession } from '../session/client-session.js';
import type { ReadBuffer } from '../session/read-buffer.js';
import { killBackendThread } from './backend-kill.js';
import { ownerOf, SessionRegistry } from './session-registry.js';
import { ServiceRuntime } from './service-runtime.js';

export interface WorkerStats {
  index: number;
  pid: number;
  sessions: number;
  rssBytes: number;
}

/** Asks the owner of a session id (another worker) to kill it; resolves whether it existed. */
export type RemoteKill = (id: number, query: boolean) => Promise<boolean>;

/**
 * Everything one routing worker runs: its services and its sessions. A session and its backend
 * connections live here for their whole life. Used by worker processes and, with `workers: 0`,
 * directly by the primary.
 */
export class WorkerRuntime {
  readonly registry: SessionRegistry;
  private readonly services = new Map<string, ServiceRuntime>();
  onSessionClosed: () => void = () => {};

  constructor(
    private config: Config,
    readonly index: number,
    private readonly log: Logger,
    private readonly remoteKill: RemoteKill,
  ) {
    this.registry = new SessionRegistry(index);
    for (const svc of Object.values(config.services)) {
      this.services.set(svc.name, new ServiceRuntime(svc, config, log.child({ service: svc.name }), (id, q) => this.kill(id, q)));
    }
  }

  async init(): Promise<void> {
    await Promise.all([...this.services.values()].map((s) => s.init()));
  }

  /** Takes ownership of an accepted socket: only now is it read and greeted. */
  adopt(socket: net.Socket, listenerName: string, reads: ReadBuffer | null = null): void {
    const listener = this.config.listeners[listenerName];
    const service = listener ? this.services.get(listener.service) : undefined;
    if (!listener || !service) {
      this.log.error({ listener: listenerName }, 'connection for an unknown listener');
      socket.destroy();
      this.onSessionClosed();
      return;
    }
    const session = new ClientSession(this.registry.nextId(), socket, service, {
      onClose: (s) => {
        this.registry.remove(s);
        this.onSessionClosed();
      },
    }, listener.handshake_timeout, reads);
    this.registry.add(session);
    session.start();
  }

  /** KILL from one of this worker's sessions: local ids directly, others through the primary. */
  async kill(id: number, query: boolean): Promise<boolean> {
    if (ownerOf(id) !== this.index) return this.remoteKill(id, query);
    return this.killLocal(id, query);
  }

  async killLocal(id: number, query: boolean): Promise<boolean> {
    const target = this.registry.get(id);
    if (!target) return false;
    const service = this.services.get(target.service)!;
    const { user, password } = service.serviceUser;
    await target.killedBy(query, async (serverName, threadId, q) => {
      const server = service.server(serverName);
      if (!server) return;
      try {
        await killBackendThread(server, user, password, threadId, q, service.settings.connectTimeoutMs);
      } catch (err) {
        this.log.warn({ server: serverName, threadId, err: (err as Error).message }, 'KILL on the backend failed (does the service user have CONNECTION ADMIN?)');
      }
    });
    return true;
  }

  stats(): WorkerStats {
    return { index: this.index, pid: process.pid, sessions: this.registry.size, rssBytes: process.memoryUsage.rss() };
  }

  /** Monitored servers' states (from the primary's monitors) for the services that use them. */
  applyServerStates(states: readonly ServerStatus[]): void {
    for (const svc of this.services.values()) svc.applyServerStates(states);
  }

  updateConfig(config: Config): void {
    this.config = config;
    for (const [name, svc] of this.services) {
      const c = config.services[name];
      if (c) svc.update(c, config);
    }
  }

  async close(): Promise<void> {
    for (const s of [...this.registry.all()]) s.close();
    for (const svc of this.services.values()) svc.close();
  }
}
