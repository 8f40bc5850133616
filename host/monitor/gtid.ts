// MariaDB GTID positions ("0-1-100,1-2-7": domain-server-sequence per replication domain) and
// the comparisons the monitor needs: has a server applied everything another one has?

export interface GtidEntry {
  domain: number;
  serverId: number;
  seq: bigint;
}

/** Parses a GTID list; malformed items are skipped. Keyed by domain id. */
export function parseGtidList(text: string | null | undefined): Map<number, GtidEntry> {
  const out = new Map<number, GtidEntry>();
  if (!text) return out;
  for (const item of text.split(',')) {
    const m = /^\s*(\d+)-(\d+)-(\d+)\s*$/.exec(item);
    if (!m) continue;
    const domain = Number(m[1]);
    out.set(domain, { domain, serverId: Number(m[2]), seq: BigInt(m[3]!) });
  }
  return out;
}

/**
 * True if position `have` includes everything in `want`: for every domain in `want`, `have`
 * has that domain at a sequence number at least as high. Domains only in `have` do not matter.
 */
export function gtidContains(have: Map<number, GtidEntry>, want: Map<number, GtidEntry>): boolean {
  for (const [domain, w] of want) {
    const h = have.get(domain);
    if (!h || h.seq < w.seq) return false;
  }
  return true;
}

/** Transactions `have` is missing relative to `want`, summed over domains (0 if caught up). */
export function gtidBehind(have: Map<number, GtidEntry>, want: Map<number, GtidEntry>): bigint {
  let n = 0n;
  for (const [domain, w] of want) {
    const h = have.get(domain)?.seq ?? 0n;
    if (h < w.seq) n += w.seq - h;
  }
  return n;
}
