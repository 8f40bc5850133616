import { createHash, randomBytes } from 'node:crypto';

/**
 * mysql_native_password without storing passwords. The server keeps stage2 = SHA1(SHA1(pw)).
 * A client answers a scramble with token = SHA1(pw) XOR SHA1(scramble + stage2). Knowing stage2,
 * the proxy recovers stage1 = SHA1(pw) from the token, checks SHA1(stage1) == stage2, and can then
 * compute a valid token for any backend scramble: what MaxScale does, no plaintext needed.
 */

function sha1(...parts: Buffer[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** 20 printable, non-NUL bytes, as MariaDB generates them. */
export function newScramble(): Buffer {
  const b = randomBytes(20);
  for (let i = 0; i < b.length; i++) b[i] = (b[i]! % 94) + 33;
  return b;
}

/** Decodes the '*HEX' authentication_string of mysql_native_password into stage2; null if empty. */
export function stage2FromAuthString(s: string): Buffer | null {
  if (s === '') return null;
  if (!/^\*[0-9A-Fa-f]{40}$/.test(s)) return null;
  return Buffer.from(s.slice(1), 'hex');
}

/** Recovers stage1 from a client's token, or null if the token does not match stage2. */
export function recoverStage1(token: Buffer, scramble: Buffer, stage2: Buffer): Buffer | null {
  if (token.length !== 20) return null;
  const mask = sha1(scramble.subarray(0, 20), stage2);
  const stage1 = Buffer.allocUnsafe(20);
  for (let i = 0; i < 20; i++) stage1[i] = token[i]! ^ mask[i]!;
  return sha1(stage1).equals(stage2) ? stage1 : null;
}

/** Token to send for a scramble, given stage1 = SHA1(password). */
export function tokenFromStage1(stage1: Buffer, scramble: Buffer): Buffer {
  const mask = sha1(scramble.subarray(0, 20), sha1(stage1));
  const out = Buffer.allocUnsafe(20);
  for (let i = 0; i < 20; i++) out[i] = stage1[i]! ^ mask[i]!;
  return out;
}

/** Token from a plaintext password (the proxy's own service and monitor users). */
export function tokenFromPassword(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  return tokenFromStage1(sha1(Buffer.from(password, 'utf8')), scramble);
}
