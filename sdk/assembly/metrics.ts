// Counters kept by the host, named "<plugin>_<name>" (wasmscale_v1.metric_add).
import { host_clock_ms, host_metric_add } from "./host";

export namespace metrics {
  /** Adds `value` (default 1) to the counter `name`. */
  export function add(name: string, value: f64 = 1): void {
    const bytes = String.UTF8.encode(name);
    host_metric_add(changetype<usize>(bytes), bytes.byteLength, value);
  }
}

/** Monotonic milliseconds from the host (there is no other clock in the sandbox). */
export function clockMs(): f64 {
  return host_clock_ms();
}
