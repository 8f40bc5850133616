// The exchange buffer (ABI.md §5): plugin-owned memory the host writes requests into and reads
// responses from. One buffer per instance, grown (never shrunk) when the host asks for more room.
// It is held by a global, so the garbage collector keeps it, and AssemblyScript never moves it.

let exchange: ArrayBuffer = new ArrayBuffer(16 * 1024);

/** wsx_buffer(min): a buffer of at least `min` bytes; invalidates earlier pointers if it grew. */
export function ensureExchange(min: i32): usize {
  let capacity = exchange.byteLength;
  if (min > capacity) {
    while (capacity < min) capacity <<= 1;
    exchange = new ArrayBuffer(capacity);
  }
  return changetype<usize>(exchange);
}

/** Start of the exchange buffer: requests are read from, and responses written to, here. */
export function exchangePtr(): usize {
  return changetype<usize>(exchange);
}

export function exchangeCapacity(): i32 {
  return exchange.byteLength;
}
