// What the sandbox refuses before it runs a line of plugin code: imports it does not provide,
// memories it cannot bound, tables, reserved names, and instructions the fuel meter does not know.

import { describe, expect, it } from 'vitest';
import { prepareModule } from '../../host/plugins/sandbox/prepare.js';
import { PluginRejected } from '../../host/plugins/sandbox/errors.js';
import { readLayout } from '../../host/plugins/sandbox/wasm-sections.js';
import { assemblyScript, instantiate, memoryOf, wat } from './sandbox-fixtures.js';

const limits = { maxMemoryPages: 16 };

async function rejection(bytes: Uint8Array, name = 'hostile'): Promise<PluginRejected> {
  try {
    await prepareModule(bytes, limits, { name });
  } catch (err) {
    if (err instanceof PluginRejected) return err;
    throw err;
  }
  throw new Error('module was accepted');
}

const body = `(memory (export "memory") 1 4) (func (export "f") (result i32) (i32.const 1))`;

describe('imports', () => {
  it('refuses WASI, naming the import', async () => {
    const bytes = await assemblyScript(
      `@external("wasi_snapshot_preview1", "fd_write")
       declare function fd_write(fd: i32, iovs: i32, n: i32, written: i32): i32;
       export function hello(): i32 { return fd_write(1, 0, 0, 0); }`,
    );
    const err = await rejection(bytes, 'wasi-writer');
    expect(err.kind).toBe('import');
    expect(err.message).toBe('plugin wasi-writer: imports wasi_snapshot_preview1.fd_write, which the sandbox does not provide');
  });

  it('refuses env imports other than abort, trace and seed', async () => {
    const err = await rejection(
      await wat(`(module (import "env" "socket" (func (param i32) (result i32))) (import "env" "abort" (func (param i32 i32 i32 i32))) ${body})`),
    );
    expect(err.message).toBe('plugin hostile: imports env.socket, which the sandbox does not provide');
  });

  it('names every refused import', async () => {
    const err = await rejection(
      await wat(`(module
        (import "wasi_snapshot_preview1" "path_open" (func (param i32) (result i32)))
        (import "node" "fs" (func))
        ${body})`),
    );
    expect(err.reason).toBe('imports wasi_snapshot_preview1.path_open, node.fs, which the sandbox does not provide');
  });

  it('refuses imported memories, tables and globals even from allowed modules', async () => {
    const mem = await rejection(await wat(`(module (import "wasmscale_v1" "mem" (memory 1 2)) (export "memory" (memory 0)))`));
    expect(mem.reason).toBe('imports wasmscale_v1.mem (memory); the sandbox provides only functions');
    const glob = await rejection(await wat(`(module (import "env" "seed" (global i32)) ${body})`));
    expect(glob.reason).toMatch(/env\.seed \(global\)/);
  });

  it('accepts wasmscale_v1, the Extism kernel and the AssemblyScript runtime imports', async () => {
    const bytes = await wat(`(module
      (import "wasmscale_v1" "log" (func (param i32 i32 i32) (result i32)))
      (import "extism:host/env" "output_set" (func (param i64 i64)))
      (import "env" "abort" (func (param i32 i32 i32 i32)))
      (import "env" "trace" (func (param i32 i32 f64 f64 f64 f64 f64)))
      (import "env" "seed" (func (result f64)))
      ${body})`);
    const prepared = await prepareModule(bytes, limits);
    expect(readLayout(prepared.bytes).imports.map((i) => `${i.module}.${i.name}`)).toEqual([
      'wasmscale_v1.log',
      'extism:host/env.output_set',
      'env.abort',
      'env.trace',
      'env.seed',
    ]);
  });
});

describe('memory', () => {
  it('writes the quota in as the maximum of a memory that declares none', async () => {
    const bytes = await assemblyScript(`export function f(): i32 { return memory.size(); }`);
    expect(readLayout(bytes).memories[0]!.max).toBeUndefined();
    const prepared = await prepareModule(bytes, limits);
    expect(prepared.report.memoryMaxPages).toBe(16);
    expect(prepared.report.memoryMaxRewritten).toBe(true);
    expect(readLayout(prepared.bytes).memories).toEqual([expect.objectContaining({ max: 16 })]);
    const memory = memoryOf(await instantiate(prepared.bytes));
    memory.grow(16 - memory.buffer.byteLength / 65536);
    expect(memory.buffer.byteLength).toBe(16 * 65536);
    expect(() => memory.grow(1)).toThrow(RangeError);
  });

  it('keeps a maximum within the quota', async () => {
    const prepared = await prepareModule(await wat(`(module ${body})`), limits);
    expect(prepared.report).toMatchObject({ memoryMaxPages: 4, memoryMaxRewritten: false });
    expect(readLayout(prepared.bytes).memories[0]).toMatchObject({ initial: 1, max: 4 });
  });

  it('refuses a maximum or an initial size above the quota', async () => {
    const max = await rejection(await wat(`(module (memory (export "memory") 1 17))`));
    expect(max.reason).toBe('memory declares a maximum of 17 pages, above its quota of 16 pages');
    const initial = await rejection(await wat(`(module (memory (export "memory") 17))`));
    expect(initial.reason).toBe('memory starts at 17 pages, above its quota of 16 pages');
  });

  it('refuses shared, several, unexported or missing memories', async () => {
    expect((await rejection(await wat(`(module (memory (export "memory") 1 2 shared))`))).reason).toMatch(/shared memory/);
    // Node 20 does not validate multi-memory modules; a later Node would reach the sandbox's own check.
    expect((await rejection(await wat(`(module (memory (export "memory") 1 2) (memory 1 2))`))).reason).toMatch(
      /^(defines 2 memories; the sandbox supports one|is not a valid WebAssembly module)/,
    );
    expect((await rejection(await wat(`(module (memory 1 2))`))).reason).toBe('does not export its memory');
    expect((await rejection(await wat(`(module (func (export "f")))`))).reason).toMatch(/defines no memory/);
  });
});

describe('tables, names, bytes', () => {
  it('refuses huge tables', async () => {
    const err = await rejection(await wat(`(module (table 100000 funcref) ${body})`));
    expect(err.kind).toBe('table');
    expect(err.reason).toMatch(/100000 entries/);
  });

  it('refuses a module that already exports wsx_fuel', async () => {
    const err = await rejection(await wat(`(module (global (export "wsx_fuel") (mut i64) (i64.const 0)) ${body})`));
    expect(err.reason).toBe("exports wsx_fuel; names starting with wsx_fuel are reserved for the sandbox's fuel counter");
  });

  it('refuses bytes that are not a valid module', async () => {
    expect((await rejection(new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]))).kind).toBe('invalid');
    expect((await rejection(new TextEncoder().encode('(module)'))).kind).toBe('invalid');
  });
});

describe('instructions the fuel meter does not know', () => {
  it('refuses table.grow (tables could grow without bound)', async () => {
    const err = await rejection(
      await wat(`(module (table 1 funcref) ${body}
        (func $g (export "g") (result i32) (table.grow (ref.null func) (i32.const 1000))))`),
    );
    expect(err.kind).toBe('instruction');
    expect(err.reason).toBe("function g contains a TableGrow expression, which the sandbox's fuel meter does not know");
  });

  it('refuses exception handling (try/catch) and atomics', async () => {
    const eh = await rejection(await wat(`(module (tag $t) ${body} (func $h (try (do (throw $t)) (catch_all))))`));
    expect(eh.reason).toBe("function h contains a Try expression, which the sandbox's fuel meter does not know");
    const atomic = await rejection(await wat(`(module ${body} (func $a (result i32) (i32.atomic.load (i32.const 0))))`));
    expect(atomic.reason).toBe('function a contains an atomic load, which the sandbox does not support');
  });

  it('names unnamed functions by index', async () => {
    const err = await rejection(await wat(`(module (table 1 funcref) ${body} (func (drop (table.grow (ref.null func) (i32.const 1)))))`));
    expect(err.reason).toMatch(/^function #1 contains a TableGrow expression/);
  });
});
