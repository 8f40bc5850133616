// 64-bit FNV-1a, computed with plain number arithmetic (no BigInt on the hot path) and read out
// as two u32 halves. The statement digest is FNV-1a 64 of the canonical form's UTF-8 bytes; the canonical
// emitter (canonical.ts) streams those bytes into a Fnv64 without building the string.

// State: four 16-bit limbs, so every intermediate value stays a small integer (no heap numbers,
// no float arithmetic). The FNV-64 prime is 2^40 + 0x1b3: h * prime = h * 0x1b3 + (h << 40).
const PRIME_LOW = 0x1b3;

export class Fnv64 {
  private h0 = 0x2325;
  private h1 = 0x8422;
  private h2 = 0x9ce4;
  private h3 = 0xcbf2;

  reset(): void {
    this.h0 = 0x2325;
    this.h1 = 0x8422;
    this.h2 = 0x9ce4;
    this.h3 = 0xcbf2;
  }

  /** Low u32 of the hash. */
  get lo(): number {
    return ((this.h1 << 16) | this.h0) >>> 0;
  }

  /** High u32 of the hash. */
  get hi(): number {
    return ((this.h3 << 16) | this.h2) >>> 0;
  }

  byte(c: number): void {
    const l0 = this.h0 ^ c;
    const l1 = this.h1;
    const t0 = l0 * PRIME_LOW;
    const t1 = l1 * PRIME_LOW + (t0 >>> 16);
    const t2 = this.h2 * PRIME_LOW + (t1 >>> 16) + (l0 << 8);
    this.h3 = (this.h3 * PRIME_LOW + (t2 >>> 16) + (l1 << 8)) & 0xffff;
    this.h2 = t2 & 0xffff;
    this.h1 = t1 & 0xffff;
    this.h0 = t0 & 0xffff;
  }

  /** Hashes buf[start..end); upper-cases ASCII letters when `upper`. */
  range(buf: Uint8Array, start: number, end: number, upper: boolean): void {
    let h0 = this.h0;
    let h1 = this.h1;
    let h2 = this.h2;
    let h3 = this.h3;
    for (let i = start; i < end; i++) {
      let c = buf[i]!;
      if (upper && c >= 0x61 && c <= 0x7a) c -= 32;
      const l0 = h0 ^ c;
      const t0 = l0 * PRIME_LOW;
      const t1 = h1 * PRIME_LOW + (t0 >>> 16);
      const t2 = h2 * PRIME_LOW + (t1 >>> 16) + (l0 << 8);
      h3 = (h3 * PRIME_LOW + (t2 >>> 16) + (h1 << 8)) & 0xffff;
      h2 = t2 & 0xffff;
      h1 = t1 & 0xffff;
      h0 = t0 & 0xffff;
    }
    this.h0 = h0;
    this.h1 = h1;
    this.h2 = h2;
    this.h3 = h3;
  }
}

/** The digest's two halves as one unsigned 64-bit bigint. */
export function digestBigInt(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Reference FNV-1a 64 over bytes, in BigInt (tests and tools: slow). */
export function fnv1a64(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}
