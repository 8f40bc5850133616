import { describe, expect, it } from 'vitest';
import { gtidBehind, gtidContains, parseGtidList } from '../../host/monitor/gtid.js';
import { GtidLagTracker } from '../../host/monitor/gtid-lag.js';

describe('GTID lists', () => {
  it('parses domain-server-seq lists, skipping junk', () => {
    const g = parseGtidList('0-1-100, 1-2-7,bad,');
    expect([...g.values()]).toEqual([
      { domain: 0, serverId: 1, seq: 100n },
      { domain: 1, serverId: 2, seq: 7n },
    ]);
    expect(parseGtidList('').size).toBe(0);
    expect(parseGtidList(null).size).toBe(0);
    expect(parseGtidList('0-1-18446744073709551615').get(0)!.seq).toBe(18446744073709551615n);
  });

  it('compares positions per domain', () => {
    const p = (s: string) => parseGtidList(s);
    expect(gtidContains(p('0-1-10'), p('0-1-10'))).toBe(true);
    expect(gtidContains(p('0-1-11'), p('0-1-10'))).toBe(true);
    expect(gtidContains(p('0-1-9'), p('0-1-10'))).toBe(false);
    expect(gtidContains(p('0-1-10,5-3-1'), p('0-1-10'))).toBe(true); // extra local domain
    expect(gtidContains(p('0-1-10'), p('0-1-10,1-1-1'))).toBe(false); // missing domain
    expect(gtidContains(p('0-2-10'), p('0-1-10'))).toBe(true); // server id does not matter
    expect(gtidBehind(p('0-1-7,1-1-1'), p('0-1-10,1-1-3'))).toBe(5n);
    expect(gtidBehind(p('0-1-10'), p('0-1-10'))).toBe(0n);
  });
});

describe('GtidLagTracker', () => {
  it('measures the age of the oldest primary position a replica lacks', () => {
    const t = new GtidLagTracker();
    expect(t.lagOf('0-1-1', 0)).toBe(-1);
    t.observePrimary('a', '0-1-10', 1000);
    t.observePrimary('a', '0-1-10', 2000); // unchanged: keeps its first-seen time
    t.observePrimary('a', '0-1-12', 3000);
    t.observePrimary('a', '0-1-15', 4000);
    expect(t.lagOf('0-1-15', 4000)).toBe(0);
    expect(t.lagOf('0-1-13', 4000)).toBe(0); // lacks only what appeared at this tick
    expect(t.lagOf('0-1-11', 4000)).toBe(1000);
    expect(t.lagOf('0-1-9', 4500)).toBe(3500);
  });

  it('prunes history every replica has, and restarts for a new primary', () => {
    const t = new GtidLagTracker();
    t.observePrimary('a', '0-1-1', 0);
    t.observePrimary('a', '0-1-2', 100);
    t.observePrimary('a', '0-1-3', 200);
    t.prune(['0-1-2', '0-1-3']);
    expect(t.lagOf('0-1-0', 300)).toBe(100); // both replicas have 0-1-2: only 0-1-3 (seen at 200) is left
    t.observePrimary('b', '0-2-9', 400);
    expect(t.lagOf('0-1-3', 500)).toBe(100);
  });
});
