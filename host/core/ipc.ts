import type { Config } from '../config/index.js';
import type { ServerStatus } from '../monitor/server-state.js';
import type { PreparedPlugin } from '../plugins/prepared-plugin.js';
import type { SlotReport } from '../plugins/slot-registry.js';
import type { SwapApplied } from '../plugins/swap-apply.js';
import type { WorkerStats } from './worker-runtime.js';

/** Messages between the primary and its routing workers (child processes, Node IPC channel). */
export type ToWorker =
  /** `plugins`: router plugins the primary prepared (sandboxed, validated); see host/plugins/plugin-store.ts. */
  | { t: 'init'; config: Config; index: number; servers: ServerStatus[]; plugins?: PreparedPlugin[] }
  /** Monitored servers' states, sent on every change (all monitored servers each time). */
  | { t: 'servers'; servers: ServerStatus[] }
  | { t: 'conn'; listener: string }
  | { t: 'kill'; req: number; id: number; query: boolean }
  | { t: 'kill-reply'; req: number; found: boolean }
  | { t: 'stats'; req: number }
  | { t: 'ping'; req: number }
  | { t: 'config'; config: Config }
  /** Hot swap: a new version of a plugin, prepared and validated by the primary (host/plugins/plugin-swap.ts). */
  | { t: 'swap'; req: number; plugin: PreparedPlugin }
  /** The worker's plugin slots: versions, metrics, quarantine (GET /v1/plugins). */
  | { t: 'plugins'; req: number }
  | { t: 'stop' };

export type FromWorker =
  | { t: 'ready' }
  | { t: 'init-failed'; error: string }
  | { t: 'closed' }
  | { t: 'kill-req'; req: number; id: number; query: boolean }
  | { t: 'kill-result'; req: number; found: boolean }
  | { t: 'stats-result'; req: number; stats: WorkerStats }
  | { t: 'pong'; req: number }
  | { t: 'swap-result'; req: number; result: SwapApplied }
  | { t: 'plugins-result'; req: number; plugins: Record<string, SlotReport[]> };

/** Pending request/response pairs keyed by a numeric id, with a timeout. */
export class Pending<T> {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: T) => void; timer: NodeJS.Timeout }>();

  open(timeoutMs: number, onTimeout: T): { req: number; promise: Promise<T> } {
    const req = this.next++;
    const promise = new Promise<T>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(req);
        resolve(onTimeout);
      }, timeoutMs);
      this.waiting.set(req, { resolve, timer });
    });
    return { req, promise };
  }

  settle(req: number, value: T): void {
    const w = this.waiting.get(req);
    if (!w) return;
    this.waiting.delete(req);
    clearTimeout(w.timer);
    w.resolve(value);
  }

  failAll(value: T): void {
    for (const [req] of this.waiting) this.settle(req, value);
  }
}
