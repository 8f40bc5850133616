// Fills a Statement's classification (kind, flags, digest, routing hint) from the classifier, for
// the session and for the plugin test kit alike, so both show routers the same statement.
import { classify, type ClassifyResult } from '../classify/index.js';
import type { Statement } from './router.js';

/** A Statement the caller reuses and refills (routing must not allocate per statement). */
export type MutableStatement = { -readonly [K in keyof Statement]: Statement[K] };

/** Classifies the SQL of a COM_QUERY / COM_STMT_PREPARE `payload` (after its command byte) into `stmt`. */
export function classifyStatement(stmt: MutableStatement, payload: Buffer, scratch: ClassifyResult): void {
  const c = classify(payload, 1, payload.length, scratch);
  stmt.kind = c.kind;
  stmt.flags = c.flags;
  stmt.digestLo = c.digestLo;
  stmt.digestHi = c.digestHi;
  stmt.hint = c.hint;
  // Only a `route to server NAME` hint sets hintStart/hintEnd; no string otherwise.
  if (c.hintEnd > c.hintStart) stmt.hintServer = payload.toString('utf8', c.hintStart, c.hintEnd);
}
