// Routing hints in readwritesplit and hintrouter (plugins-as/routers/*) offline, through the test
// kit: each statement gives its kind, trx bits and hint explicitly (overriding what the kit's
// classifier finds), to test each hint alone (sdk/ABI.md Statement, ABI 1.1 hint and hint_server).
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { PluginTestKit, type TestServer } from '../../host/plugins/testkit.js';
import { bundledPlugin } from './plugin-fixtures.js';

const KIND_READ = 1;
const KIND_WRITE = 2;
const KIND_BEGIN = 4;
const FLAG_READ = 1;
const FLAG_WRITE = 2;
/** Statement.trx: tracked, autocommit, not in a transaction / in one. */
const AUTOCOMMIT = 8 | 4;
const IN_TRX = 8 | 4 | 1;
const Hint = { MASTER: 1, SLAVE: 2, SERVER: 3, LAST: 4 } as const;

const PRIMARY: TestServer = { name: 'db1', role: 'primary', state: 'up', lag_ms: 0 };
const R2: TestServer = { name: 'db2', role: 'replica', state: 'up', lag_ms: 0 };
const R3: TestServer = { name: 'db3', role: 'replica', state: 'up', lag_ms: 0 };

const read = { kind: KIND_READ, flags: FLAG_READ, trx: AUTOCOMMIT };
const write = { kind: KIND_WRITE, flags: FLAG_WRITE, trx: AUTOCOMMIT };
const toServer = (name: string) => ({ hint: Hint.SERVER, hintServer: name });

let rws: string;
let hr: string;
beforeAll(async () => {
  [rws, hr] = await Promise.all([bundledPlugin('routers/readwritesplit'), bundledPlugin('routers/hintrouter')]);
}, 300_000);

/** A kit whose plugin log lines are collected in `lines`. */
async function kit(file: string, config: Record<string, unknown>, servers: TestServer[]): Promise<{ k: PluginTestKit; lines: string[] }> {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push((JSON.parse(chunk.toString()) as { msg: string }).msg); done(); } });
  const k = await PluginTestKit.load(file, { config, servers, log: pino({ level: 'info' }, sink) });
  return { k, lines };
}

describe('readwritesplit with hints', () => {
  it('master, slave, server NAME and last override the read/write rules outside a transaction', async () => {
    const { k } = await kit(rws, {}, [PRIMARY, R2, R3]);
    try {
      const s = k.startSession();
      expect(k.route(s, 'SELECT 1', 3, { ...read, hint: Hint.MASTER })).toEqual({ kind: 'server', server: 'db1' });
      expect(k.route(s, 'SELECT 1', 3, { ...read, ...toServer('db3') })).toEqual({ kind: 'server', server: 'db3' });
      expect(k.route(s, 'SELECT 1', 3, { ...read, ...toServer('DB2') })).toEqual({ kind: 'server', server: 'db2' });
      expect(k.route(s, 'SELECT 1', 3, { ...read, hint: Hint.LAST })).toEqual({ kind: 'server', server: 'db2' });
      // Since MaxScale 2.0 a hint wins over the router's rules, writes included.
      expect(k.route(s, 'INSERT', 3, { ...write, hint: Hint.SLAVE }).kind).toBe('server');
      expect(['db2', 'db3']).toContain((k.route(s, 'INSERT', 3, { ...write, hint: Hint.SLAVE }) as { server: string }).server);
    } finally {
      k.close();
    }
  });

  it('inside a transaction hints are ignored', async () => {
    const { k } = await kit(rws, {}, [PRIMARY, R2, R3]);
    try {
      const s = k.startSession();
      expect(k.route(s, 'BEGIN', 3, { kind: KIND_BEGIN, trx: AUTOCOMMIT, ...toServer('db3') })).toEqual({ kind: 'server', server: 'db1' });
      for (const h of [toServer('db3'), { hint: Hint.SLAVE }, { hint: Hint.LAST }]) {
        expect(k.route(s, 'SELECT 1', 3, { ...read, trx: IN_TRX, ...h })).toEqual({ kind: 'server', server: 'db1' });
      }
    } finally {
      k.close();
    }
  });

  it('an unknown or unusable server is ignored (logged once per name); slave without replicas is the primary', async () => {
    const { k, lines } = await kit(rws, {}, [PRIMARY, R2, { ...R3, state: 'maintenance' }]);
    try {
      const s = k.startSession();
      for (let i = 0; i < 3; i++) {
        expect(k.route(s, 'SELECT 1', 3, { ...read, ...toServer('nosuch') })).toEqual({ kind: 'server', server: 'db2' });
        expect(k.route(s, 'SELECT 1', 3, { ...read, ...toServer('db3') })).toEqual({ kind: 'server', server: 'db2' });
      }
      expect(k.route(s, 'INSERT', 3, { ...write, ...toServer('nosuch') })).toEqual({ kind: 'server', server: 'db1' });
      expect(lines.filter((l) => l.includes('nosuch'))).toEqual(['readwritesplit: routing hint "route to server nosuch" ignored: no such server']);
      expect(lines.filter((l) => l.includes('db3'))).toEqual(['readwritesplit: routing hint "route to server db3" ignored: the server is not usable']);
      k.setServers([PRIMARY, { ...R2, state: 'down' }, { ...R3, state: 'down' }]);
      expect(k.route(s, 'SELECT 1', 3, { ...read, hint: Hint.SLAVE })).toEqual({ kind: 'server', server: 'db1' });
    } finally {
      k.close();
    }
  });
});

describe('hintrouter', () => {
  it('default_action master: statements without a hint go to the primary; hints elsewhere', async () => {
    const { k } = await kit(hr, {}, [PRIMARY, R2, R3]);
    try {
      const s = k.startSession();
      expect(s.current).toBe('db1');
      expect(k.route(s, 'SELECT 1', 3, read)).toEqual({ kind: 'server', server: 'db1' });
      expect(k.route(s, 'SELECT 1', 3, { ...read, ...toServer('db3') })).toEqual({ kind: 'server', server: 'db3' });
      expect(k.route(s, 'SELECT 1', 3, { ...read, hint: Hint.LAST })).toEqual({ kind: 'server', server: 'db3' });
      expect(['db2', 'db3']).toContain((k.route(s, 'SELECT 1', 3, { ...read, hint: Hint.SLAVE }) as { server: string }).server);
      expect(k.route(s, 'SELECT 1', 3, { ...read, ...toServer('nosuch') })).toEqual({ kind: 'server', server: 'db1' });
      expect(k.route(s, 'SET @a = 1', 3, { kind: 3, flags: 4, trx: AUTOCOMMIT })).toEqual({ kind: 'all' });
    } finally {
      k.close();
    }
  });

  it('default_action named / all, and a transaction stays where it started', async () => {
    const named = await kit(hr, { default_action: 'named', default_server: 'db3' }, [PRIMARY, R2, R3]);
    try {
      const s = named.k.startSession();
      expect(s.current).toBe('db3');
      expect(named.k.route(s, 'SELECT 1', 3, read)).toEqual({ kind: 'server', server: 'db3' });
      expect(named.k.route(s, 'BEGIN', 3, { kind: KIND_BEGIN, trx: AUTOCOMMIT, ...toServer('db2') })).toEqual({ kind: 'server', server: 'db2' });
      expect(named.k.route(s, 'SELECT 1', 3, { ...read, trx: IN_TRX, hint: Hint.MASTER })).toEqual({ kind: 'server', server: 'db2' });
      expect(named.k.route(s, 'COMMIT', 3, { kind: 5, trx: IN_TRX })).toEqual({ kind: 'server', server: 'db2' });
      expect(named.k.route(s, 'SELECT 1', 3, { ...read, hint: Hint.MASTER })).toEqual({ kind: 'server', server: 'db1' });
    } finally {
      named.k.close();
    }
    const all = await kit(hr, { default_action: 'all' }, [PRIMARY, R2, R3]);
    try {
      const s = all.k.startSession();
      expect(all.k.route(s, 'SELECT 1', 3, read)).toEqual({ kind: 'all' });
      expect(all.k.route(s, 'SELECT 1', 3, { ...read, hint: Hint.MASTER })).toEqual({ kind: 'server', server: 'db1' });
    } finally {
      all.k.close();
    }
    await expect(kit(hr, { default_action: 'named' }, [PRIMARY])).rejects.toThrow(/default_action=named needs default_server/);
    await expect(kit(hr, { default_action: 'sideways' }, [PRIMARY])).rejects.toThrow(/default_action: expected master, slave, named or all/);
  });
});
