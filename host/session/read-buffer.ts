// Reads into a reused buffer (Node's `onread` socket option) instead of a new Buffer per read
// pushed through the Readable machinery. The chunk handed to the sink is a view that is valid only
// until the sink returns: a consumer that keeps it (a write still queued, a packet held for later)
// calls keep(), and the next read goes into a fresh buffer instead.

/** Where reads go normally: statements and replies of OLTP traffic fit many times over. */
const SMALL = 16 * 1024;
/** After a read filled SMALL (a big result, a blob): as much as a 64 KiB read(2) gives. */
const LARGE = 64 * 1024;

/**
 * One per socket. The buffer grows to LARGE when a read fills it and goes back to SMALL when the
 * reader says the transfer is over (a reply or a command ended with nothing more pending): a
 * session that once moved a big result does not keep 64 KiB per socket for the rest of its life
 * (2,000 idle sessions, two sockets each), and bulk transfers still read 64 KiB at a time. The
 * size of a read alone cannot tell: MariaDB writes results in 16 KiB pieces, and the last read
 * of a transfer can be any size.
 */
export class ReadBuffer {
  sink: (chunk: Buffer) => void = () => {};
  private buf = Buffer.allocUnsafeSlow(SMALL);
  private kept = false;
  private last = 0;
  private done = false;

  /** For `onread.buffer`: called after every read, returns where the next one goes. */
  readonly next = (): Buffer => {
    const have = this.buf.length;
    const want = this.done ? SMALL : this.last === have ? LARGE : have;
    this.done = false;
    if (this.kept || want !== have) {
      this.kept = false;
      this.buf = Buffer.allocUnsafeSlow(want);
    }
    return this.buf;
  };

  /** For `onread.callback`. Returns true: backpressure pauses the socket explicitly, not from here. */
  readonly read = (n: number, buf: Uint8Array): boolean => {
    this.last = n;
    this.sink((buf as Buffer).subarray(0, n));
    return true;
  };

  /** Called from the sink: the transfer this read ended is over; the next read goes to SMALL. */
  transferDone(): void {
    this.done = true;
  }

  /** The chunk being delivered stays referenced after the sink returns. */
  keep(): void {
    this.kept = true;
  }

  /** The `onread` option of net.connect() / new net.Socket(). */
  get options(): { buffer: () => Buffer; callback: (n: number, buf: Uint8Array) => boolean } {
    return { buffer: this.next, callback: this.read };
  }
}
