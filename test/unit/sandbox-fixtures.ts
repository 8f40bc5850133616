// Builders for the sandbox tests: hostile and ordinary plugins written in WAT (assembled with
// binaryen) or AssemblyScript (compiled with the assemblyscript compiler API), in the test.

import asc from 'assemblyscript/asc';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadBinaryen } from '../../host/plugins/sandbox/binaryen-view.js';

/** Assembles WAT with the features a Node 20 plugin may use (plus atomics/EH, to build refused modules). */
export async function wat(text: string): Promise<Uint8Array> {
  const b = await loadBinaryen();
  const F = b.Features;
  const m = b.parseText(text);
  try {
    m.setFeatures(
      F.MutableGlobals | F.NontrappingFPToInt | F.SignExt | F.BulkMemory | F.SIMD128 | F.ReferenceTypes | F.Multivalue | F.TailCall |
        F.Atomics | F.ExceptionHandling,
    );
    const debugInfo = b.getDebugInfo();
    b.setDebugInfo(true); // keep $names in the name section
    try {
      return m.emitBinary();
    } finally {
      b.setDebugInfo(debugInfo);
    }
  } finally {
    m.dispose();
  }
}

export interface AsOptions {
  runtime?: 'stub' | 'minimal' | 'incremental';
  optimizeLevel?: number;
  shrinkLevel?: number;
  /** Extra source files by name (imported as `./name`). */
  files?: Record<string, string>;
  /** AssemblyScript `--use` aliases, e.g. ['abort=plugin/myAbort']. */
  use?: string[];
  maximumMemory?: number;
  exportRuntime?: boolean;
}

const compiled = new Map<string, Uint8Array>();

/** Compiles an AssemblyScript entry file `plugin.ts` (cached per source+options within a test file). */
export async function assemblyScript(source: string, opts: AsOptions = {}): Promise<Uint8Array> {
  const key = JSON.stringify([source, opts]);
  const hit = compiled.get(key);
  if (hit) return hit;
  const files: Record<string, string> = { 'plugin.ts': source, ...opts.files };
  const outputs = new Map<string, Uint8Array | string>();
  const stderr: string[] = [];
  const argv = [
    'plugin.ts',
    '--outFile',
    'plugin.wasm',
    '--optimizeLevel',
    String(opts.optimizeLevel ?? 3),
    '--shrinkLevel',
    String(opts.shrinkLevel ?? 0),
    '--runtime',
    opts.runtime ?? 'incremental',
    ...(opts.use ?? []).flatMap((u) => ['--use', u]),
    ...(opts.maximumMemory !== undefined ? ['--maximumMemory', String(opts.maximumMemory)] : []),
    ...(opts.exportRuntime ? ['--exportRuntime'] : []),
  ];
  const result = await asc.main(argv, {
    readFile: (name) => files[name.replace(/^\.\//, '')] ?? null,
    writeFile: (name, contents) => void outputs.set(name, contents),
    listFiles: () => [],
    stderr: { write: (chunk: Uint8Array | string) => void stderr.push(typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk)) },
    stdout: { write: () => {} },
  });
  const bin = outputs.get('plugin.wasm');
  if (result.error || !(bin instanceof Uint8Array)) {
    throw new Error(`asc failed: ${result.error?.message ?? ''}\n${stderr.join('')}`);
  }
  compiled.set(key, bin);
  return bin;
}

/** The @extism/as-pdk sources, to compile an Extism AssemblyScript plugin as `./pdk/index`. */
export function extismPdkFiles(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('@extism/as-pdk/package.json'));
  return {
    'pdk/index.ts': readFileSync(join(root, 'index.ts'), 'utf8'),
    'pdk/lib/pdk.ts': readFileSync(join(root, 'lib/pdk.ts'), 'utf8'),
    'pdk/lib/env.ts': readFileSync(join(root, 'lib/env.ts'), 'utf8'),
  };
}

/** env imports of an AssemblyScript module: abort throws (the plugin's own failure). */
export const asImports = {
  env: {
    abort(): never {
      throw new Error('plugin aborted');
    },
    seed: (): number => 42,
  },
};

export async function instantiate(bytes: Uint8Array, imports: WebAssembly.Imports = asImports): Promise<WebAssembly.Instance> {
  const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>, imports);
  return instance;
}

export function fn<T extends (...args: never[]) => unknown>(instance: WebAssembly.Instance, name: string): T {
  const f = instance.exports[name];
  if (typeof f !== 'function') throw new Error(`no export ${name}`);
  return f as T;
}

export function memoryOf(instance: WebAssembly.Instance): WebAssembly.Memory {
  const m = instance.exports['memory'];
  if (!(m instanceof WebAssembly.Memory)) throw new Error('no memory export');
  return m;
}
