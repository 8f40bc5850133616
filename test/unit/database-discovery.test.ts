// host/core/database-discovery.ts without servers (the read is injected): the map goes to the
// router only when it changes, a server that cannot be read keeps its previous list, and
// refreshes asked for by "unknown database" replies are rate-limited.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseDiscovery } from '../../host/core/database-discovery.js';
import type { BackendServer } from '../../host/session/service-context.js';

const servers = [
  { name: 's1', address: '127.0.0.1', port: 1, state: 'up' },
  { name: 's2', address: '127.0.0.1', port: 2, state: 'up' },
] as unknown as BackendServer[];

const made: DatabaseDiscovery[] = [];
afterEach(() => {
  for (const d of made.splice(0)) d.close();
});

function discovery(lists: Record<string, string[] | Error>, minIntervalMs = 50) {
  const changes: Record<string, readonly string[]>[] = [];
  let reads = 0;
  const d = new DatabaseDiscovery({
    servers: () => servers, user: 'u', password: 'p', connectTimeoutMs: 100, intervalMs: 3_600_000, minIntervalMs,
    log: pino({ level: 'silent' }),
    onChange: (m) => changes.push(Object.fromEntries(m)),
    read: async (s) => {
      reads++;
      const v = lists[s.name]!;
      if (v instanceof Error) throw v;
      return [...v];
    },
  });
  made.push(d);
  return { d, changes, reads: () => reads };
}

describe('DatabaseDiscovery', () => {
  it('reads every server, sorts, and reports a map only when it changes', async () => {
    const lists: Record<string, string[] | Error> = { s1: ['b', 'a'], s2: ['c'] };
    const { d, changes } = discovery(lists);
    await d.refresh();
    expect(changes).toEqual([{ s1: ['a', 'b'], s2: ['c'] }]);
    await d.refresh();
    expect(changes).toHaveLength(1);
    lists.s2 = ['c', 'new'];
    await d.refresh();
    expect(changes.at(-1)).toEqual({ s1: ['a', 'b'], s2: ['c', 'new'] });
    expect(d.of('s2')).toEqual(['c', 'new']);
    expect(d.of('nope')).toBeUndefined();
  });

  it('a server that cannot be read keeps its previous list (none before the first read)', async () => {
    const lists: Record<string, string[] | Error> = { s1: ['a'], s2: new Error('refused') };
    const { d, changes } = discovery(lists);
    await d.refresh();
    expect(changes).toEqual([{ s1: ['a'] }]);
    lists.s2 = ['b'];
    await d.refresh();
    lists.s2 = new Error('down');
    await d.refresh();
    expect(d.of('s2')).toEqual(['b']);
    expect(changes).toHaveLength(2);
  });

  it('requestRefresh: many requests, one read per min interval', async () => {
    const { d, reads } = discovery({ s1: ['a'], s2: ['b'] }, 100);
    await d.refresh();
    expect(reads()).toBe(2);
    for (let i = 0; i < 20; i++) d.requestRefresh();
    await new Promise((r) => setTimeout(r, 30));
    expect(reads()).toBe(2); // not before min interval since the last read
    await new Promise((r) => setTimeout(r, 150));
    expect(reads()).toBe(4); // one more read of both servers
    d.requestRefresh();
    await new Promise((r) => setTimeout(r, 150));
    expect(reads()).toBe(6);
  });
});
