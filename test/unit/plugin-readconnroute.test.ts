// readconnroute (plugins-as/routers/readconnroute) offline, through the test kit: MaxScale's
// semantics for router_options (master, slave, running), weights, max_replication_lag and
// master_accept_reads; a session stays on the server it was given.
import { beforeAll, describe, expect, it } from 'vitest';
import { PluginTestKit, type TestServer } from '../../host/plugins/testkit.js';
import { bundledPlugin } from './plugin-fixtures.js';

let wasm: string;
beforeAll(async () => {
  wasm = await bundledPlugin('routers/readconnroute');
});

const PRIMARY: TestServer = { name: 'db1', role: 'primary', state: 'up', lag_ms: 0 };
const R2: TestServer = { name: 'db2', role: 'replica', state: 'up', lag_ms: 0 };
const R3: TestServer = { name: 'db3', role: 'replica', state: 'up', lag_ms: 0 };

async function withKit(config: Record<string, unknown>, servers: TestServer[], fn: (k: PluginTestKit) => void): Promise<void> {
  const k = await PluginTestKit.load(wasm, { config, servers });
  try {
    fn(k);
  } finally {
    k.close();
  }
}

/** First choices of `n` new sessions (kept open). */
function firstChoices(k: PluginTestKit, n: number): (string | null)[] {
  return Array.from({ length: n }, () => k.startSession().current);
}

describe('readconnroute', () => {
  it('running (the default): every up server, least connections first, ties to the first listed', async () => {
    await withKit({}, [PRIMARY, R2, R3], (k) => {
      expect(firstChoices(k, 6)).toEqual(['db1', 'db2', 'db3', 'db1', 'db2', 'db3']);
      expect(k.connections()).toEqual({ db1: 2, db2: 2, db3: 2 });
    });
  });

  it('slave: replicas only, spread over them', async () => {
    await withKit({ router_options: 'slave' }, [PRIMARY, R2, R3], (k) => {
      expect(firstChoices(k, 4)).toEqual(['db2', 'db3', 'db2', 'db3']);
      expect(k.connections().db1).toBe(0);
    });
  });

  it('slave falls back to the primary when no replica is available, and refuses when nothing is', async () => {
    await withKit({ router_options: 'slave' }, [PRIMARY, { ...R2, state: 'down' }, { ...R3, state: 'maintenance' }], (k) => {
      expect(k.startSession().servers).toEqual(['db1']);
      k.setServers([{ ...PRIMARY, state: 'down' }]);
      expect(k.startSession().refusal).toBe('readconnroute: no server matches router_options=slave');
      k.setServers([PRIMARY, R3]);
      expect(k.startSession().servers).toEqual(['db3']);
    });
  });

  it('master: the primary only; master,slave: both', async () => {
    await withKit({ router_options: 'master' }, [PRIMARY, R2, R3], (k) => {
      expect(firstChoices(k, 3)).toEqual(['db1', 'db1', 'db1']);
      expect(k.startSession().servers).toEqual(['db1']);
    });
    await withKit({ router_options: ['master', 'slave'] }, [R2, PRIMARY, R3], (k) => {
      expect(firstChoices(k, 3).sort()).toEqual(['db1', 'db2', 'db3']);
    });
    await withKit({ router_options: 'master' }, [{ ...PRIMARY, state: 'down' }, R2], (k) => {
      expect(k.startSession().refusal).toMatch(/no server matches router_options=master/);
    });
  });

  it('weights: connections per unit of weight; weight 0 takes no sessions', async () => {
    await withKit({ router_options: 'slave' }, [PRIMARY, { ...R2, weight: 2 }, { ...R3, weight: 1 }], (k) => {
      expect(firstChoices(k, 6)).toEqual(['db2', 'db3', 'db2', 'db2', 'db3', 'db2']);
      expect(k.connections()).toEqual({ db1: 0, db2: 4, db3: 2 });
    });
    await withKit({}, [PRIMARY, { ...R2, weight: 0 }, R3], (k) => {
      expect(firstChoices(k, 4).filter((s) => s === 'db2')).toEqual([]);
    });
  });

  it('max_replication_lag: replicas lagging as much or more (or of unknown lag) are skipped', async () => {
    await withKit({ router_options: 'slave', max_replication_lag: '2s' }, [PRIMARY, { ...R2, lag_ms: 5000 }, { ...R3, lag_ms: 100 }], (k) => {
      expect(firstChoices(k, 3)).toEqual(['db3', 'db3', 'db3']);
      k.setServers([{ ...R3, lag_ms: 2000 }]);
      expect(k.startSession().servers).toEqual(['db1']); // every replica lags: the primary
      k.setServers([{ ...R2, lag_ms: -1 }, { ...R3, lag_ms: 1999 }]);
      expect(k.startSession().servers).toEqual(['db3']);
    });
  });

  it('master_accept_reads=false keeps the primary out of running', async () => {
    await withKit({ router_options: 'running', master_accept_reads: false }, [PRIMARY, R2, R3], (k) => {
      expect(firstChoices(k, 4)).not.toContain('db1');
    });
  });

  it('servers not monitored (state and role unknown) are tried by running; slave has no replica to pick', async () => {
    const unknown = [{ name: 'a', state: 'unknown' as const }, { name: 'b', state: 'unknown' as const }];
    await withKit({}, unknown, (k) => expect(firstChoices(k, 2)).toEqual(['a', 'b']));
    await withKit({ router_options: 'slave' }, unknown, (k) => expect(k.startSession().refusal).toMatch(/no server matches/));
  });

  it('a session stays on its server, and an ended session frees its place', async () => {
    await withKit({ router_options: 'slave' }, [PRIMARY, R2, R3], (k) => {
      const a = k.startSession();
      const b = k.startSession();
      expect([a.current, b.current]).toEqual(['db2', 'db3']);
      for (const sql of ['SELECT 1', 'INSERT INTO t VALUES (1)', 'BEGIN', 'COMMIT']) {
        expect(k.route(a, sql)).toEqual({ kind: 'server', server: 'db2' });
      }
      k.endSession(a);
      expect(k.connections()).toEqual({ db1: 0, db2: 0, db3: 1 });
      expect(k.startSession().current).toBe('db2');
    });
  });

  it('a session whose first choice failed counts on the server it got', async () => {
    await withKit({ router_options: 'slave' }, [PRIMARY, R2, R3], (k) => {
      const a = k.startSession();
      expect(a.servers).toEqual(['db2', 'db3']);
      k.connect(a, 'db3');
      expect(k.connections()).toEqual({ db1: 0, db2: 0, db3: 1 });
      expect(k.startSession().current).toBe('db2');
    });
  });
});
