/** A KILL statement the proxy must answer itself because the id is one of its own sessions. */
export interface KillStatement {
  id: number;
  /** KILL QUERY stops the running statement; KILL [CONNECTION] ends the session. */
  query: boolean;
}

const KILL_RE = /^\s*kill\s+(?:(?:hard|soft)\s+)?(connection\s+|query\s+)?(\d+)\s*;?\s*$/i;

/** Parses `KILL [HARD|SOFT] [CONNECTION|QUERY] <id>`; other forms (KILL USER, QUERY ID) return null. */
export function parseKill(sql: string): KillStatement | null {
  if (sql.length > 80) return null;
  const m = KILL_RE.exec(sql);
  if (!m) return null;
  const id = Number(m[2]);
  if (!Number.isSafeInteger(id) || id > 0xffffffff) return null;
  return { id, query: (m[1] ?? '').trim().toLowerCase() === 'query' };
}

/** Cheap test on the raw COM_QUERY payload before decoding it as text. */
export function mayBeKill(payload: Buffer): boolean {
  let i = 1;
  while (i < payload.length && (payload[i] === 0x20 || payload[i] === 0x0a || payload[i] === 0x09 || payload[i] === 0x0d)) i++;
  return i + 4 < payload.length && (payload[i]! | 0x20) === 0x6b && (payload[i + 1]! | 0x20) === 0x69 &&
    (payload[i + 2]! | 0x20) === 0x6c && (payload[i + 3]! | 0x20) === 0x6c;
}
