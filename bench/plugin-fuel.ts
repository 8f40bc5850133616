// The plugin sandbox's costs: loading binaryen, instrumenting a small and a ~200 KB module,
// fuel burned per millisecond by tight loops (the calibration behind FUEL_UNITS_PER_MS), the
// slowdown of instrumented code, and the cost of setting the fuel before a call.
//
//   node --import tsx bench/plugin-fuel.ts [--write]
//
// --write replaces (or appends) the "Plugin sandbox" section of bench/README.md.
// Times are the best of several warm runs, to see through a shared machine's noise.
//
// The parent compiles and instruments (it loads the AssemblyScript compiler and binaryen,
// whose code V8 then compiles in background threads for many seconds); the run-time figures
// come from a child (`--child <dir>`) that, like a wasmscale worker, never loads either.

import { readFileSync, writeFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBinaryen } from '../host/plugins/sandbox/binaryen-view.js';
import { prepareModule } from '../host/plugins/sandbox/prepare.js';
import {
  BULK_BYTES_PER_UNIT_LOG2,
  DEFAULT_CPU_BUDGET_MS,
  FUEL_EXPORT,
  FUEL_UNITS_PER_MS,
  GROW_PAGE_COST,
  createFuelMeter,
  fuelForMs,
  setFuel,
} from '../host/plugins/sandbox/fuel.js';

type Fn = (...args: number[]) => number | bigint | void;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lines: string[] = [];
const out = (s = ''): void => {
  lines.push(s);
  console.log(s);
};

async function compileAs(source: string): Promise<Uint8Array> {
  // imported here, not at the top: the compiler imports binaryen, whose load is measured first
  const asc = (await import('assemblyscript/asc')).default;
  const r = await asc.compileString(source, { optimizeLevel: 3, shrinkLevel: 0, runtime: 'incremental' });
  if (r.error || !r.binary) throw new Error(`asc: ${r.error?.message}\n${r.stderr.toString()}`);
  return r.binary;
}

async function wat(text: string): Promise<Uint8Array> {
  const b = await loadBinaryen();
  const m = b.parseText(text);
  m.setFeatures(b.Features.MutableGlobals | b.Features.BulkMemory | b.Features.SignExt);
  const bytes = m.emitBinary();
  m.dispose();
  return bytes;
}

const env = { env: { abort: (): never => { throw new Error('abort'); }, seed: (): number => 1 } };

function instantiate(bytes: Uint8Array): WebAssembly.Instance {
  return new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), env);
}

function exp(instance: WebAssembly.Instance, name: string): Fn {
  return instance.exports[name] as Fn;
}

function best(runs: number, f: () => void): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const f2 = (x: number): string => x.toFixed(2);
const fmtInt = (x: number): string => Math.round(x).toLocaleString('en-US');

// ---------------------------------------------------------------- workloads

const kernelsSource = `
export function sum(n: i32): i64 { let s: i64 = 0; for (let i = 0; i < n; i++) s += <i64>i * <i64>(i & 7); return s; }

export function hash(n: i32): u32 {
  const buf = new Uint8Array(65536);
  for (let i = 0; i < buf.length; i++) buf[i] = <u8>(i * 31);
  let h: u32 = 2166136261;
  for (let r = 0; r < n; r++) for (let i = 0; i < buf.length; i++) h = (h ^ unchecked(buf[i])) * 16777619;
  return h;
}

export function isort(n: i32): i32 {
  const a = new Int32Array(n);
  let s: u32 = 7;
  for (let i = 0; i < n; i++) { s = s * 1664525 + 1013904223; a[i] = <i32>(s >>> 1); }
  for (let i = 1; i < n; i++) {
    const v = unchecked(a[i]); let j = i - 1;
    while (j >= 0 && unchecked(a[j]) > v) { unchecked(a[j + 1] = a[j]); j--; }
    unchecked(a[j + 1] = v);
  }
  return a[n >> 1];
}

export function fib(n: i32): i32 { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

export function floats(n: i32): f64 { let x = 0.0; for (let i = 1; i <= n; i++) x += Math.sqrt(<f64>i) / <f64>(i + 1); return x; }

export function strings(n: i32): i32 {
  let s = '';
  for (let i = 0; i < n; i++) s += i.toString(16) + ',';
  return s.split(',').length;
}

export function add(a: i32, b: i32): i32 { return a + b; }
`;

const counterWat = `(module (memory (export "memory") 1 1)
  (func (export "count") (param $n i32) (local $i i32)
    (loop $l (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n)))))
  (func (export "spin") (loop $l (br $l)))
  (func (export "fill") (param $n i32) (memory.fill (i32.const 0) (i32.const 7) (local.get $n)))
  (func (export "grow") (param $n i32) (result i32) (memory.grow (local.get $n))))`;

const growWat = `(module (memory (export "memory") 1 256)
  (func (export "grow") (param $n i32) (result i32) (memory.grow (local.get $n)))
  (func (export "touch") (param $page i32)
    (memory.fill (i32.shl (local.get $page) (i32.const 16)) (i32.const 1) (i32.const 65536))))`;

/** A ~200 KB AssemblyScript module: many exported functions with loops, branches and strings. */
function bigSource(functions: number): string {
  const parts: string[] = [];
  for (let i = 0; i < functions; i++) {
    parts.push(`
export function f${i}(n: i32, s: string): i32 {
  let acc: i32 = ${i};
  for (let k = 0; k < n; k++) {
    switch ((k + ${i}) % 5) {
      case 0: acc += k * ${i % 97 + 3}; break;
      case 1: acc ^= acc << ${(i % 13) + 1}; break;
      case 2: acc = acc * 31 + s.length; break;
      case 3: if (s.charCodeAt(k % max(1, s.length)) == ${65 + (i % 26)}) acc--; break;
      default: acc = (acc >>> 3) | (acc << 29);
    }
  }
  let t = s.substring(${i % 5}) + "${'x'.repeat(i % 17)}-${i}";
  while (t.length > 3 && acc > 0) { t = t.slice(1); acc -= t.length; }
  return acc + t.length;
}`);
  }
  return parts.join('\n');
}

// ---------------------------------------------------------------- sections

/**
 * Loads binaryen in a child running plain node: under tsx (which runs this file) the 13 MB
 * binaryen.js goes through tsx's loader and takes several times longer and ~400 MB more.
 */
function sectionBinaryen(): void {
  const code =
    "const r0 = process.memoryUsage().rss; const t = performance.now(); await import('binaryen');" +
    'console.log(JSON.stringify({ ms: performance.now() - t, mb: (process.memoryUsage().rss - r0) / 2 ** 20 }));';
  const runs: Array<{ ms: number; mb: number }> = [];
  for (let i = 0; i < 3; i++) {
    const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' });
    runs.push(JSON.parse(stdout) as { ms: number; mb: number });
  }
  const ms = Math.min(...runs.map((r) => r.ms));
  const mb = median(runs.map((r) => r.mb));
  out(`- loading binaryen (\`import('binaryen')\` in plain node, best of 3): ${ms.toFixed(0)} ms, RSS +${mb.toFixed(0)} MB`);
}

async function sectionInstrument(small: Uint8Array, big: Uint8Array): Promise<void> {
  out();
  out('| module | size | functions | loops | 1st prepare ms | 2nd-6th (median) | 22nd-28th (median) | instrumented size |');
  out('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, bytes] of [['small (AS kernels)', small], ['large (generated AS)', big]] as const) {
    const first = await prepareModule(bytes, { maxMemoryPages: 256 });
    // binaryen's own (large) wasm code is compiled lazily and tiers up: the first prepares are slow
    const times: number[] = [];
    let last = first;
    for (let i = 0; i < 27; i++) {
      last = await prepareModule(bytes, { maxMemoryPages: 256 });
      times.push(last.report.instrumentMs);
    }
    const warm = times.slice(-7);
    const r = last.report;
    out(
      `| ${name} | ${(bytes.length / 1024).toFixed(1)} KB | ${r.functions} | ${r.loops} | ${f2(first.report.instrumentMs)} | ${f2(median(times.slice(0, 5)))} | ${f2(median(warm))} | ${(r.size / 1024).toFixed(1)} KB |`,
    );
  }
}

interface Kernel {
  name: string;
  run: (i: WebAssembly.Instance) => void;
}

function sectionLoops(m: Modules): number[] {
  const kernels = instantiate(m.kernels);
  const kernelsPlain = instantiate(m.kernelsOriginal);
  const counter = instantiate(m.counter);
  const counterPlain = instantiate(m.counterOriginal);
  const list: Array<Kernel & { plain: WebAssembly.Instance; metered: WebAssembly.Instance }> = [
    { name: 'empty counted loop (WAT)', run: (i) => void exp(i, 'count')(2_000_000), plain: counterPlain, metered: counter },
    { name: 'sum i64 (AS)', run: (i) => void exp(i, 'sum')(1_000_000), plain: kernelsPlain, metered: kernels },
    { name: 'FNV hash over 64 KiB x 4 (AS)', run: (i) => void exp(i, 'hash')(4), plain: kernelsPlain, metered: kernels },
    { name: 'insertion sort 800 (AS)', run: (i) => void exp(i, 'isort')(800), plain: kernelsPlain, metered: kernels },
    { name: 'fib(22), call-heavy (AS)', run: (i) => void exp(i, 'fib')(22), plain: kernelsPlain, metered: kernels },
    { name: 'sqrt/div floats 200k (AS)', run: (i) => void exp(i, 'floats')(200_000), plain: kernelsPlain, metered: kernels },
    { name: 'string concat + split 3000 (AS)', run: (i) => void exp(i, 'strings')(3000), plain: kernelsPlain, metered: kernels },
  ];
  out();
  out('| loop | original ms | instrumented ms | slowdown | fuel units | units per ms |');
  out('| --- | --- | --- | --- | --- | --- |');
  const rates: number[] = [];
  for (const k of list) {
    const meter = createFuelMeter(k.metered, Number.MAX_SAFE_INTEGER);
    const metered = (): void => {
      meter.refill();
      k.run(k.metered);
    };
    const plain = (): void => k.run(k.plain);
    best(3, plain);
    best(3, metered); // warm up (tier up to TurboFan)
    let tp = Infinity;
    let tm = Infinity;
    // short runs (~1-3 ms), many times, alternating: the best run is one no other process interrupted
    for (let r = 0; r < 10; r++) {
      tp = Math.min(tp, best(4, plain));
      tm = Math.min(tm, best(4, metered));
    }
    meter.refill();
    k.run(k.metered);
    const used = meter.used();
    rates.push(used / tm);
    out(`| ${k.name} | ${f2(tp)} | ${f2(tm)} | ${f2(tm / tp)}x | ${fmtInt(used)} | ${fmtInt(used / tm)} |`);
  }
  return rates;
}

function sectionTraps(m: Modules): void {
  const bytes = m.counter;
  const budget = fuelForMs(DEFAULT_CPU_BUDGET_MS);
  const trapMs = (instance: WebAssembly.Instance): number => {
    setFuel(instance, budget);
    const t = performance.now();
    try {
      exp(instance, 'spin')();
    } catch {
      /* the fuel trap */
    }
    return performance.now() - t;
  };
  const cold: number[] = [];
  for (let i = 0; i < 7; i++) cold.push(trapMs(instantiate(bytes))); // fresh compile: Liftoff code
  const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  for (let i = 0; i < 20; i++) trapMs(new WebAssembly.Instance(module, {}));
  const warm: number[] = [];
  for (let i = 0; i < 9; i++) warm.push(trapMs(new WebAssembly.Instance(module, {})));
  const tNew = best(50, () => void new WebAssembly.Instance(module, {}));
  out(
    `- infinite \`(loop br 0)\` at the default budget (${DEFAULT_CPU_BUDGET_MS} ms = ${fmtInt(budget)} units): traps after ${f2(median(warm))} ms warm (median), ${f2(median(cold))} ms on freshly compiled code; a new instance from the compiled module: ${(tNew * 1000).toFixed(0)} µs`,
  );
}

function sectionBulk(m: Modules): void {
  const instance = instantiate(m.counter);
  const meter = createFuelMeter(instance, Number.MAX_SAFE_INTEGER);
  const fill = exp(instance, 'fill');
  const n = 65536 - 16;
  meter.refill();
  fill(n); // first touch
  const ms = best(50, () => {
    meter.refill();
    fill(n);
  });
  meter.refill();
  fill(n);
  const used = meter.used();
  out(`- memory.fill of 64 KiB (touched memory): ${(ms * 1000).toFixed(1)} µs, ${fmtInt(used)} units → ${fmtInt(used / ms)} units/ms`);

  // grow a page, then touch it: the page-fault cost the per-page grow charge stands for
  const grow = instantiate(m.grow);
  const gm = createFuelMeter(grow, Number.MAX_SAFE_INTEGER);
  const growMs: number[] = [];
  const touchMs: number[] = [];
  for (let i = 0; i < 200; i++) {
    gm.refill();
    let t = performance.now();
    const page = exp(grow, 'grow')(1) as number;
    growMs.push(performance.now() - t);
    t = performance.now();
    exp(grow, 'touch')(page);
    touchMs.push(performance.now() - t);
  }
  out(
    `- memory.grow(1): ${(median(growMs) * 1000).toFixed(1)} µs median; first touch of the new 64 KiB page (memory.fill): ${(median(touchMs) * 1000).toFixed(1)} µs median ` +
      `(charged ${fmtInt(GROW_PAGE_COST)} units for the grow, ${fmtInt((65536 >> BULK_BYTES_PER_UNIT_LOG2) + 1)} for the fill)`,
  );
}

function sectionSetFuel(m: Modules): void {
  const metered = instantiate(m.kernels);
  const plain = instantiate(m.kernelsOriginal);
  const meter = createFuelMeter(metered, fuelForMs(DEFAULT_CPU_BUDGET_MS));
  const N = 2_000_000;
  const nsPer = (f: () => void): number => {
    f();
    return (best(5, f) * 1e6) / N;
  };
  const refill = nsPer(() => {
    for (let i = 0; i < N; i++) meter.refill();
  });
  const setLookup = nsPer(() => {
    for (let i = 0; i < N; i++) setFuel(metered, 2_000_000 + (i & 1));
  });
  const g64 = metered.exports[FUEL_EXPORT] as WebAssembly.Global;
  const budget = BigInt(fuelForMs(DEFAULT_CPU_BUDGET_MS));
  const setGlobal = nsPer(() => {
    for (let i = 0; i < N; i++) g64.value = budget;
  });
  const g32 = new WebAssembly.Global({ value: 'i32', mutable: true }, 0);
  const setI32 = nsPer(() => {
    for (let i = 0; i < N; i++) g32.value = i;
  });
  const addPlain = exp(plain, 'add') as (a: number, b: number) => number;
  const addMetered = exp(metered, 'add') as (a: number, b: number) => number;
  meter.set(Number.MAX_SAFE_INTEGER);
  const callPlain = nsPer(() => {
    for (let i = 0; i < N; i++) addPlain(i, 1);
  });
  const callMetered = nsPer(() => {
    for (let i = 0; i < N; i++) addMetered(i, 1);
  });
  const callRefill = nsPer(() => {
    for (let i = 0; i < N; i++) {
      meter.refill();
      addMetered(i, 1);
    }
  });
  out(
    `- setting the fuel: \`meter.refill()\` (calls the exported \`wsx_fuel_set(f64)\`) ${f2(refill)} ns; \`setFuel(instance, n)\` (looks the export up, then calls it) ${f2(setLookup)} ns; ` +
      `writing the exported i64 global \`wsx_fuel\` through the JS API instead (a cached BigInt) ${f2(setGlobal)} ns; an i32 WebAssembly.Global write ${f2(setI32)} ns`,
  );
  out(`- a trivial export \`add(a, b)\`: ${f2(callPlain)} ns original, ${f2(callMetered)} ns instrumented, ${f2(callRefill)} ns instrumented with \`refill()\` before each call`);
}

function machineLines(): string[] {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? '?';
  const nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  return [
    `- date: ${new Date().toISOString()}`,
    `- nproc: ${nproc}; CPU: ${model}; load average at start ${loadavg().map((x) => x.toFixed(1)).join(' ')}`,
    `- Node ${process.version} (V8 ${process.versions.v8}); binaryen ${readPkgVersion('binaryen')}; assemblyscript ${readPkgVersion('assemblyscript')}`,
  ];
}

function readPkgVersion(name: string): string {
  return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

// ---------------------------------------------------------------- main

interface Modules {
  kernelsOriginal: Uint8Array;
  kernels: Uint8Array;
  counterOriginal: Uint8Array;
  counter: Uint8Array;
  grow: Uint8Array;
}
const MODULE_NAMES: ReadonlyArray<keyof Modules> = ['kernelsOriginal', 'kernels', 'counterOriginal', 'counter', 'grow'];

function runTimeSections(m: Modules): void {
  out();
  out('### Tight loops: slowdown and fuel burned per ms (best of 40 warm runs each)');
  const rates = sectionLoops(m);
  out();
  out(
    `Units per ms across these loops: min ${fmtInt(Math.min(...rates))}, median ${fmtInt(median(rates))}, max ${fmtInt(Math.max(...rates))}. ` +
      `host/plugins/sandbox/fuel.ts uses FUEL_UNITS_PER_MS = ${fmtInt(FUEL_UNITS_PER_MS)}.`,
  );
  out();
  out('### Traps, bulk memory, setting the fuel');
  out();
  sectionTraps(m);
  sectionBulk(m);
  sectionSetFuel(m);
}

async function parent(): Promise<void> {
  const header = machineLines();
  out('## Plugin sandbox: fuel instrumentation (bench/plugin-fuel.ts)');
  out();
  out('Command: `node --import tsx bench/plugin-fuel.ts --write`');
  out();
  for (const l of header) out(l);
  out();
  out('### Instrumentation (in the primary)');
  out();
  sectionBinaryen();
  const kernelsOriginal = await compileAs(kernelsSource);
  const counterOriginal = await wat(counterWat);
  const big = await compileAs(bigSource(520));
  out(`- generated large module: ${(big.length / 1024).toFixed(0)} KB`);
  await sectionInstrument(kernelsOriginal, big);
  const prep = async (bytes: Uint8Array): Promise<Uint8Array> => (await prepareModule(bytes, { maxMemoryPages: 256 })).bytes;
  const modules: Modules = {
    kernelsOriginal,
    kernels: await prep(kernelsOriginal),
    counterOriginal,
    counter: await prep(counterOriginal),
    grow: await prep(await wat(growWat)),
  };
  const dir = mkdtempSync(join(tmpdir(), 'wasmscale-fuel-bench-'));
  try {
    for (const name of MODULE_NAMES) writeFileSync(join(dir, `${name}.wasm`), modules[name]);
    const child = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', dir], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    for (const line of child.replace(/\n$/, '').split('\n')) out(line);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  out();
  out('Reading these figures:');
  out();
  out('- The machine is shared with other builds, tests and benchmarks (see the load average): absolute');
  out('  times move by up to ±30% between runs, ratios less. Loop times are the best of 40 short runs.');
  out('- Instrumentation runs in the primary. Binaryen compiles its own wasm code lazily, so the first');
  out('  modules prepared after it loads take several times longer than later ones.');
  out('- The run-time figures come from a child process that, like a worker, has not loaded binaryen or');
  out('  the AssemblyScript compiler (in a process that has, V8 compiles them in background threads for');
  out('  many seconds and everything else runs slower).');
  out('- `FUEL_UNITS_PER_MS` is set near the slowest burner seen over several runs (call-heavy recursion,');
  out('  4-7 M units/ms), so a budget is an upper bound on CPU time for these loops; fast burners (tight');
  out('  arithmetic, bulk copies) run out after a quarter to a half of it.');
  if (process.argv.includes('--write')) writeReadme();
}

function writeReadme(): void {
  const readme = join(root, 'bench', 'README.md');
  const begin = '<!-- plugin-fuel:begin -->';
  const end = '<!-- plugin-fuel:end -->';
  const section = `${begin}\n${lines.join('\n')}\n${end}`;
  const current = existsSync(readme) ? readFileSync(readme, 'utf8') : '';
  const i = current.indexOf(begin);
  const j = current.indexOf(end);
  const next =
    i >= 0 && j > i
      ? current.slice(0, i) + section + current.slice(j + end.length)
      : `${current}${current === '' || current.endsWith('\n\n') ? '' : current.endsWith('\n') ? '\n' : '\n\n'}${section}\n`;
  writeFileSync(readme, next);
  console.log(`\nwrote the section to ${readme}`);
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) {
  const dir = process.argv[childAt + 1]!;
  const read = (name: keyof Modules): Uint8Array => new Uint8Array(readFileSync(join(dir, `${name}.wasm`)));
  runTimeSections({
    kernelsOriginal: read('kernelsOriginal'),
    kernels: read('kernels'),
    counterOriginal: read('counterOriginal'),
    counter: read('counter'),
    grow: read('grow'),
  });
} else {
  await parent();
}
