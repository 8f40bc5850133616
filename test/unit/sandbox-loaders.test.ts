// Instrumented modules load and run through the two ways the host instantiates plugins:
// @extism/extism 1.0.3's createPlugin (lifecycle calls) and plain WebAssembly.instantiate (hot path).

import { describe, expect, it } from 'vitest';
import createPlugin from '@extism/extism';
import { prepareModule } from '../../host/plugins/sandbox/prepare.js';
import { DEFAULT_CPU_BUDGET_MS, FUEL_EXPORT, createFuelMeter, fuelForMs } from '../../host/plugins/sandbox/fuel.js';
import { assemblyScript, extismPdkFiles, fn, instantiate } from './sandbox-fixtures.js';

const source = `
import { Host } from './pdk/index';

function myAbort(message: string | null, fileName: string | null, line: u32, column: u32): void { unreachable(); }

export function count_vowels(): i32 {
  const s = Host.inputString();
  let count = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) | 32;
    if (c == 97 || c == 101 || c == 105 || c == 111 || c == 117) count++;
  }
  Host.outputString(count.toString());
  return 0;
}

export function spin(): i32 { let x: i32 = 0; while (true) { x++; if (x == -1) break; } return x; }

export function raw_add(a: i32, b: i32): i32 { return a + b; }
`;

async function extismPluginBytes(): Promise<Uint8Array> {
  return assemblyScript(source, { files: extismPdkFiles(), use: ['abort=plugin/myAbort'] });
}

describe('loading instrumented modules', () => {
  it('through @extism/extism createPlugin (useWasi: false), with fuel set on its instance', async () => {
    const { bytes } = await prepareModule(await extismPluginBytes(), { maxMemoryPages: 256 }, { name: 'vowels' });
    const plugin = await createPlugin({ wasm: [{ data: bytes }] }, { useWasi: false });
    try {
      const instance = await plugin.getInstance();
      expect(instance.exports[FUEL_EXPORT]).toBeInstanceOf(WebAssembly.Global);
      const meter = createFuelMeter(instance, fuelForMs(DEFAULT_CPU_BUDGET_MS));
      meter.refill();
      const out = await plugin.call('count_vowels', 'Hello from the sandbox');
      expect(out?.text()).toBe('6');
      expect(meter.used()).toBeGreaterThan(0);

      // the hot path: a raw export on the same instance
      meter.refill();
      expect(fn<(a: number, b: number) => number>(instance, 'raw_add')(2, 3)).toBe(5);

      // a fuel trap surfaces as a rejected call
      meter.refill();
      await expect(plugin.call('spin')).rejects.toThrow();
      expect(meter.exhausted()).toBe(true);
    } finally {
      await plugin.close();
    }
  });

  it('through plain WebAssembly.instantiate, with the same results as the original', async () => {
    const original = await extismPluginBytes();
    const { bytes } = await prepareModule(original, { maxMemoryPages: 256 });
    const kernel = new Proxy({}, { get: () => () => 0 }); // raw_add never calls the Extism kernel
    const imports = { 'extism:host/env': kernel } as unknown as WebAssembly.Imports;
    const plain = await instantiate(original, imports);
    const instrumented = await instantiate(bytes, imports);
    createFuelMeter(instrumented, 1000).refill();
    for (const [a, b] of [[1, 2], [-5, 5], [0x7fffffff, 1]] as const) {
      expect(fn<(a: number, b: number) => number>(instrumented, 'raw_add')(a, b)).toBe(fn<(a: number, b: number) => number>(plain, 'raw_add')(a, b));
    }
  });
});
