// Filter plugins offline through the test kit (FilterTestKit): firewall and rewrite from
// plugins-as/filters, and the probe-filter fixture for on_reply / on_result; no database.
import { beforeAll, describe, expect, it } from 'vitest';
import { FilterTestKit } from '../../host/plugins/testkit-filter.js';
import { runPluginCases } from '../../host/plugins/testkit-cases.js';
import { bundledPlugin, fixturePlugin } from './plugin-fixtures.js';

let firewall: string;
let rewrite: string;
let probe: string;
beforeAll(async () => {
  [firewall, rewrite, probe] = await Promise.all([bundledPlugin('filters/firewall'), bundledPlugin('filters/rewrite'), fixturePlugin('probe-filter')]);
}, 300_000);

async function withKit(file: string, opts: Parameters<typeof FilterTestKit.load>[1], fn: (k: FilterTestKit) => void): Promise<void> {
  const k = await FilterTestKit.load(file, opts);
  try {
    fn(k);
  } finally {
    k.close();
  }
}

describe('firewall offline', () => {
  it('blocks a denied phrase with 1141/42000 naming the user, lets the rest through', async () => {
    await withKit(firewall, { config: { deny: ['drop table'] } }, (k) => {
      const s = k.startSession({ user: 'app', client_address: '10.0.0.7' });
      expect(k.statement(s, 'SELECT * FROM t')).toEqual({ action: 'continue' });
      expect(k.statement(s, 'drop\n  TABLE t')).toEqual({
        action: 'block', code: 1141, sqlstate: '42000',
        message: 'Access denied for user \'app\'@\'10.0.0.7\': Permission denied, query matched "drop table"',
      });
      expect(k.metrics().plugin_blocked).toBe(1);
      expect(k.wantsReplies).toBe(false);
    });
  });

  it("the host's match/exclude pre-filter decides what reaches the plugin", async () => {
    await withKit(firewall, { config: { deny: ['drop table'] }, exclude: '^drop table audit' }, (k) => {
      const s = k.startSession();
      expect(k.statement(s, 'DROP TABLE audit_old')).toEqual({ action: 'continue' });
      expect(k.statement(s, 'DROP TABLE t').action).toBe('block');
    });
  });

  it('a blocked BEGIN does not start a transaction in the derived state', async () => {
    await withKit(firewall, { config: { deny: ['begin'] } }, (k) => {
      const s = k.startSession();
      expect(k.statement(s, 'BEGIN').action).toBe('block');
      expect(k.runStatement(s, { sql: 'SELECT 1' }).statement.trx).toBe(8 | 4);
    });
  });
});

describe('rewrite offline', () => {
  it('rewrites the SQL (case of the rest kept), continues when nothing matches', async () => {
    await withKit(rewrite, { config: { rules: [{ find: 'FROM t_old', replace: 'FROM t_new' }] } }, (k) => {
      const s = k.startSession();
      expect(k.statement(s, 'select A from t_OLD where id = 1')).toEqual({ action: 'rewrite', sql: 'select A FROM t_new where id = 1' });
      expect(k.statement(s, 'SELECT 1')).toEqual({ action: 'continue' });
      // A binary command has no SQL to rewrite.
      expect(k.runStatement(s, { command: 0x17, prepared: 'SELECT a FROM t_old' }).outcome).toEqual({ action: 'continue' });
      expect(k.metrics().plugin_rewritten).toBe(1);
    });
  });
});

describe('on_reply and on_result offline (probe-filter)', () => {
  it('the plugin sees the reply and the result set the test gives', async () => {
    await withKit(probe, { servers: [{ name: 'db1', role: 'primary' }, { name: 'db2', role: 'replica' }] }, (k) => {
      expect([k.wantsReplies, k.wantsResults]).toEqual([true, true]);
      const s = k.startSession({ server: 'db2' });
      expect(k.statement(s, 'SELECT a, b FROM t')).toEqual({ action: 'continue' });
      k.result(s, { columns: ['a', { name: 'b', type: 'LONG' }], rows: [['x', 7], [null, 8]] });
      k.reply(s, { rows: 2 });
      expect(k.statement(s, 'LAST_RESULT')).toMatchObject({ action: 'block', message: 'cols=a:253,b:3 rows=2/2 first=[x,7] binary=0 truncated=0 server=1' });
      expect(k.statement(s, 'LAST_REPLY')).toMatchObject({ message: 'ok=1 error=0 server=1 affected=0 rows=2' });
      k.reply(s, { error_code: 1062, server: 'db1' });
      expect(k.statement(s, 'LAST_REPLY')).toMatchObject({ message: 'ok=0 error=1062 server=0 affected=0 rows=0' });
      expect(k.metrics()).toMatchObject({ plugin_ok_replies: 1, plugin_err_replies: 1 });
      // The monitor marks db1 down: replies from db2 keep their index.
      k.setServers([{ name: 'db1', role: 'primary', state: 'down' }]);
      k.reply(s, {});
      expect(k.statement(s, 'LAST_REPLY')).toMatchObject({ message: 'ok=1 error=0 server=1 affected=0 rows=0' });
    });
  });

  it('a cases file with replies and results', async () => {
    const r = await runPluginCases(probe, {
      steps: [
        { start: 1 },
        { session: 1, sql: 'UPDATE t SET x = 1', reply: { ok: true, affected_rows: 3 }, expect: { action: 'continue' } },
        { session: 1, sql: 'LAST_REPLY', expect: { action: 'block', code: 1105, message: 'affected=3' } },
        { session: 1, sql: 'SELECT 1', result: { columns: ['1'], rows: [['1']] }, reply: { rows: 1 } },
        { session: 1, sql: 'LAST_RESULT', expect: { action: 'block', message: 'cols=1:253 rows=1/1 first=[1]' } },
        { session: 1, sql: 'REWRITE SELECT 2', expect: { action: 'rewrite', sql: 'SELECT 2' } },
        { session: 1, sql: 'BLOCK', reply: { ok: true }, expect: { action: 'block', code: 1142, sqlstate: '42000' } },
        { expect_metrics: { ok_replies: 2 } },
      ],
    });
    expect(r.kind).toBe('filter');
    expect(r.results.filter((x) => !x.ok)).toEqual([]);
    expect(r.results[1]!.what).toBe('session 1: UPDATE t SET x = 1 [write] → continue (on_reply)');
    expect(r.results[6]!.what).toBe('session 1: BLOCK [unknown] → block 1142 42000: blocked by probe');
  });

  it('a router expectation on a filter fails instead of passing unchecked', async () => {
    const r = await runPluginCases(probe, { steps: [{ start: 1 }, { session: 1, sql: 'SELECT 1', expect: { route: 'db1' } }] });
    expect(r.results[1]).toMatchObject({ ok: false, detail: 'expect "route" does not apply to a filter' });
  });
});
