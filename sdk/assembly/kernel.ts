// The few Extism kernel calls the lifecycle exports need (describe, configure): read the call's
// input and set its output. Hand-written (rather than @extism/as-pdk) so that a plugin depends on
// this SDK alone and imports only what it uses from "extism:host/env".

@external("extism:host/env", "input_length")
declare function input_length(): u64;
@external("extism:host/env", "input_load_u8")
declare function input_load_u8(offset: u64): u8;
@external("extism:host/env", "input_load_u64")
declare function input_load_u64(offset: u64): u64;
@external("extism:host/env", "alloc")
declare function kernel_alloc(length: u64): u64;
@external("extism:host/env", "store_u8")
declare function store_u8(offset: u64, value: u8): void;
@external("extism:host/env", "store_u64")
declare function store_u64(offset: u64, value: u64): void;
@external("extism:host/env", "output_set")
declare function output_set(offset: u64, length: u64): void;

/** The current Extism call's input bytes. */
export function readInput(): ArrayBuffer {
  const length = <i32>input_length();
  const buf = new ArrayBuffer(length);
  const base = changetype<usize>(buf);
  let i = 0;
  for (; i + 8 <= length; i += 8) store<u64>(base + i, input_load_u64(i));
  for (; i < length; i++) store<u8>(base + i, input_load_u8(i));
  return buf;
}

/** Sets the current Extism call's output to these bytes. */
export function writeOutput(bytes: ArrayBuffer): void {
  const length = bytes.byteLength;
  const block = kernel_alloc(length);
  const base = changetype<usize>(bytes);
  let i = 0;
  for (; i + 8 <= length; i += 8) store_u64(block + i, load<u64>(base + i));
  for (; i < length; i++) store_u8(block + i, load<u8>(base + i));
  output_set(block, length);
}

export function writeOutputString(s: string): void {
  writeOutput(String.UTF8.encode(s));
}
