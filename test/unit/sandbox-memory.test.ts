// The memory quota, proven by hostile plugins: a memory.grow loop and an AssemblyScript
// allocation loop both stop at maxMemoryPages.

import { describe, expect, it } from 'vitest';
import { prepareModule } from '../../host/plugins/sandbox/prepare.js';
import { DEFAULT_CPU_BUDGET_MS, GROW_PAGE_COST, createFuelMeter, fuelForMs } from '../../host/plugins/sandbox/fuel.js';
import { asImports, assemblyScript, fn, instantiate, memoryOf, wat } from './sandbox-fixtures.js';

const PAGE = 65_536;
const quota = 64;
const limits = { maxMemoryPages: quota };
const defaultBudget = fuelForMs(DEFAULT_CPU_BUDGET_MS);

const growLoops = `(module (memory (export "memory") 1)
  ;; grows one page at a time until memory.grow fails; returns the pages it got
  (func (export "grow_until_failure") (result i32) (local $n i32)
    (block $done
      (loop $more
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $more)))
    (local.get $n))
  ;; ignores failures and keeps asking
  (func (export "grow_forever") (loop $l (drop (memory.grow (i32.const 1))) (br $l)))
  ;; asks for 4 GiB at once
  (func (export "grow_huge") (result i32) (memory.grow (i32.const 65536))))`;

describe('memory quota', () => {
  it('a memory.grow loop stops at the quota and sees the failure', async () => {
    const { bytes, report } = await prepareModule(await wat(growLoops), limits, { name: 'grower' });
    expect(report.memoryMaxPages).toBe(quota);
    const instance = await instantiate(bytes, {});
    const meter = createFuelMeter(instance, defaultBudget);
    meter.refill();
    expect(fn<() => number>(instance, 'grow_until_failure')()).toBe(quota - 1);
    expect(memoryOf(instance).buffer.byteLength).toBe(quota * PAGE);
    // 64 grows (63 that worked, 1 that failed), each charged GROW_PAGE_COST
    expect(meter.used()).toBeGreaterThan(quota * GROW_PAGE_COST);
  });

  it('a grow loop that ignores failure burns its fuel and traps; memory never passes the quota', async () => {
    const { bytes } = await prepareModule(await wat(growLoops), limits);
    const instance = await instantiate(bytes, {});
    const meter = createFuelMeter(instance, defaultBudget);
    meter.refill();
    let error: unknown;
    try {
      fn<() => void>(instance, 'grow_forever')();
    } catch (err) {
      error = err;
    }
    expect(meter.classify(error)).toBe('fuel');
    expect(memoryOf(instance).buffer.byteLength).toBe(quota * PAGE);
  });

  it('a grow beyond the maximum fails, charged for at most the quota', async () => {
    const { bytes } = await prepareModule(await wat(growLoops), limits);
    const instance = await instantiate(bytes, {});
    const meter = createFuelMeter(instance, defaultBudget);
    meter.refill();
    expect(fn<() => number>(instance, 'grow_huge')()).toBe(-1);
    expect(meter.used()).toBeLessThanOrEqual(quota * GROW_PAGE_COST + 10);
    expect(memoryOf(instance).buffer.byteLength).toBe(PAGE);
  });

  it('an AssemblyScript allocation loop stops at the quota', async () => {
    const source = `
      const kept = new Array<Uint8Array>();
      export function hog(): i32 {
        while (true) kept.push(new Uint8Array(256 * 1024));
        return kept.length;
      }
      export function count(): i32 { return kept.length; }`;
    const original = await assemblyScript(source);
    const { bytes, report } = await prepareModule(original, limits, { name: 'hog' });
    expect(report.memoryMaxRewritten).toBe(true);
    const instance = await instantiate(bytes, asImports);
    // a budget large enough that the memory runs out first (at the default budget the fuel
    // may run out first: growing costs GROW_PAGE_COST per page)
    const meter = createFuelMeter(instance, fuelForMs(100));
    meter.refill();
    let error: unknown;
    try {
      fn<() => number>(instance, 'hog')();
    } catch (err) {
      error = err;
    }
    // AssemblyScript's allocator traps (unreachable) when memory.grow fails: not a fuel trap
    expect(error).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(meter.classify(error)).toBe('trap');
    expect(memoryOf(instance).buffer.byteLength).toBeLessThanOrEqual(quota * PAGE);
    expect(memoryOf(instance).buffer.byteLength).toBeGreaterThan((quota - 8) * PAGE);
    meter.refill();
    const kept = fn<() => number>(instance, 'count')();
    expect(kept * 256 * 1024).toBeLessThan(quota * PAGE);
    expect(kept).toBeGreaterThan(10);
  });
});
