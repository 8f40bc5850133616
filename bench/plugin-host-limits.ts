// Micro-benchmarks of the plugin host limits (host/plugins/host-functions.ts, kernel.ts,
// plugin-slot.ts): what a synchronous instance replacement costs, next to Extism's async path;
// what the per-call host-time check adds to a host-function call; what the hook wrapper adds
// to a hook call. No database.
//
//   node --import tsx bench/plugin-host-limits.ts
import { pino } from 'pino';
import { encodeStatement } from '../host/plugins/abi/encode.js';
import type { StatementRecord } from '../host/plugins/abi/records.js';
import { loadExtism } from '../host/plugins/extism.js';
import { HOST_CHECK_EVERY, HostEnv } from '../host/plugins/host-functions.js';
import { preparePlugin } from '../host/plugins/plugin-loader.js';
import { PluginMetrics } from '../host/plugins/plugin-metrics.js';
import { PluginVersion } from '../host/plugins/plugin-version.js';
import { TEST_LIMITS } from '../host/plugins/testkit.js';
import { bundledPlugin } from '../test/unit/plugin-fixtures.js';
import { wat } from '../test/unit/sandbox-fixtures.js';

const log = pino({ level: 'silent' });
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timeEach(n: number, fn: () => void): number {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return median(t) * 1000;
}

// ---- 1. making a configured instance -----------------------------------------------------
const config = { router_options: 'slave' };
const prepared = await preparePlugin({ name: 'rcr', file: await bundledPlugin('routers/readconnroute'), config, limits: TEST_LIMITS }, log);
const version = await PluginVersion.compile(prepared);
const metrics = new PluginMetrics('rcr');
await version.instantiate(log, metrics, 1e7); // loads the kernel
const syncUs = timeEach(300, () => {
  const inst = version.instantiateSync(log, metrics, 1e7, 16 << 20);
  if (inst.configureSync(config) !== null) throw new Error('refused');
  inst.subscribe(prepared.descriptor.hooks);
});
// Extism's own path (what every instance went through before): createPlugin, call, reset.
const { createPlugin } = await loadExtism();
const asyncT: number[] = [];
for (let i = 0; i < 300; i++) {
  const t0 = performance.now();
  const env = new HostEnv('rcr', log, metrics);
  const fns = env.functions();
  const p = await createPlugin({ wasm: [{ module: version.module, name: 'plugin' }] }, {
    useWasi: false, runInWorker: false, logger: env.kernelLogger(),
    functions: Object.fromEntries(Object.entries(fns).map(([ns, f]) => [ns, Object.fromEntries(Object.entries(f).map(([k, g]) => [k, (_c: unknown, ...a: number[]) => g(...a)]))])),
  });
  env.memory = (await p.getInstance('plugin')).exports.memory as WebAssembly.Memory;
  await p.call('configure', JSON.stringify(config));
  await p.reset();
  asyncT.push(performance.now() - t0);
}
console.log(`configured readconnroute instance: synchronous ${syncUs.toFixed(0)} µs (median of 300); Extism createPlugin + call ${(median(asyncT) * 1000).toFixed(0)} µs`);

// ---- 2. host-function calls --------------------------------------------------------------
const N = 2_000_000;
const loopText = (name: string, sig: string, call: string) => `(module
  (import "wasmscale_v1" "${name}" (func $f ${sig}))
  (memory (export "memory") 1)
  (data (i32.const 64) "a_counter")
  (func (export "run") (param $n i32) (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      ${call}
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))))`;
const mods = {
  clock_ms: new WebAssembly.Module(await wat(loopText('clock_ms', '(result f64)', '(drop (call $f))'))),
  metric_add: new WebAssembly.Module(await wat(loopText('metric_add', '(param i32 i32 f64) (result i32)', '(drop (call $f (i32.const 64) (i32.const 9) (f64.const 1)))'))),
};
for (const name of ['clock_ms', 'metric_add'] as const) {
  const per = (checked: boolean): number => {
    const env = new HostEnv('b', log, new PluginMetrics('b'));
    env.hostLimitMs = 1e9;
    if (!checked) {
      // As before: no deadline check (clock_ms read the clock and returned it).
      env.hostCall = () => {};
      env.checkTime = (now: number) => now;
    }
    const inst = new WebAssembly.Instance(mods[name], env.functions());
    env.memory = inst.exports.memory as WebAssembly.Memory;
    const run = inst.exports.run as (n: number) => void;
    const rounds: number[] = [];
    for (let r = 0; r < 6; r++) {
      env.deadline = 0;
      const t0 = performance.now();
      run(N);
      if (r > 0) rounds.push(((performance.now() - t0) * 1e6) / N);
    }
    return median(rounds);
  };
  // before/after alternately, twice, to even out the machine's noise
  const a = [per(false), per(true), per(false), per(true)];
  const unchecked = Math.min(a[0]!, a[2]!);
  const checked = Math.min(a[1]!, a[3]!);
  const extra = name === 'clock_ms' ? ' (clock_ms checks the reading it returns)' : ` (the clock read on 1 call in ${HOST_CHECK_EVERY})`;
  console.log(`${name}: ${unchecked.toFixed(0)} ns per call without the host-time check, ${checked.toFixed(0)} ns with it${extra}`);
}

// ---- 3. hook call through the wrapper ------------------------------------------------------
const inst = version.instantiateSync(log, metrics, 1e7, 16 << 20);
inst.configureSync(config);
inst.subscribe(prepared.descriptor.hooks);
inst.initExchange();
const sql = Buffer.from('\x03SELECT c FROM sbtest1 WHERE id = 4711');
const st = { sessionId: 1, currentServer: 0, command: 3, kind: 0, trx: 0, flags: 0, digestLo: 0, digestHi: 0, source: sql, sqlStart: 1, sqlEnd: sql.length, hint: 0, hintServer: '' } as StatementRecord;
const ops = new Uint32Array(1);
const len = encodeStatement(inst.ex, st, ops, 1);
const raw = inst.raw.exports.wsx_route as (n: number) => number;
const wrapped = inst.hooks.route!;
const M = 1_000_000;
const hookNs = (fn: (n: number) => number): number => {
  const rounds: number[] = [];
  for (let r = 0; r < 6; r++) {
    const t0 = performance.now();
    for (let i = 0; i < M; i++) {
      inst.fuel?.refill();
      fn(len);
    }
    if (r > 0) rounds.push(((performance.now() - t0) * 1e6) / M);
  }
  return median(rounds);
};
const h = [hookNs(raw), hookNs(wrapped), hookNs(raw), hookNs(wrapped)];
console.log(`readconnroute wsx_route (same record each call): raw export ${Math.min(h[0]!, h[2]!).toFixed(0)} ns, through the hook wrapper ${Math.min(h[1]!, h[3]!).toFixed(0)} ns`);
