// The CPU budget, proven by hostile plugins: infinite loops, huge bulk-memory operations and
// runaway recursion are stopped; a fresh instance serves again after a trap.

import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { prepareModule } from '../../host/plugins/sandbox/prepare.js';
import {
  DEFAULT_CPU_BUDGET_MS,
  FuelExhausted,
  createFuelMeter,
  fuelForMs,
  fuelLeft,
  setFuel,
  BULK_BYTES_PER_UNIT_LOG2,
  FUNCTION_ENTRY_COST,
} from '../../host/plugins/sandbox/fuel.js';
import { asImports, assemblyScript, fn, instantiate, memoryOf, wat } from './sandbox-fixtures.js';

const execFileAsync = promisify(execFile);
const limits = { maxMemoryPages: 256 };
const defaultBudget = fuelForMs(DEFAULT_CPU_BUDGET_MS);

/** CPU milliseconds (user + system) and wall milliseconds of fn(), which is expected to throw. */
function timeTrap(call: () => unknown): { cpuMs: number; wallMs: number; error: unknown } {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let error: unknown;
  try {
    call();
  } catch (err) {
    error = err;
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs, error };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const spinnerSource = `
  let state: u32 = 1;
  const table = new StaticArray<u32>(1024);
  export function spin(): void { while (true) {} }
  export function churn(): void {
    // an infinite loop that does work, so the optimizer cannot remove it
    while (true) { state = state * 1664525 + 1013904223; unchecked(table[state >>> 22] = state); }
  }
  let open: i32 = 0;
  export function openCalls(): i32 { return open; }
  export function work(n: i32): i32 {
    open++;                    // half-done work: a trap leaves this incremented
    let h: u32 = 2166136261;
    for (let i = 0; i < n; i++) h = (h ^ <u32>i) * 16777619;
    open--;
    return <i32>h;
  }
`;

describe('infinite loops', () => {
  it('an infinite loop traps with the fuel error at the default budget', async () => {
    const { bytes } = await prepareModule(await assemblyScript(spinnerSource), limits, { name: 'spinner' });
    const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    for (const exportName of ['spin', 'churn']) {
      for (let i = 0; i < 3; i++) {
        // after every trap the instance is dropped and a new one made from the compiled module
        const instance = new WebAssembly.Instance(module, asImports);
        const meter = createFuelMeter(instance, defaultBudget);
        meter.refill();
        const trap = timeTrap(() => fn<() => void>(instance, exportName)());
        expect(trap.error).toBeInstanceOf(WebAssembly.RuntimeError);
        expect(meter.classify(trap.error)).toBe('fuel');
        expect(meter.exhausted()).toBe(true);
        const explained = meter.explain(trap.error);
        expect(explained).toBeInstanceOf(FuelExhausted);
        expect((explained as FuelExhausted).cause).toBe(trap.error);
        expect(trap.wallMs).toBeLessThan(1000);
      }
    }
  });

  it('it traps within 1-5 ms of CPU, timed in a process that has not loaded binaryen (like a worker)', async () => {
    // This test process is busy compiling the AssemblyScript compiler and binaryen in V8's
    // background threads, which would slow the loop down; a worker process only runs plugins.
    const { bytes } = await prepareModule(await assemblyScript(spinnerSource), limits, { name: 'spinner' });
    const script = `
      const bytes = Buffer.from(process.argv[1], 'base64');
      const module = new WebAssembly.Module(bytes);
      const imports = { env: { abort() { throw new Error('abort'); }, seed: () => 1 } };
      const out = {};
      for (const name of ['spin', 'churn']) {
        out[name] = [];
        for (let i = 0; i < 9; i++) {
          const instance = new WebAssembly.Instance(module, imports);
          instance.exports.wsx_fuel_set(${defaultBudget});
          const cpu0 = process.cpuUsage(); const t0 = performance.now();
          let trapped = false;
          try { instance.exports[name](); } catch (e) { trapped = e instanceof WebAssembly.RuntimeError; }
          const wall = performance.now() - t0; const c = process.cpuUsage(cpu0);
          out[name].push({ ms: Math.min(wall, (c.user + c.system) / 1000), trapped, left: instance.exports.wsx_fuel_get() });
        }
      }
      console.log(JSON.stringify(out));`;
    const { stdout } = await execFileAsync(process.execPath, ['-e', script, Buffer.from(bytes).toString('base64')]);
    const result = JSON.parse(stdout) as Record<string, Array<{ ms: number; trapped: boolean; left: number }>>;
    for (const [name, runs] of Object.entries(result)) {
      for (const r of runs) {
        expect(r.trapped).toBe(true);
        expect(r.left).toBeLessThan(0);
      }
      // the first call runs baseline (Liftoff) code; later instances share the optimized code
      const ms = runs.map((r) => r.ms);
      console.log(`${name}: infinite loop at the default budget (${defaultBudget} units) trapped after ms ${ms.map((x) => x.toFixed(2)).join(' ')}`);
      const warm = median(ms.slice(1));
      expect(warm).toBeGreaterThan(0.2);
      expect(warm).toBeLessThan(5);
    }
  });

  it('an infinite `(loop br 0)` in WAT traps too', async () => {
    const { bytes } = await prepareModule(await wat(`(module (memory (export "memory") 1 1) (func (export "spin") (loop $l (br $l))))`), limits);
    const instance = await instantiate(bytes, {});
    setFuel(instance, defaultBudget);
    const trap = timeTrap(() => fn<() => void>(instance, 'spin')());
    expect(trap.error).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(fuelLeft(instance)).toBeLessThan(0);
    expect(trap.wallMs).toBeLessThan(1000);
  });

  it('a trapped instance is left with half-done state; a fresh one from the same module works', async () => {
    const { bytes } = await prepareModule(await assemblyScript(spinnerSource), limits);
    const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    const original = new WebAssembly.Instance(new WebAssembly.Module((await assemblyScript(spinnerSource)) as Uint8Array<ArrayBuffer>), asImports);
    const expected = fn<(n: number) => number>(original, 'work')(1000);

    const first = new WebAssembly.Instance(module, asImports);
    const meter = createFuelMeter(first, 10_000);
    meter.refill();
    expect(() => fn<(n: number) => number>(first, 'work')(1_000_000_000)).toThrow(WebAssembly.RuntimeError);
    expect(meter.exhausted()).toBe(true);
    // the call was cut in the middle: the plugin's own bookkeeping is now wrong, so callers must
    // drop this instance rather than call it again
    meter.refill(); // (with no fuel left, even this call would trap at entry)
    expect(fn<() => number>(first, 'openCalls')()).toBe(1);

    const fresh = new WebAssembly.Instance(module, asImports);
    const freshMeter = createFuelMeter(fresh, defaultBudget);
    freshMeter.refill();
    expect(fn<(n: number) => number>(fresh, 'work')(1000)).toBe(expected);
    expect(fn<() => number>(fresh, 'openCalls')()).toBe(0);
    expect(freshMeter.used()).toBeGreaterThan(1000);
    expect(freshMeter.exhausted()).toBe(false);
  });

  it('every call needs fuel: a call made with none left traps at entry', async () => {
    const { bytes } = await prepareModule(await wat(`(module (memory (export "memory") 1 1) (func (export "one") (result i32) (i32.const 1)))`), limits);
    const instance = await instantiate(bytes, {});
    setFuel(instance, 0);
    expect(() => fn<() => number>(instance, 'one')()).toThrow(WebAssembly.RuntimeError);
    setFuel(instance, 100);
    expect(fn<() => number>(instance, 'one')()).toBe(1);
    expect(fuelLeft(instance)).toBe(100 - FUNCTION_ENTRY_COST); // a constant costs nothing
  });
});

describe('bulk memory burns fuel by size', () => {
  const bulk = `(module (memory (export "memory") 256 256)
    (func (export "fill") (param $n i32) (memory.fill (i32.const 0) (i32.const 171) (local.get $n)))
    (func (export "copy") (param $n i32) (memory.copy (i32.const 0) (i32.const 8388608) (local.get $n)))
    (func (export "fill_forever") (loop $l (memory.fill (i32.const 0) (i32.const 1) (i32.const 16777216)) (br $l))))`;

  it('memory.fill and memory.copy cost 1 unit per 4 bytes', async () => {
    const { bytes } = await prepareModule(await wat(bulk), limits);
    const instance = await instantiate(bytes, {});
    const meter = createFuelMeter(instance, 1e12);
    const used = (name: string, n: number): number => {
      meter.refill();
      fn<(n: number) => void>(instance, name)(n);
      return meter.used();
    };
    for (const name of ['fill', 'copy']) {
      const base = used(name, 0);
      expect(used(name, 1 << 20) - base).toBe((1 << 20) >> BULK_BYTES_PER_UNIT_LOG2);
      expect(used(name, 8 << 20) - base).toBe((8 << 20) >> BULK_BYTES_PER_UNIT_LOG2);
    }
  });

  it('a fill the budget cannot pay for traps before touching memory', async () => {
    const { bytes } = await prepareModule(await wat(bulk), limits);
    const instance = await instantiate(bytes, {});
    setFuel(instance, 1000);
    expect(() => fn<(n: number) => void>(instance, 'fill')(16 << 20)).toThrow(WebAssembly.RuntimeError);
    expect(fuelLeft(instance)).toBeLessThan(0);
    expect(new Uint8Array(memoryOf(instance).buffer).some((b) => b !== 0)).toBe(false);
  });

  it('a loop of 16 MiB fills is stopped at the default budget', async () => {
    const { bytes } = await prepareModule(await wat(bulk), limits);
    const instance = await instantiate(bytes, {});
    const meter = createFuelMeter(instance, defaultBudget);
    // The first touch of fresh pages costs page faults the meter does not see (once per
    // instance, bounded by the memory quota); measure the loop on touched memory.
    meter.set(1e12);
    fn<(n: number) => void>(instance, 'fill')(16 << 20);
    const ms: number[] = [];
    for (let i = 0; i < 5; i++) {
      meter.refill();
      const trap = timeTrap(() => fn<() => void>(instance, 'fill_forever')());
      expect(meter.classify(trap.error)).toBe('fuel');
      ms.push(Math.min(trap.cpuMs, trap.wallMs));
    }
    console.log(`16 MiB fill loop stopped after ms ${ms.map((x) => x.toFixed(2)).join(' ')}`);
    expect(Math.min(...ms)).toBeLessThan(5);
    expect(median(ms)).toBeLessThan(500);
  });
});

describe('recursion', () => {
  it('recursion that overflows the stack throws a RangeError, and the process carries on', async () => {
    const source = `
      export function depth(n: i32): i32 { return n == 0 ? 0 : 1 + depth(n - 1); }
      export function ok(): i32 { return 42; }`;
    const { bytes } = await prepareModule(await assemblyScript(source, { optimizeLevel: 0 }), limits);
    const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    for (const budget of [defaultBudget, 1e12]) {
      const instance = new WebAssembly.Instance(module, asImports);
      const meter = createFuelMeter(instance, budget);
      meter.refill();
      let error: unknown;
      try {
        fn<(n: number) => number>(instance, 'depth')(100_000_000);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(RangeError);
      expect(String(error)).toMatch(/Maximum call stack size exceeded/);
      expect(meter.classify(error)).toBe('stack');
      expect(meter.exhausted()).toBe(false);
    }
    const fresh = new WebAssembly.Instance(module, asImports);
    setFuel(fresh, defaultBudget);
    expect(fn<(n: number) => number>(fresh, 'depth')(1000)).toBe(1000);
    expect(fn<() => number>(fresh, 'ok')()).toBe(42);
  });

  it('mutual recursion through call_indirect is charged at every entry', async () => {
    const { bytes } = await prepareModule(
      await wat(`(module (memory (export "memory") 1 1) (type $t (func (param i32) (result i32)))
        (table 2 funcref) (elem (i32.const 0) $a $b)
        (func $a (param i32) (result i32) (call_indirect (type $t) (local.get 0) (i32.const 1)))
        (func $b (param i32) (result i32) (return_call_indirect (type $t) (local.get 0) (i32.const 0)))
        (export "a" (func $a)))`),
      limits,
    );
    const instance = await instantiate(bytes, {});
    const meter = createFuelMeter(instance, 100_000);
    meter.refill();
    let error: unknown;
    try {
      fn<(n: number) => number>(instance, 'a')(0);
    } catch (err) {
      error = err;
    }
    // with a small budget the fuel runs out before the stack does
    expect(meter.classify(error)).toBe('fuel');
  });
});
