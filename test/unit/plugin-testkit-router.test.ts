// The offline test kit classifies statements as the proxy does (host/classify) and derives the
// transaction state from the session's earlier statements: readwritesplit routes plain SQL with
// no overrides and no database. Also the derivation rules themselves (testkit-statements.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Flag, Kind } from '../../host/classify/index.js';
import { runPluginCases } from '../../host/plugins/testkit-cases.js';
import { StatementState, Trx } from '../../host/plugins/testkit-statements.js';
import { PluginTestKit, type TestServer } from '../../host/plugins/testkit.js';
import { bundledPlugin, REPO } from './plugin-fixtures.js';

const SERVERS: TestServer[] = [
  { name: 'db1', role: 'primary', lag_ms: 0 },
  { name: 'db2', role: 'replica', lag_ms: 0 },
  { name: 'db3', role: 'replica', lag_ms: 0 },
];
const REPLICA = { kind: 'server', server: expect.stringMatching(/^db[23]$/) };
const PRIMARY = { kind: 'server', server: 'db1' };

let rws: string;
beforeAll(async () => {
  rws = await bundledPlugin('routers/readwritesplit');
}, 300_000);

async function withKit(fn: (k: PluginTestKit) => void): Promise<void> {
  const k = await PluginTestKit.load(rws, { servers: SERVERS });
  try {
    fn(k);
  } finally {
    k.close();
  }
}

describe('readwritesplit offline, classified by the kit', () => {
  it('reads to a replica, writes to the primary, SET to every connection, hints honoured', async () => {
    await withKit((k) => {
      const s = k.startSession();
      expect(s.servers).toEqual(['db1']);
      expect(k.route(s, 'SELECT 1')).toEqual(REPLICA);
      expect(k.route(s, 'INSERT INTO t VALUES (1)')).toEqual(PRIMARY);
      expect(k.route(s, 'SET @a=1')).toEqual({ kind: 'all' });
      expect(k.route(s, 'SELECT * FROM t -- wasmscale route to master')).toEqual(PRIMARY);
      expect(k.route(s, 'SELECT * FROM t /* maxscale route to server db3 */')).toEqual({ kind: 'server', server: 'db3' });
      expect(k.route(s, 'SELECT LAST_INSERT_ID()')).toEqual(PRIMARY);
    });
  });

  it('BEGIN; SELECT goes to the primary, and the plugin sees the transaction bits', async () => {
    await withKit((k) => {
      const s = k.startSession();
      expect(k.routeStatement(s, { sql: 'SELECT 1' }).statement.trx).toBe(Trx.TRACKED | Trx.AUTOCOMMIT);
      expect(k.route(s, 'BEGIN')).toEqual(PRIMARY);
      const inTrx = k.routeStatement(s, { sql: 'SELECT 1' });
      expect(inTrx.decision).toEqual(PRIMARY);
      expect(inTrx.statement.trx).toBe(Trx.TRACKED | Trx.AUTOCOMMIT | Trx.ACTIVE);
      expect(k.route(s, 'COMMIT')).toEqual(PRIMARY);
      expect(k.route(s, 'SELECT 1')).toEqual(REPLICA);
      // The same as one multi-statement text.
      expect(k.route(s, 'BEGIN; SELECT 1')).toEqual(PRIMARY);
    });
  });

  it('autocommit=0 (only the derived trx bits say so) keeps reads on the primary until autocommit=1', async () => {
    await withKit((k) => {
      const s = k.startSession();
      expect(k.route(s, 'SET autocommit=0')).toEqual({ kind: 'all' });
      expect(k.route(s, 'SELECT 1')).toEqual(PRIMARY);
      expect(k.route(s, 'SET autocommit=1')).toEqual({ kind: 'all' });
      expect(k.route(s, 'SELECT 1')).toEqual(REPLICA);
    });
  });

  it('COM_STMT_EXECUTE takes kind and flags from the prepared SQL; overrides still win', async () => {
    await withKit((k) => {
      const s = k.startSession();
      expect(k.route(s, 'SELECT * FROM t WHERE id = ?', 0x16)).toEqual(REPLICA);
      expect(k.routeStatement(s, { command: 0x17, stmtId: 1 }).decision).toEqual(REPLICA);
      const upd = k.routeStatement(s, { command: 0x17, prepared: 'UPDATE t SET x = ?' });
      expect(upd.statement.kind).toBe(Kind.WRITE);
      expect(upd.decision).toEqual(PRIMARY);
      expect(() => k.routeStatement(s, { command: 0x17, stmtId: 9 })).toThrow(/no prepared statement 9/);
      expect(k.route(s, 'SELECT 1', 0x03, { hint: 'master' })).toEqual(PRIMARY);
      expect(k.route(s, 'SELECT 1', 0x03, { kind: 'write', flags: ['WRITE'] })).toEqual(PRIMARY);
      expect(k.route(s, 'SELECT 1', 0x03, { trx: ['tracked', 'active', 'autocommit'] })).toEqual(PRIMARY);
    });
  });

  it("runs readwritesplit's cases file (no overrides but one hint)", async () => {
    const r = await runPluginCases(rws, JSON.parse(readFileSync(join(REPO, 'plugins-as/routers/readwritesplit/test/split.cases.json'), 'utf8')));
    expect(r.results.filter((x) => !x.ok)).toEqual([]);
    expect(r.kind).toBe('router');
    expect(r.results[4]!.what).toBe('session 1: SELECT * FROM t -- wasmscale route to... [read] → db1');
  });
});

describe('the transaction state the kit derives', () => {
  const run = (st: StatementState, sql: string): number => {
    const s = st.build({ sql });
    st.ran(s);
    return s.trx;
  };
  const A = Trx.TRACKED | Trx.AUTOCOMMIT;

  it('BEGIN / START TRANSACTION READ ONLY / COMMIT / ROLLBACK / implicit commit / autocommit', () => {
    const st = new StatementState(true);
    const seen = ['BEGIN', 'SELECT 1', 'COMMIT', 'START TRANSACTION READ ONLY', 'SELECT 1', 'CREATE TABLE x (a INT)', 'SELECT 1',
      'SET autocommit = 0', 'SELECT 1', 'INSERT INTO t VALUES (1)', 'ROLLBACK', 'SET autocommit = 1', 'SELECT 1', 'COMMIT AND CHAIN', 'SELECT 1'].map((q) => run(st, q));
    expect(seen).toEqual([
      A, A | Trx.ACTIVE, A | Trx.ACTIVE, A, A | Trx.ACTIVE | Trx.READ_ONLY, A | Trx.ACTIVE | Trx.READ_ONLY, A,
      A, Trx.TRACKED, Trx.TRACKED | Trx.ACTIVE, Trx.TRACKED | Trx.ACTIVE, Trx.TRACKED, A, A, A | Trx.ACTIVE,
    ]);
  });

  it('a statement that did not run changes nothing; classify: false passes zeros', () => {
    const st = new StatementState(true);
    st.build({ sql: 'BEGIN' }); // not ran()
    expect(st.build({ sql: 'SELECT 1' }).trx).toBe(A);
    const off = new StatementState(false).build({ sql: 'SELECT 1 -- wasmscale route to master' });
    expect([off.kind, off.flags, off.trx, off.hint]).toEqual([0, 0, 0, 0]);
    const named = st.build({ sql: 'SELECT 1', kind: 'write', flags: ['write', 'LOCKING_READ'], hint: 'server', hintServer: 'db2' });
    expect([named.kind, named.flags, named.hint, named.hintServer]).toEqual([Kind.WRITE, Flag.WRITE | Flag.LOCKING_READ, 3, 'db2']);
    expect(() => st.build({ sql: 'x', kind: 'nope' })).toThrow(/unknown kind "nope"/);
  });
});
