// Hand-written plugin modules (WebAssembly text, assembled with binaryen) for tests that need
// what no SDK would build: wrong markers, missing exports, bad descriptors, and the shortest
// records of the 1.0 layouts (an "old" plugin as another toolchain might write it).
import binaryen from 'binaryen';

export interface WatPlugin {
  /** wsx_abi_version's value (default 0x00010000 = 1.0). */
  marker?: number;
  /** describe()'s output (default: a router subscribing to route and session_start). */
  describe?: string | object;
  /** Exports to leave out (e.g. 'wsx_buffer'). */
  omit?: string[];
  /** Body of wsx_route (param $len i32) (result i32); the buffer is at 4096. Default: return 0. */
  route?: string;
  /** Body of wsx_session_start; default: return 0. */
  sessionStart?: string;
  /** Body of configure (no params, result i32); default: output nothing (accept). */
  configure?: string;
  /** Memory limits in pages (default 1..4); null maximum = none declared. */
  memory?: { initial: number; maximum: number | null };
}

export const DEFAULT_DESCRIPTOR = { name: 'wat-router', kind: 'router', version: '0.0.1', abi: '1.0', hooks: ['route', 'session_start'] };

function dataString(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
}

export function watPluginText(p: WatPlugin = {}): string {
  const json = typeof p.describe === 'string' ? p.describe : JSON.stringify(p.describe ?? DEFAULT_DESCRIPTOR);
  const len = Buffer.byteLength(json);
  const omit = new Set(p.omit ?? []);
  const exp = (name: string) => (omit.has(name) ? '' : `(export "${name}")`);
  const mem = p.memory ?? { initial: 1, maximum: 4 };
  return `(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory ${exp('memory')} ${mem.initial} ${mem.maximum ?? ''})
  (data (i32.const 256) "${dataString(json)}")
  (func ${exp('wsx_abi_version')} (result i32) (i32.const ${p.marker ?? 0x10000}))
  (func ${exp('wsx_buffer')} (param i32) (result i32) (i32.const 4096))
  (func $out (param $at i32) (param $n i32)
    (local $blk i64) (local $i i32)
    (local.set $blk (call $alloc (i64.extend_i32_u (local.get $n))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $store_u8 (i64.add (local.get $blk) (i64.extend_i32_u (local.get $i)))
        (i32.load8_u (i32.add (local.get $at) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (call $output_set (local.get $blk) (i64.extend_i32_u (local.get $n))))
  (func ${exp('describe')} (result i32) (call $out (i32.const 256) (i32.const ${len})) (i32.const 0))
  (func ${exp('configure')} (result i32) ${p.configure ?? '(i32.const 0)'})
  (func ${exp('wsx_route')} (param $len i32) (result i32) ${p.route ?? '(i32.const 0)'})
  (func ${exp('wsx_session_start')} (param $len i32) (result i32) ${p.sessionStart ?? '(i32.const 0)'})
)`;
}

/** The module's bytes. */
export function watPlugin(p: WatPlugin = {}): Uint8Array {
  const m = binaryen.parseText(watPluginText(p));
  try {
    if (!m.validate()) throw new Error('invalid test module');
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

/** A configure body that outputs `message` (stored at 2048) as the refusal. */
export function configureRefusing(message: string): string {
  const n = Buffer.byteLength(message);
  return `${[...Buffer.from(message)].map((b, i) => `(i32.store8 (i32.const ${2048 + i}) (i32.const ${b}))`).join(' ')} (call $out (i32.const 2048) (i32.const ${n})) (i32.const 0)`;
}
