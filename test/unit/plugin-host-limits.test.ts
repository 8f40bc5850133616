// Limits a plugin cannot escape through its imports (sdk/ABI.md §8, §9; host/plugins/sandbox/README.md):
// kernel alloc() within the memory quota, a host-time limit per call, log lines cut to 4 KiB,
// at most 256 counter names; and the slot's synchronous replacement when traps come faster
// than spares (plugin-slot.ts), with the Extism kernel driven synchronously (kernel.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PluginLimits } from '../../host/config/index.js';
import { MAX_LOG_LINE_BYTES } from '../../host/plugins/host-functions.js';
import { Kernel, KERNEL_FUNCTIONS, loadKernel } from '../../host/plugins/kernel.js';
import { MAX_COUNTERS } from '../../host/plugins/plugin-metrics.js';
import { PROVIDED_IMPORTS } from '../../host/plugins/sandbox/validate.js';
import { PluginTestKit, type TestServer } from '../../host/plugins/testkit.js';
import { fixturePlugin } from './plugin-fixtures.js';
import { watPluginText } from './plugin-wat.js';
import { wat } from './sandbox-fixtures.js';

const SERVERS: TestServer[] = [{ name: 'db1', role: 'primary', state: 'up' }, { name: 'db2', role: 'replica', state: 'up' }];
const dir = mkdtempSync(join(tmpdir(), 'wsx-host-limits-'));

function capture(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void out.push(s) });
  return { log, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** A WAT router (plugin-wat.ts) with extra imports and a route body; written to a file. */
async function watRouter(name: string, imports: string, route: string, memory = { initial: 2, maximum: 4 }): Promise<string> {
  const text = watPluginText({ route, memory }).replace('(module', `(module ${imports}`);
  const file = join(dir, `${name}.wasm`);
  writeFileSync(file, await wat(text));
  return file;
}

async function kit(file: string, limits: Partial<PluginLimits>, log: Logger): Promise<PluginTestKit> {
  return PluginTestKit.load(file, { servers: SERVERS, limits: { cpu_budget: 5, failure_policy: 'fail_open', max_traps: 1000, ...limits }, log });
}

const traps = (lines: Record<string, unknown>[]) => lines.filter((l) => l.msg === 'plugin trapped; the call failed and the instance is replaced');

describe('the Extism kernel, synchronously', () => {
  beforeAll(() => loadKernel());

  it('provides exactly the functions the sandbox lets a module import from extism:host/env', () => {
    expect([...KERNEL_FUNCTIONS].sort()).toEqual([...PROVIDED_IMPORTS['extism:host/env']!].sort());
    const k = new Kernel(console, { hostCall: () => {}, kernelAlloc: () => {} });
    expect(Object.keys(k.imports).sort()).toEqual([...KERNEL_FUNCTIONS].sort());
  });
});

describe('a burst of traps faster than spares are made', () => {
  it('every call after a trap is served by a configured instance, with no turn of the event loop in between', async () => {
    const probe = await fixturePlugin('probe-router');
    const { log, lines } = capture();
    const k = await kit(probe, { failure_policy: 'fail_closed' }, log);
    try {
      const s = k.startSession({ user: 'pick:1' });
      const other = k.startSession({ user: 'pick:0' });
      for (let i = 0; i < 6; i++) {
        expect(k.route(s, 'TRAP').kind).toBe('error');
        // The bystander: served by the replacement (which was told about it), not by the policy.
        expect(k.route(other, 'SESSION?')).toEqual({ kind: 'error', message: 'known:0' });
        expect(k.route(other, 'SELECT 1')).toEqual({ kind: 'server', server: 'db1' });
      }
      expect(k.metrics()).toMatchObject({ plugin__traps: 6, plugin__policy_decisions: 6 });
      expect(traps(lines())).toHaveLength(6);
    } finally {
      k.close();
    }
  });
});

const ALLOC = '(import "extism:host/env" "free" (func $free (param i64)))';
const CLOCK = '(import "wasmscale_v1" "clock_ms" (func $clock (result f64)))';
const METRIC = '(import "wasmscale_v1" "metric_add" (func $metric (param i32 i32 f64) (result i32)))';
const LOG = '(import "wasmscale_v1" "log" (func $log (param i32 i32 i32) (result i32)))';

describe('extism:host/env.alloc counts against the memory quota', () => {
  it('an allocation past the quota traps the call; small ones in every call do not add up', async () => {
    const file = await watRouter('kalloc', ALLOC, `
      (if (i32.eq (i32.load8_u (i32.add (i32.const 4096) (i32.const 36))) (i32.const 66))
        (then (drop (call $alloc (i64.const 2000000)))))
      (drop (call $alloc (i64.const 100000)))
      (i32.const 0)`);
    const { log, lines } = capture();
    const k = await kit(file, { memory: 1024 * 1024 }, log);
    try {
      const s = k.startSession();
      // 100 kB per call, 200 calls: 20 MB in all, but each call's blocks go when it returns.
      for (let i = 0; i < 200; i++) expect(k.route(s, 'SELECT 1')).toEqual({ kind: 'server', server: 'db1' });
      expect(traps(lines())).toHaveLength(0);
      // A statement whose text starts with B (at offset 36 of the record): 2 MB > the 1 MiB quota.
      k.route(s, 'BIG');
      const t = traps(lines());
      expect(t).toHaveLength(1);
      expect(t[0]!.kind).toBe('host');
      expect(String(t[0]!.err)).toMatch(/extism:host\/env\.alloc\(2000000\) refused: .* would exceed the memory quota of 1048576 bytes/);
      expect(k.route(s, 'SELECT 1')).toEqual({ kind: 'server', server: 'db1' });
    } finally {
      k.close();
    }
  });
});

describe('host functions are bounded in time', () => {
  it('an endless loop of clock_ms calls traps at the host-time limit (4x the 5 ms budget, at least 20 ms)', async () => {
    const file = await watRouter('clockspin', CLOCK, '(loop $l (drop (call $clock)) (br $l)) (i32.const 0)');
    const { log, lines } = capture();
    const k = await kit(file, {}, log);
    try {
      const s = k.startSession();
      const t0 = performance.now();
      expect(k.route(s, 'SELECT 1')).toEqual({ kind: 'server', server: 'db1' });
      const ms = performance.now() - t0;
      expect(ms).toBeLessThan(100);
      expect(ms).toBeGreaterThanOrEqual(20);
      const t = traps(lines());
      expect(t).toHaveLength(1);
      expect(t[0]!.err).toBe('plugin plugin: call went on for more than 20 ms after its first host-function call (host-time limit)');
      // The next call starts a new window.
      const t1 = performance.now();
      k.route(s, 'SELECT 1');
      expect(performance.now() - t1).toBeGreaterThanOrEqual(20);
    } finally {
      k.close();
    }
  });
});

describe('what a plugin writes through host functions is bounded', () => {
  it('a 60,000-byte log line is cut at 4 KiB and marked', async () => {
    const file = await watRouter('biglog', LOG, `
      (memory.fill (i32.const 8192) (i32.const 120) (i32.const 60000))
      (drop (call $log (i32.const 2) (i32.const 8192) (i32.const 60000)))
      (i32.const 0)`);
    const { log, lines } = capture();
    const k = await kit(file, {}, log);
    try {
      k.route(k.startSession(), 'SELECT 1');
      const line = lines().find((l) => l.plugin === 'plugin' && String(l.msg).startsWith('xxxx'))!;
      expect(line.msg).toBe(`${'x'.repeat(MAX_LOG_LINE_BYTES)} … [truncated: 60000 bytes, first ${MAX_LOG_LINE_BYTES} kept]`);
    } finally {
      k.close();
    }
  });

  it(`at most ${MAX_COUNTERS} counter names; further new names get TOO_LARGE (logged once), existing ones keep counting`, async () => {
    // 676 two-letter names "aa".."zz"; the hook returns -(number of non-OK statuses).
    const file = await watRouter('names', METRIC, `
      (local $i i32) (local $bad i32)
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const 676)))
        (i32.store8 (i32.const 8192) (i32.add (i32.const 97) (i32.div_u (local.get $i) (i32.const 26))))
        (i32.store8 (i32.const 8193) (i32.add (i32.const 97) (i32.rem_u (local.get $i) (i32.const 26))))
        (if (i32.ne (call $metric (i32.const 8192) (i32.const 2) (f64.const 1)) (i32.const 0))
          (then (local.set $bad (i32.add (local.get $bad) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
      (i32.sub (i32.const 0) (local.get $bad))`);
    const { log, lines } = capture();
    const k = await kit(file, {}, log);
    try {
      const s = k.startSession();
      k.route(s, 'SELECT 1');
      k.route(s, 'SELECT 1');
      const m = k.metrics();
      const names = Object.keys(m).filter((n) => !n.startsWith('plugin__'));
      expect(names).toHaveLength(MAX_COUNTERS);
      expect(m.plugin_aa).toBe(2);
      expect(m.plugin__errors).toBe(2); // each call reported 676 - 256 refused names
      expect(lines().filter((l) => String(l.msg).startsWith(`plugin has ${MAX_COUNTERS} counters`))).toHaveLength(1);
    } finally {
      k.close();
    }
  });
});
