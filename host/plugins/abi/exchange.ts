// The host's side of the exchange buffer (ABI.md §5): a plugin-owned region of the instance's
// memory that requests are written into directly (no intermediate copies) and responses read
// from. Memory growth detaches ArrayBuffers, so views are re-made whenever memory.buffer changes.

/**
 * Conformance testing only: exchanges made while this is non-zero append that many bytes of
 * "future fields" to every record (see Exchange.futureBytes). 0 in production.
 */
export const conformance = { futureBytes: 0 };

/** Room asked for when an instance is set up; requests that need more ask again. */
export const INITIAL_EXCHANGE_BYTES = 4096;

export class Exchange {
  /** Address of the buffer in the instance's memory. */
  ptr = 0;
  /** Bytes the plugin has guaranteed (it may have more). */
  cap = 0;
  /** Views over the instance's memory (re-made by sync()). */
  dv!: DataView;
  bytes!: Buffer;
  private ab: ArrayBuffer | null = null;
  /**
   * Conformance testing only: bytes of "future fields" appended to every record and server
   * entry, as a host of a later minor would (ABI.md §6 extensibility rule). 0 in production.
   */
  futureBytes = conformance.futureBytes;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly wsxBuffer: (min: number) => number,
  ) {}

  /** Asks the plugin for the initial buffer. May trap (it runs plugin code). */
  init(): void {
    this.grow(INITIAL_EXCHANGE_BYTES);
  }

  /** Makes sure `n` bytes fit and the views are current. May trap when the buffer must grow. */
  reserve(n: number): void {
    if (n > this.cap) this.grow(Math.max(n, this.cap * 2));
    else this.sync();
  }

  /**
   * Re-makes the views if memory grew (call after any call into the plugin before reading).
   * Growing a memory detaches its old ArrayBuffer (byteLength 0), which is much cheaper to test
   * than reading memory.buffer on every call.
   */
  sync(): void {
    if (this.ab !== null && this.ab.byteLength !== 0) return;
    const ab = this.memory.buffer as ArrayBuffer;
    if (ab === this.ab) return;
    this.ab = ab;
    this.dv = new DataView(ab);
    this.bytes = Buffer.from(ab);
  }

  private grow(n: number): void {
    const ptr = this.wsxBuffer(n) >>> 0;
    this.sync();
    if (ptr === 0 || ptr + n > this.ab!.byteLength) {
      throw new ExchangeError(`wsx_buffer(${n}) returned ${ptr}, which is not a buffer of ${n} bytes inside the instance's memory`);
    }
    this.ptr = ptr;
    this.cap = n;
  }

  /** True if a response of `len` bytes at the buffer's start lies inside the instance's memory. */
  fits(len: number): boolean {
    return len >= 4 && this.ptr + len <= this.ab!.byteLength;
  }
}

/** The plugin broke the exchange protocol (not a trap, but the call fails). */
export class ExchangeError extends Error {
  override name = 'ExchangeError';
}
