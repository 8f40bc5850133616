// The host's logger: pino. JSON lines to stdout for machines; pino-pretty for a person at a
// terminal. pino-pretty runs in-process as a synchronous stream, not as a worker-thread
// transport: a proxy that forks routing workers should not spawn a logging thread in each, and
// a synchronous stream means the last lines before a crash or process.exit() are not lost.
import { pino, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';

export type Logger = PinoLogger;

export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LoggerOptions {
  /** trace | debug | info | warn | error | fatal | silent */
  level: string;
  /** 'auto' = pretty when stdout is a TTY, JSON otherwise (a pipe, a file, a log collector). */
  format: LogFormat;
}

/**
 * `bindings` are added to every line (e.g. `{ worker: 3 }`). The pid is kept in JSON (it tells
 * workers apart); the hostname is left out because it is the same for every line.
 */
export function createLogger(opts: LoggerOptions, bindings: Record<string, unknown> = {}): Logger {
  const usePretty = opts.format === 'pretty' || (opts.format === 'auto' && process.stdout.isTTY === true);
  const options = { level: opts.level, base: { pid: process.pid, ...bindings } };
  if (!usePretty) return pino(options);
  const stream = pretty({
    sync: true,
    destination: 1,
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
  return pino(options, stream);
}
