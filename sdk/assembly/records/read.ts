// Reading fields of a record in the exchange buffer (ABI.md §6). A field that would end beyond
// the record's `size` reads as its default (0, empty), which is what lets a plugin built for an
// older minor read a newer host's records, and the other way round.

@inline export function u8At(base: usize, size: u32, off: u32): u8 {
  return off + 1 <= size ? load<u8>(base + off) : 0;
}

@inline export function u16At(base: usize, size: u32, off: u32): u16 {
  return off + 2 <= size ? load<u16>(base + off) : 0;
}

@inline export function u32At(base: usize, size: u32, off: u32): u32 {
  return off + 4 <= size ? load<u32>(base + off) : 0;
}

/** i32 fields whose default is not 0 (lag_ms: -1 unknown) pass their own default. */
@inline export function i32At(base: usize, size: u32, off: u32, fallback: i32): i32 {
  return off + 4 <= size ? load<i32>(base + off) : fallback;
}

@inline export function u64At(base: usize, size: u32, off: u32): u64 {
  return off + 8 <= size ? load<u64>(base + off) : 0;
}

/** Byte length of the `str` at `off` (clamped to what the record holds). */
@inline export function strLen(base: usize, size: u32, off: u32): u32 {
  if (off + 4 > size) return 0;
  const n = load<u32>(base + off);
  const room = size - off - 4;
  return n <= room ? n : room;
}

/** Offset just past the `str` at `off`. */
@inline export function afterStr(base: usize, size: u32, off: u32): u32 {
  return off + 4 + strLen(base, size, off);
}

/** The `str` at `off`, decoded (allocates). */
export function strAt(base: usize, size: u32, off: u32): string {
  const n = strLen(base, size, off);
  return n == 0 ? "" : String.UTF8.decodeUnsafe(base + off + 4, n);
}

/** Number of entries of the `list<u32>` at `off` (clamped to what the record holds). */
@inline export function listCount(base: usize, size: u32, off: u32): u32 {
  if (off + 4 > size) return 0;
  const n = load<u32>(base + off);
  const room = (size - off - 4) >> 2;
  return n <= room ? n : room;
}

/** Entry `i` of the `list<u32>` at `off`, or `fallback` past its end. */
@inline export function listAt(base: usize, size: u32, off: u32, i: u32, fallback: u32): u32 {
  return i < listCount(base, size, off) ? load<u32>(base + off + 4 + (i << 2)) : fallback;
}
