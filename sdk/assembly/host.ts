// Host functions (ABI.md §8), import module "wasmscale_v1". They never trap on bad arguments:
// they return a status code. Plugin code uses the wrappers in log.ts and metrics.ts.

@external("wasmscale_v1", "log")
export declare function host_log(level: i32, ptr: usize, len: i32): i32;

@external("wasmscale_v1", "metric_add")
export declare function host_metric_add(namePtr: usize, nameLen: i32, value: f64): i32;

@external("wasmscale_v1", "clock_ms")
export declare function host_clock_ms(): f64;
