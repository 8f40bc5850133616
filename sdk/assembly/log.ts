// Logging through the host (wasmscale_v1.log). The host tags each line with the plugin's name
// and rate-limits it, so a chatty plugin cannot flood the proxy's log.
import { host_log } from "./host";

export namespace LogLevel {
  export const TRACE: i32 = 0;
  export const DEBUG: i32 = 1;
  export const INFO: i32 = 2;
  export const WARN: i32 = 3;
  export const ERROR: i32 = 4;
}

export namespace log {
  export function write(level: i32, message: string): void {
    const bytes = String.UTF8.encode(message);
    host_log(level, changetype<usize>(bytes), bytes.byteLength);
  }
  export function trace(message: string): void { write(LogLevel.TRACE, message); }
  export function debug(message: string): void { write(LogLevel.DEBUG, message); }
  export function info(message: string): void { write(LogLevel.INFO, message); }
  export function warn(message: string): void { write(LogLevel.WARN, message); }
  export function error(message: string): void { write(LogLevel.ERROR, message); }
}
