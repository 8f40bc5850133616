// Writing response records into the exchange buffer. Every writer checks room first: a response
// that does not fit in the buffer is refused with TOO_LARGE (the buffer cannot move under the
// host during a hook), and strings are cut to fit rather than overflow.
import { exchangeCapacity, exchangePtr } from "../exchange";

export class RecordWriter {
  base: usize = 0;
  pos: u32 = 0;
  cap: u32 = 0;
  overflow: bool = false;

  begin(): void {
    this.base = exchangePtr();
    this.cap = <u32>exchangeCapacity();
    this.pos = 4; // size, written by end()
    this.overflow = false;
  }

  private room(n: u32): bool {
    if (this.pos + n > this.cap) {
      this.overflow = true;
      return false;
    }
    return true;
  }

  u8(v: u8): void { if (this.room(1)) { store<u8>(this.base + this.pos, v); this.pos += 1; } }
  u16(v: u16): void { if (this.room(2)) { store<u16>(this.base + this.pos, v); this.pos += 2; } }
  u32(v: u32): void { if (this.room(4)) { store<u32>(this.base + this.pos, v); this.pos += 4; } }

  /** A `str`, cut (at a character boundary) to what fits. */
  str(s: string): void {
    if (!this.room(4)) return;
    const at = this.pos;
    this.pos += 4;
    let n = s.length;
    // Worst case 3 bytes per UTF-16 unit: shorten until it certainly fits.
    const free = this.cap - this.pos;
    if (<u32>n * 3 > free) n = <i32>(free / 3);
    const written = <u32>String.UTF8.encodeUnsafe(changetype<usize>(s), n, this.base + this.pos);
    store<u32>(this.base + at, written);
    this.pos += written;
  }

  /** Writes the size field; returns the record's length, or -1 if it did not fit. */
  end(): i32 {
    if (this.overflow) return -1;
    store<u32>(this.base, this.pos);
    return <i32>this.pos;
  }
}

export const writer = new RecordWriter();
