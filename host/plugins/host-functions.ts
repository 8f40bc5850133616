// The imports an instance gets (ABI.md §8): the wasmscale_v1 host functions, and env.abort /
// env.trace / env.seed for modules built without the SDK's abort handler. Host functions never
// throw on bad arguments (they return a status code); env.abort throws, which traps the call.
// One HostEnv per instance: it reads that instance's memory, set once it is instantiated.
//
// Limits a plugin cannot escape through host functions (ABI.md §8, §9):
// - time: the fuel meter charges a host call only its call expression, so every host function
//   (and every Extism kernel function, kernel.ts) checks a per-call deadline: the first host call
//   of a hook call starts it, `hostLimitMs` later the next host call throws HostTimeLimit,
//   which traps the call. The clock is read by clock_ms and log on every call, by the other
//   functions on one call in HOST_CHECK_EVERY (a countdown in between).
// - memory: the Extism kernel's alloc() is charged against the plugin's memory quota (its
//   blocks live in the host's heap, outside the plugin's linear memory).
// - log lines: rate-limited, and cut at MAX_LOG_LINE_BYTES.
// - counter names: PluginMetrics keeps at most MAX_COUNTERS per plugin per slot.
import type { Logger } from 'pino';
import { HOST_MODULE, Status } from './abi/constants.js';
import type { KernelGuard } from './kernel.js';
import { MAX_COUNTERS, type PluginMetrics } from './plugin-metrics.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

/** Log lines a plugin instance may write: a burst, then this many per second. */
const LOG_BURST = 100;
const LOG_PER_SECOND = 20;
/** Longest log line kept, in bytes of the plugin's text; longer lines are cut and marked. */
export const MAX_LOG_LINE_BYTES = 4096;

/** Host-time limit of a call: this many times the call's CPU budget, and at least MIN_HOST_LIMIT_MS. */
export const HOST_LIMIT_FACTOR = 4;
export const MIN_HOST_LIMIT_MS = 20;

/** The host-time limit for a call whose CPU budget is `budgetMs`. */
export function hostLimitFor(budgetMs: number): number {
  return Math.max(MIN_HOST_LIMIT_MS, HOST_LIMIT_FACTOR * budgetMs);
}

/** hostCall() reads the clock on one call in this many (clock_ms and log on every call). */
export const HOST_CHECK_EVERY = 16;

/** The default memory quota (ABI.md §2): 16 MiB. */
const DEFAULT_MEMORY_QUOTA = 256 * 65536;

type HostFunction = (...args: number[]) => number | void;

/** A call spent longer than its host-time limit since its first host-function call: the call traps. */
export class HostTimeLimit extends Error {
  override name = 'HostTimeLimit';
}

/** Extism kernel alloc() past the plugin's memory quota: the call traps. */
export class KernelMemoryLimit extends Error {
  override name = 'KernelMemoryLimit';
}

export class HostEnv implements KernelGuard {
  memory: WebAssembly.Memory | null = null;
  /** Deadline of the current call (performance.now() ms); 0: no host-time check in this call yet. */
  deadline = 0;
  /** Host-time limit per call, ms. */
  hostLimitMs = MIN_HOST_LIMIT_MS;
  private countdown = 1;
  /** Bytes the Extism kernel allocated for this instance since its last reset. */
  kernelBytes = 0;
  private tokens = LOG_BURST;
  private lastRefill = performance.now();
  private dropped = 0;

  constructor(
    private readonly plugin: string,
    private readonly log: Logger,
    private readonly metrics: PluginMetrics,
    /** The plugin's memory quota in bytes (limits.memory): linear memory + kernel blocks. */
    readonly memoryQuota: number = DEFAULT_MEMORY_QUOTA,
  ) {}

  /**
   * Called by every host function: checks the call's host-time deadline every
   * HOST_CHECK_EVERY calls (a countdown in between: reading the clock costs ~40 ns, more
   * than a cheap host function itself). Throws HostTimeLimit, trapping the call, past it.
   */
  hostCall(): void {
    if (--this.countdown > 0) return;
    this.countdown = HOST_CHECK_EVERY;
    this.checkTime(performance.now());
  }

  /** The deadline check with the clock read (`now`), which it returns: starts the window if none. */
  checkTime(now: number): number {
    const d = this.deadline;
    if (d === 0) this.deadline = now + this.hostLimitMs;
    else if (now > d) {
      throw new HostTimeLimit(`plugin ${this.plugin}: call went on for more than ${this.hostLimitMs} ms after its first host-function call (host-time limit)`);
    }
    return now;
  }

  kernelAlloc(n: number): void {
    const linear = this.memory?.buffer.byteLength ?? 0;
    if (!(n >= 0) || this.kernelBytes + n + linear > this.memoryQuota) {
      throw new KernelMemoryLimit(
        `plugin ${this.plugin}: extism:host/env.alloc(${n}) refused: kernel blocks (${this.kernelBytes} bytes held) and linear memory (${linear} bytes) would exceed the memory quota of ${this.memoryQuota} bytes`);
    }
    this.kernelBytes += n;
  }

  /** Bytes [ptr, ptr+len) of the instance's memory, or null if out of range. */
  private read(ptr: number, len: number): Buffer | null {
    const mem = this.memory;
    ptr >>>= 0;
    len >>>= 0;
    if (!mem || ptr + len > mem.buffer.byteLength) return null;
    return Buffer.from(mem.buffer, ptr, len);
  }

  /** An AssemblyScript string (UTF-16LE; byte length in the object header at ptr-4), best effort. */
  private readAsString(ptr: number): string {
    const mem = this.memory;
    ptr >>>= 0;
    if (!mem || ptr < 4 || ptr > mem.buffer.byteLength) return '';
    const len = new DataView(mem.buffer).getUint32(ptr - 4, true);
    if (ptr + len > mem.buffer.byteLength || len > 4096) return '';
    return Buffer.from(mem.buffer, ptr, len).toString('utf16le');
  }

  private allowLine(): boolean {
    const now = performance.now();
    this.tokens = Math.min(LOG_BURST, this.tokens + ((now - this.lastRefill) / 1000) * LOG_PER_SECOND);
    this.lastRefill = now;
    if (this.tokens < 1) {
      this.dropped++;
      return false;
    }
    this.tokens -= 1;
    if (this.dropped > 0) {
      this.log.warn({ plugin: this.plugin, dropped: this.dropped }, 'plugin log lines dropped (rate limit)');
      this.dropped = 0;
    }
    return true;
  }

  /** A log line's text: at most MAX_LOG_LINE_BYTES of `bytes`, marked when cut. */
  private static lineText(bytes: Uint8Array): string {
    if (bytes.length <= MAX_LOG_LINE_BYTES) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
    let end = MAX_LOG_LINE_BYTES;
    // Do not cut a UTF-8 sequence: back up over continuation bytes (at most 3).
    while (end > MAX_LOG_LINE_BYTES - 3 && (bytes[end]! & 0xc0) === 0x80) end--;
    const head = Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('utf8');
    return `${head} … [truncated: ${bytes.length} bytes, first ${end} kept]`;
  }

  /** A logger for the Extism kernel's log_* calls: rate-limited and cut like wasmscale_v1.log. */
  kernelLogger(): Console {
    const at = (level: 'debug' | 'info' | 'warn' | 'error') => (...args: unknown[]) => {
      if (!this.allowLine()) return;
      const text = args.map(String).join(' ');
      this.log[level]({ plugin: this.plugin }, HostEnv.lineText(Buffer.from(text, 'utf8')));
    };
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), log: at('info'), trace: at('debug') } as unknown as Console;
  }

  /** The import object's namespaces (not the Extism kernel's: kernel.ts). */
  functions(): Record<string, Record<string, HostFunction>> {
    return {
      [HOST_MODULE]: {
        log: (level, ptr, len) => {
          this.checkTime(performance.now());
          const bytes = this.read(ptr!, len!);
          if (!bytes) return Status.BAD_ARGUMENT;
          const name = LEVELS[Math.max(0, Math.min(4, level! | 0))]!;
          if (this.allowLine()) this.log[name]({ plugin: this.plugin }, HostEnv.lineText(bytes));
          return Status.OK;
        },
        metric_add: (namePtr, nameLen, value) => {
          this.hostCall();
          const bytes = this.read(namePtr!, nameLen!);
          if (!bytes) return Status.BAD_ARGUMENT;
          const status = this.metrics.add(bytes.toString('utf8'), value!);
          if (status === Status.TOO_LARGE && this.metrics.noteFull()) {
            this.log.warn({ plugin: this.plugin, counters: MAX_COUNTERS }, `plugin has ${MAX_COUNTERS} counters; metric_add with a new name returns TOO_LARGE (logged once)`);
          }
          return status;
        },
        clock_ms: () => this.checkTime(performance.now()),
      },
      env: {
        abort: (msg, file, line, column) => {
          const where = `${this.readAsString(file!)}:${line}:${column}`;
          throw new PluginAbort(`plugin ${this.plugin} aborted: ${this.readAsString(msg!) || '(no message)'} at ${where}`);
        },
        trace: (msg, n, ...args) => {
          this.hostCall();
          if (this.allowLine()) this.log.trace({ plugin: this.plugin, args: args.slice(0, n) }, this.readAsString(msg!));
        },
        seed: () => {
          this.hostCall();
          return Date.now() * Math.random();
        },
      },
    };
  }
}

/** env.abort was called: the call traps (handled like any other trap). */
export class PluginAbort extends Error {
  override name = 'PluginAbort';
}
