// ABI conformance (sdk/ABI.md §6, §10, §11): records travel host → SDK → host intact, and a
// plugin built against the 1.0 layouts keeps working when the host speaks a later minor
// (simulated: the host appends fields to every record and server entry). Also the other way
// round: a 1.0 plugin that answers with the shortest records is understood.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { conformance } from '../../host/plugins/abi/exchange.js';
import { encodeReply, encodeStatement } from '../../host/plugins/abi/encode.js';
import { decodeRouteDecision, decodeStatementAction } from '../../host/plugins/abi/decode.js';
import { PluginInstance } from '../../host/plugins/plugin-instance.js';
import { PluginMetrics } from '../../host/plugins/plugin-metrics.js';
import { preparePlugin } from '../../host/plugins/plugin-loader.js';
import { PluginTestKit, TEST_LIMITS, type TestServer } from '../../host/plugins/testkit.js';
import { fixturePlugin } from './plugin-fixtures.js';
import { watPlugin } from './plugin-wat.js';

const SERVERS: TestServer[] = [
  { name: 'db1', role: 'primary', state: 'up', weight: 1, lag_ms: 0 },
  { name: 'db2', role: 'replica', state: 'up', weight: 3, lag_ms: 1500 },
  { name: 'db3', role: 'replica', state: 'maintenance', weight: 0, lag_ms: -1 },
];

let probe: string;
beforeAll(async () => {
  probe = await fixturePlugin('probe-router');
});
afterEach(() => {
  conformance.futureBytes = 0;
});

/** What the probe plugin decoded, from its ECHO answer. */
async function echoThroughPlugin(futureBytes: number): Promise<Record<string, unknown>> {
  conformance.futureBytes = futureBytes;
  // classify: false: the record as the host sends it without a classifier (kind, flags, trx, digest 0).
  const kit = await PluginTestKit.load(probe, { config: { tag: 'tagged' }, servers: SERVERS, service: 'svc', tenant: 'acme', classify: false });
  try {
    const other = kit.startSession({ user: 'pick:1' });
    expect(other.servers).toEqual(['db2']);
    const s = kit.startSession({ user: 'üser', database: 'shop', client_address: '10.1.2.3' });
    const d = kit.route(s, 'ECHO  -- ünïcode');
    if (d.kind !== 'error') throw new Error(`expected the echo as an error, got ${JSON.stringify(d)}`);
    return JSON.parse(d.message) as Record<string, unknown>;
  } finally {
    kit.close();
  }
}

const EXPECTED_ECHO = {
  session: 2,
  current: 0,
  command: 3,
  kind: 0,
  trx: 0,
  flags: 0,
  digest: '0',
  sqlLength: Buffer.byteLength('ECHO  -- ünïcode'),
  sqlTotal: Buffer.byteLength('ECHO  -- ünïcode'),
  truncated: false,
  sql: 'ECHO  -- ünïcode',
  startsWithEcho: true,
  ops: [0, 0, 0],
  sessionInfo: { id: 2, user: 'üser', database: 'shop', client: '10.1.2.3', service: 'test', tenant: 'acme', current: -1 },
  sessions: 2,
  servers: [
    // Counts as of the session's start (the record's server_conns): the session itself not yet.
    { name: 'db1', role: 1, state: 1, weight: 1, lag: 0, conns: 0 },
    { name: 'db2', role: 2, state: 1, weight: 3, lag: 1500, conns: 1 },
    { name: 'db3', role: 2, state: 3, weight: 0, lag: -1, conns: 0 },
  ],
  tag: 'tagged',
  serverCalls: 1,
  // ABI 1.1 fields: no hint in the statement.
  hint: 0,
  hintServer: '',
  hintServerLength: 0,
  hintIsDb2: false,
};

describe('records travel host → SDK → host intact', () => {
  it('statement, session and server table as the SDK decodes them', async () => {
    expect(await echoThroughPlugin(0)).toEqual(EXPECTED_ECHO);
  });
});

describe('a plugin built against ABI 1.0 on a later-minor host', () => {
  it('reads records with fields appended at the end of every record and server entry', async () => {
    expect(await echoThroughPlugin(16)).toEqual(EXPECTED_ECHO);
    expect(await echoThroughPlugin(3)).toEqual(EXPECTED_ECHO);
  });

  it('routes, refuses and keeps state the same way', async () => {
    conformance.futureBytes = 24;
    const kit = await PluginTestKit.load(probe, { servers: SERVERS });
    try {
      const s = kit.startSession({ user: 'pick:2' });
      expect(s.servers).toEqual(['db3']);
      expect(kit.route(s, 'ROUTE 1')).toEqual({ kind: 'server', server: 'db2' });
      expect(kit.route(s, 'SELECT 1')).toEqual({ kind: 'server', server: 'db3' });
      expect(kit.route(s, 'SESSION?')).toEqual({ kind: 'error', message: 'known:-1' });
      expect(kit.startSession({ user: 'refuse' }).refusal).toBe('refused by probe');
      kit.endSession(s);
      expect(kit.connections()).toEqual({ db1: 0, db2: 0, db3: 0 });
    } finally {
      kit.close();
    }
  });
});

describe('a later host reading a 1.0 plugin that writes the shortest records', () => {
  it('decodes missing fields as their defaults', async () => {
    // RouteDecision of 5 bytes (size, target=SERVER): server_index defaults to 0.
    // SessionTargets of 5 bytes (size, action=REFUSE): the message defaults to the host's.
    const bytes = watPlugin({
      route: '(i32.store (i32.const 4096) (i32.const 5)) (i32.store8 (i32.const 4100) (i32.const 1)) (i32.const 5)',
      sessionStart: '(if (result i32) (i32.eq (i32.load offset=4 (i32.const 4096)) (i32.const 2)) (then (i32.store (i32.const 4096) (i32.const 5)) (i32.store8 (i32.const 4100) (i32.const 2)) (i32.const 5)) (else (i32.const 0)))',
    });
    const dir = mkdtempSync(join(tmpdir(), 'wasmscale-conformance-'));
    const file = join(dir, 'old.wasm');
    writeFileSync(file, bytes);
    const kit = await PluginTestKit.load(file, { servers: SERVERS });
    try {
      const s = kit.startSession();
      expect(s.servers).toEqual(['db1', 'db2', 'db3']); // r = 0: the host's order
      kit.connect(s, 'db2');
      expect(kit.route(s, 'SELECT 1')).toEqual({ kind: 'server', server: 'db1' });
      expect(kit.startSession().refusal).toBe('router plugin plugin refused the session');
    } finally {
      kit.close();
    }
  });
});

describe('ABI 1.1: routing hints in the Statement record', () => {
  it('a 1.1 plugin reads hint and hint_server from the host, also with later fields appended', async () => {
    for (const future of [0, 16]) {
      conformance.futureBytes = future;
      const kit = await PluginTestKit.load(probe, { servers: SERVERS });
      try {
        const s = kit.startSession();
        const echo = (sql: string, fields: { hint: number; hintServer: string }) => {
          const d = kit.route(s, sql, 3, fields);
          if (d.kind !== 'error') throw new Error(`expected the echo as an error, got ${JSON.stringify(d)}`);
          return JSON.parse(d.message) as Record<string, unknown>;
        };
        expect(echo('ECHO -- wasmscale route to server db2', { hint: 3, hintServer: 'db2' }))
          .toMatchObject({ hint: 3, hintServer: 'db2', hintServerLength: 3, hintIsDb2: true, ops: [0, 0, 0] });
        expect(echo('ECHO /* maxscale route to server dB2x */', { hint: 3, hintServer: 'dB2x' }))
          .toMatchObject({ hint: 3, hintServer: 'dB2x', hintIsDb2: false });
        expect(echo('ECHO -- wasmscale route to slave', { hint: 2, hintServer: '' }))
          .toMatchObject({ hint: 2, hintServer: '', hintServerLength: 0, hintIsDb2: false });
        expect(echo('ECHO -- route to server ü', { hint: 3, hintServer: 'ünï' }))
          .toMatchObject({ hint: 3, hintServer: 'ünï', hintServerLength: Buffer.byteLength('ünï') });
      } finally {
        kit.close();
      }
    }
  });

  it('a 1.1 plugin given a record cut at the 1.0 layout (a 1.0 host) reads no hint', async () => {
    const p = await preparePlugin({ name: 'probe', file: probe, config: {}, limits: TEST_LIMITS }, pino({ level: 'silent' }));
    const inst = await PluginInstance.create({ data: p.bytes }, { name: 'probe', log: pino({ level: 'silent' }), metrics: new PluginMetrics('probe'), fuelBudget: 10_000_000 });
    try {
      expect(await inst.configure({})).toBeNull();
      inst.subscribe(p.descriptor.hooks);
      inst.initExchange();
      const sql = 'ECHO -- wasmscale route to server db2';
      const source = Buffer.concat([Buffer.from([3]), Buffer.from(sql)]);
      const len = encodeStatement(inst.ex, { sessionId: 1, currentServer: 0, command: 3, kind: 0, trx: 0, flags: 0, digestLo: 0, digestHi: 0, hint: 3, hintServer: 'db2', source, sqlStart: 1, sqlEnd: source.length }, [5, 6], 2);
      // The 1.0 record ends after server_ops: size u32 .. digest (36) + sql + list of 2.
      const len10 = 36 + sql.length + 4 + 8;
      // 1.1 adds hint u8 + hint_server str; 1.2 adds server_response_us (an empty list here).
      expect(len).toBe(len10 + 1 + 4 + 3 + 4);
      inst.ex.dv.setUint32(inst.ex.ptr, len10, true);
      inst.fuel?.refill();
      const r = inst.hooks.route!(len10);
      expect(r).toBeGreaterThan(0);
      const d = decodeRouteDecision(inst.ex, r, { target: 0, serverIndex: 0, message: '' });
      expect(JSON.parse(d.message)).toMatchObject({ sql, ops: [5, 6], hint: 0, hintServer: '', hintServerLength: 0, hintIsDb2: false });
    } finally {
      inst.close();
    }
  });

  it('a 1.0 plugin (hand-written against the 1.0 offsets) still loads and routes on a 1.1 host', async () => {
    // Reads sql's length at 32, finds server_ops after the text, and routes to the last server
    // index it lists: right only if the 1.0 part of the record is where 1.0 put it.
    // watPlugin's marker and descriptor say 1.0.
    const bytes = watPlugin({
      route: `(local $ops i32) (local $n i32)
        (local.set $ops (i32.add (i32.const 4132) (i32.load (i32.const 4128))))
        (local.set $n (i32.load (local.get $ops)))
        (i32.store (i32.const 4096) (i32.const 12))
        (i32.store8 (i32.const 4100) (i32.const 1))
        (i32.store (i32.const 4104) (i32.sub (local.get $n) (i32.const 1)))
        (i32.const 12)`,
    });
    const dir = mkdtempSync(join(tmpdir(), 'wasmscale-conformance-'));
    const file = join(dir, 'old10.wasm');
    writeFileSync(file, bytes);
    for (const future of [0, 7]) {
      conformance.futureBytes = future;
      const kit = await PluginTestKit.load(file, { servers: SERVERS });
      try {
        const s = kit.startSession();
        expect(kit.route(s, 'SELECT 1')).toEqual({ kind: 'server', server: 'db3' });
        expect(kit.route(s, 'SELECT 1 -- wasmscale route to server db2', 3, { hint: 3, hintServer: 'db2' })).toEqual({ kind: 'server', server: 'db3' });
        expect(kit.route(s, 'SELECT 2 -- wasmscale route to master', 3, { hint: 1, hintServer: '' })).toEqual({ kind: 'server', server: 'db3' });
      } finally {
        kit.close();
      }
    }
  });
});

describe('filters: StatementAction and Reply through the SDK', () => {
  it('block, rewrite, continue, and replies reach the plugin', async () => {
    const p = await preparePlugin({ name: 'f', file: await fixturePlugin('probe-filter'), config: {}, limits: TEST_LIMITS }, pino({ level: 'silent' }));
    expect(p.descriptor.hooks).toEqual(['session_start', 'session_end', 'servers', 'on_statement', 'on_reply', 'on_result']);
    const metrics = new PluginMetrics('f');
    const inst = await PluginInstance.create({ data: p.bytes }, { name: 'f', log: pino({ level: 'silent' }), metrics, fuelBudget: 10_000_000 });
    try {
      expect(await inst.configure({})).toBeNull();
      inst.subscribe(p.descriptor.hooks);
      inst.initExchange();
      const onStatement = (sql: string) => {
        const source = Buffer.concat([Buffer.from([3]), Buffer.from(sql)]);
        const len = encodeStatement(inst.ex, { sessionId: 1, currentServer: 0, command: 3, kind: 0, trx: 0, flags: 0, digestLo: 0, digestHi: 0, hint: 0, hintServer: '', source, sqlStart: 1, sqlEnd: source.length }, [], 0);
        inst.fuel?.refill();
        const r = inst.hooks.on_statement!(len);
        return r === 0 ? null : decodeStatementAction(inst.ex, r);
      };
      expect(onStatement('SELECT 1')).toBeNull();
      expect(onStatement('BLOCK me')).toEqual({ action: 2, errorCode: 1142, sqlState: '42000', text: 'blocked by probe' });
      expect(onStatement('REWRITE SELECT 2')).toEqual({ action: 1, errorCode: 1105, sqlState: 'HY000', text: 'SELECT 2' });
      for (const ok of [true, true, false]) {
        inst.hooks.on_reply!(encodeReply(inst.ex, { sessionId: 1, ok, errorCode: ok ? 0 : 1234, server: 0, affectedRows: 7n, rows: 0n }));
      }
      expect(metrics.snapshot()).toMatchObject({ f_ok_replies: 2, f_err_replies: 1, f_special: 7 });
    } finally {
      inst.close();
    }
  });
});
