// Routing hints in comments: `-- wasmscale route to master`, `/* wasmscale route to server db2 */`,
// and MaxScale's spelling `-- maxscale route to slave`. Parsed on the comment's bytes; the
// server name is returned as offsets into the buffer, so nothing is allocated.
import { Hint } from './flags.js';
import { UPPER } from './keywords.js';

/** Where parseHint puts its answer (a ClassifyResult satisfies it). */
export interface HintTarget {
  hint: number;
  hintStart: number;
  hintEnd: number;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
}

function skipSpace(buf: Uint8Array, p: number, end: number): number {
  while (p < end && isSpace(buf[p]!)) p++;
  return p;
}

/** Length of the word at p if it is `word` (upper-case ASCII), any case, followed by a non-letter; else 0. */
function matchWord(buf: Uint8Array, p: number, end: number, word: string): number {
  const n = word.length;
  if (p + n > end) return 0;
  for (let i = 0; i < n; i++) if (UPPER[buf[p + i]!] !== word.charCodeAt(i)) return 0;
  if (p + n < end) {
    const c = UPPER[buf[p + n]!]!;
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f) return 0;
  }
  return n;
}

/**
 * Parses a hint from a comment's content buf[start..end). Returns the hint kind (Hint.*; NONE if
 * the comment is not a hint) and, for Hint.SERVER, sets out.hintStart/hintEnd to the name.
 */
export function parseHint(buf: Uint8Array, start: number, end: number, out: HintTarget): number {
  let p = skipSpace(buf, start, end);
  if (p >= end) return Hint.NONE;
  const first = buf[p]! | 0x20;
  if (first !== 0x77 && first !== 0x6d) return Hint.NONE; // cheap test: w(asmscale) / m(axscale)
  let n = matchWord(buf, p, end, 'WASMSCALE') || matchWord(buf, p, end, 'MAXSCALE');
  if (n === 0) return Hint.NONE;
  p = skipSpace(buf, p + n, end);
  if ((n = matchWord(buf, p, end, 'ROUTE')) === 0) return Hint.NONE;
  p = skipSpace(buf, p + n, end);
  if ((n = matchWord(buf, p, end, 'TO')) === 0) return Hint.NONE;
  p = skipSpace(buf, p + n, end);
  let kind: number = Hint.NONE;
  if (matchWord(buf, p, end, 'MASTER') || matchWord(buf, p, end, 'PRIMARY')) kind = Hint.MASTER;
  else if (matchWord(buf, p, end, 'SLAVE') || matchWord(buf, p, end, 'REPLICA')) kind = Hint.SLAVE;
  else if (matchWord(buf, p, end, 'LAST')) kind = Hint.LAST;
  else if ((n = matchWord(buf, p, end, 'SERVER')) !== 0) {
    p = skipSpace(buf, p + n, end);
    let e = p;
    while (e < end && !isSpace(buf[e]!) && buf[e] !== 0x2a) e++;
    if (e === p) return Hint.NONE;
    out.hintStart = p;
    out.hintEnd = e;
    kind = Hint.SERVER;
  }
  if (kind !== Hint.NONE) out.hint = kind;
  return kind;
}
