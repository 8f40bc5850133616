// Reads into a reused buffer (Node's `onread` socket option) instead of a new Buffer per read
// pushed through the Readable machinery. The chunk handed to the sink is a view that is valid only
// until the sink returns: a consumer that keeps it (a write still queued, a packet held for later)
// calls keep(), and the next read goes into a fresh buffer instead.

/** What one read(2) may return. */
const SIZE = 64 * 1024;

export class ReadBuffer {
  sink: (chunk: Buffer) => void = () => {};
  private buf = Buffer.allocUnsafeSlow(SIZE);
  private kept = false;

  /** For `onread.buffer`: called after every read, returns where the next one goes. */
  readonly next = (): Buffer => {
    if (this.kept) {
      this.kept = false;
      this.buf = Buffer.allocUnsafeSlow(SIZE);
    }
    return this.buf;
  };

  /** For `onread.callback`. Returns true: backpressure pauses the socket explicitly, not from here. */
  readonly read = (n: number, buf: Uint8Array): boolean => {
    this.sink((buf as Buffer).subarray(0, n));
    return true;
  };

  /** The chunk being delivered stays referenced after the sink returns. */
  keep(): void {
    this.kept = true;
  }

  /** The `onread` option of net.connect() / new net.Socket(). */
  get options(): { buffer: () => Buffer; callback: (n: number, buf: Uint8Array) => boolean } {
    return { buffer: this.next, callback: this.read };
  }
}
