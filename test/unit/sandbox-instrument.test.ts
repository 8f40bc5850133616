// The instrumenter changes nothing but the fuel: same results on ordinary code, every loop and
// function metered, binaryen kept out of the worker-side files.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareModule } from '../../host/plugins/sandbox/prepare.js';
import { loadBinaryen } from '../../host/plugins/sandbox/binaryen-view.js';
import { FUEL_EXPORT, createFuelMeter } from '../../host/plugins/sandbox/fuel.js';
import { readLayout } from '../../host/plugins/sandbox/wasm-sections.js';
import { asImports, assemblyScript, fn, instantiate } from './sandbox-fixtures.js';

const workload = `
function lcg(s: u32): u32 { return s * 1664525 + 1013904223; }

export function sortHash(n: i32, seed: u32): u32 {
  const a = new Array<i32>(n);
  let s = seed;
  for (let i = 0; i < n; i++) { s = lcg(s); a[i] = <i32>(s >>> 8) - 8000000; }
  a.sort((x, y) => x - y);
  let h: u32 = 2166136261;
  for (let i = 0; i < n; i++) h = (h ^ <u32>a[i]) * 16777619;
  return h;
}

export function strings(n: i32): i32 {
  let s = '';
  for (let i = 0; i < n; i++) s += i.toString(16) + (i % 7 == 0 ? ',' : ';');
  const parts = s.split(',');
  let total = 0;
  for (let i = 0; i < parts.length; i++) total += parts[i].replaceAll(';', '--').length * (i + 1);
  return total;
}

export function maps(n: i32): i32 {
  const m = new Map<i32, i32>();
  for (let i = 0; i < n; i++) m.set((i * 7919) % 1000, i);
  let sum = 0;
  const keys = m.keys();
  for (let i = 0; i < keys.length; i++) sum += m.get(keys[i]) ^ keys[i];
  return sum;
}

export function fib(n: i32): i32 { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

export function floats(n: i32): f64 {
  let x = 0.0;
  for (let i = 1; i <= n; i++) x += Math.sqrt(<f64>i) / <f64>(i + 1);
  return x;
}
`;

type Fn = (...args: number[]) => number;

function minTime(f: () => unknown, runs: number): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

describe('instrumented vs original', () => {
  it('gives identical results on sorting, hashing, strings, maps, recursion and floats', async () => {
    const original = await assemblyScript(workload);
    const { bytes, report } = await prepareModule(original, { maxMemoryPages: 256 });
    const plain = await instantiate(original);
    const metered = await instantiate(bytes);
    const meter = createFuelMeter(metered, 1e12);
    const cases: Array<[string, number[]]> = [
      ['sortHash', [0, 1]],
      ['sortHash', [1, 7]],
      ['sortHash', [1000, 12345]],
      ['sortHash', [20000, 99]],
      ['strings', [0]],
      ['strings', [500]],
      ['maps', [5000]],
      ['fib', [20]],
      ['floats', [10000]],
    ];
    for (const [name, args] of cases) {
      meter.refill();
      expect(fn<Fn>(metered, name)(...args), `${name}(${args.join(', ')})`).toBe(fn<Fn>(plain, name)(...args));
    }
    expect(report.functions).toBeGreaterThan(20);
    expect(report.loops).toBeGreaterThan(10);
    expect(report.size).toBeGreaterThan(report.originalSize);

    // slowdown, measured as the best of several warm runs (reported, loosely bounded)
    const slowdowns: string[] = [];
    for (const [name, args] of [['sortHash', [20000, 5]], ['fib', [24]], ['strings', [2000]], ['floats', [200000]]] as const) {
      const runPlain = (): unknown => fn<Fn>(plain, name)(...args);
      const runMetered = (): unknown => {
        meter.refill();
        return fn<Fn>(metered, name)(...args);
      };
      minTime(runPlain, 5);
      minTime(runMetered, 5);
      const ratio = minTime(runMetered, 15) / minTime(runPlain, 15);
      slowdowns.push(`${name} ${ratio.toFixed(2)}x`);
      expect(ratio).toBeLessThan(5);
    }
    console.log(`slowdown instrumented/original: ${slowdowns.join(', ')}`);
  });

  it('meters every loop and every defined function, and exports the fuel global', async () => {
    const b = await loadBinaryen();
    const original = await assemblyScript(workload);
    const { bytes, report } = await prepareModule(original, { maxMemoryPages: 256 });
    const m = b.readBinary(original);
    const text = m.emitText();
    m.dispose();
    const loopsInText = text.match(/^\s*\(loop\b/gm)?.length ?? 0;
    const funcsInText = text.match(/^ \(func \$/gm)?.length ?? 0;
    expect(report.loops).toBe(loopsInText);
    expect(report.functions).toBe(funcsInText);
    const layout = readLayout(bytes);
    expect(layout.exports).toContainEqual({ name: FUEL_EXPORT, kind: 'global', index: expect.any(Number) });

    const im = b.readBinary(bytes);
    const instrumentedText = im.emitText();
    im.dispose();
    // each loop's body starts with the fuel check
    const loopsWithCharge = instrumentedText.match(/\(loop \$[^\n]*\n\s*\(global\.set \$wsx\$fuel/g)?.length ?? 0;
    expect(loopsWithCharge).toBe(loopsInText);
  });

  it('the start function runs on the initial fuel', async () => {
    const source = `
      const table = new Array<i32>(1000);
      for (let i = 0; i < 1000; i++) table[i] = i * i;
      export function at(i: i32): i32 { return table[i]; }`;
    const { bytes } = await prepareModule(await assemblyScript(source), { maxMemoryPages: 16 }, { initialFuel: 1e7 });
    const instance = await instantiate(bytes, asImports);
    createFuelMeter(instance, 1000).refill();
    expect(fn<Fn>(instance, 'at')(999)).toBe(999 * 999);
    // with too little initial fuel the start function traps during instantiation
    const starved = await prepareModule(await assemblyScript(source), { maxMemoryPages: 16 }, { initialFuel: 10 });
    await expect(instantiate(starved.bytes, asImports)).rejects.toThrow(WebAssembly.RuntimeError);
  });

  it('worker-side files do not import binaryen', () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), '../../host/plugins/sandbox');
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(join(dir, file), 'utf8');
      expect(text, file).not.toMatch(/^import\s+(?!type\b)[^;]*from\s+'binaryen'/m);
      expect(text, file).not.toMatch(/import\('binaryen'\)/);
      for (const [, dep] of text.matchAll(/^import\s+(?!type\b)[^;]*from\s+'\.\/([\w-]+)\.js'/gm)) visit(`${dep}.ts`);
    };
    visit('fuel.ts');
    visit('validate.ts');
    expect([...seen].sort()).toEqual(['errors.ts', 'fuel.ts', 'validate.ts', 'wasm-sections.ts']);
  });
});
