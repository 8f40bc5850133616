// The imports an instance gets (ABI.md §8): the wasmscale_v1 host functions, and env.abort /
// env.trace / env.seed for modules built without the SDK's abort handler. Host functions never
// throw on bad arguments (they return a status code); env.abort throws, which traps the call.
// One HostEnv per instance: it reads that instance's memory, set once it is instantiated.
import type { Logger } from 'pino';
import { HOST_MODULE, Status } from './abi/constants.js';
import type { PluginMetrics } from './plugin-metrics.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

/** Log lines a plugin instance may write: a burst, then this many per second. */
const LOG_BURST = 100;
const LOG_PER_SECOND = 20;

type HostFunction = (callContext: unknown, ...args: number[]) => number | void;

export class HostEnv {
  memory: WebAssembly.Memory | null = null;
  private tokens = LOG_BURST;
  private lastRefill = performance.now();
  private dropped = 0;

  constructor(
    private readonly plugin: string,
    private readonly log: Logger,
    private readonly metrics: PluginMetrics,
  ) {}

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

  /** The import object's namespaces (Extism binds each function with a call context first). */
  functions(): Record<string, Record<string, HostFunction>> {
    return {
      [HOST_MODULE]: {
        log: (_ctx, level, ptr, len) => {
          const bytes = this.read(ptr!, len!);
          if (!bytes) return Status.BAD_ARGUMENT;
          const name = LEVELS[Math.max(0, Math.min(4, level! | 0))]!;
          if (this.allowLine()) this.log[name]({ plugin: this.plugin }, bytes.toString('utf8'));
          return Status.OK;
        },
        metric_add: (_ctx, namePtr, nameLen, value) => {
          const bytes = this.read(namePtr!, nameLen!);
          if (!bytes) return Status.BAD_ARGUMENT;
          return this.metrics.add(bytes.toString('utf8'), value!) ? Status.OK : Status.BAD_ARGUMENT;
        },
        clock_ms: () => performance.now(),
      },
      env: {
        abort: (_ctx, msg, file, line, column) => {
          const where = `${this.readAsString(file!)}:${line}:${column}`;
          throw new PluginAbort(`plugin ${this.plugin} aborted: ${this.readAsString(msg!) || '(no message)'} at ${where}`);
        },
        trace: (_ctx, msg, n, ...args) => {
          if (this.allowLine()) this.log.trace({ plugin: this.plugin, args: args.slice(0, n) }, this.readAsString(msg!));
        },
        seed: () => Date.now() * Math.random(),
      },
    };
  }
}

/** env.abort was called: the call traps (handled like any other trap). */
export class PluginAbort extends Error {
  override name = 'PluginAbort';
}
