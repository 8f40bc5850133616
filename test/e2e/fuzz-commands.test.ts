// Seeded fuzzing of the command phase through readwritesplit (issue 2, item 6: nothing a client
// sends may crash the proxy or touch another session). Each step logs in if needed and sends one
// generated packet: a random command byte with random bytes, SQL-ish token soup (comments, hints,
// executable comments, quotes, NUL and invalid UTF-8: the classifier and the hint parser get it),
// a real COM_STMT_PREPARE whose COM_STMT_EXECUTE / FETCH / SEND_LONG_DATA / RESET / CLOSE is then
// mangled, or a packet with a wrong sequence id. A `SELECT <n>` follows in the same write (or
// trickled in pieces of 1-9 bytes, cut anywhere, for 30% of the steps); the
// step passes when its answer (the number) comes back or the proxy closes the session — never a
// hang, never a crash. Meanwhile a mysql2 session runs checked queries without a single error,
// and at the end the proxy process is alive, has no session left, and its log holds no internal
// error. The fuzz user has rights on the `fuzz` database only (a random COM_REFRESH or SHUTDOWN
// cannot touch the servers), and the servers are this file's own.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Com } from '../../host/protocol/constants.js';
import { framePacket } from '../../host/protocol/writer.js';
import { startTopology, type Topology } from '../harness/mariadb.js';
import { startCliProxy, type CliProxy } from '../harness/proxy.js';
import { RawClient } from '../harness/raw-client.js';
import { CREDENTIALS } from '../harness/credentials.js';
import { bundledPlugin } from '../unit/plugin-fixtures.js';
import { logLines, waitFor } from './helpers.js';
import { rng } from '../harness/rng.js';

const FUZZ = { user: 'fuzz', password: 'fuzz-pw' } as const;
const STEPS = Number(process.env.WASMSCALE_FUZZ_STEPS ?? 600);
const SEED = Number(process.env.WASMSCALE_FUZZ_SEED ?? 20261124);

let topo: Topology;
let proxy: CliProxy;

const TOKENS = [
  'SELECT', 'INSERT INTO fuzz.t VALUES', 'UPDATE fuzz.t SET v =', 'DELETE FROM fuzz.t', 'FROM', 'WHERE', 'fuzz.t', 't', 'DUAL',
  '(', ')', ',', ';', '?', '*', '=', '1', '42', '-1', '0x1F', "'", '"', '`', '\\', "'it''s'", '"a\\"b"', '`c``d`',
  '/*', '*/', '/*!', '/*!50700', '/*M!', '/*M!100500', '-- ', '#', '\n', '\t', ' ', '--', '-- wasmscale route to master',
  '-- wasmscale route to slave', '-- wasmscale route to server db2', '-- wasmscale route to server nope', '/* wasmscale route to slave */',
  'BEGIN', 'START TRANSACTION READ ONLY', 'COMMIT', 'ROLLBACK', 'SAVEPOINT s', 'SET autocommit = 0', 'SET autocommit = 1',
  'SET @v =', 'SET NAMES utf8mb4', 'USE fuzz', 'USE nope', 'PREPARE p FROM', 'EXECUTE p', 'DEALLOCATE PREPARE p',
  'CREATE TEMPORARY TABLE tmp (a INT)', 'SELECT * FROM tmp', 'LAST_INSERT_ID()', 'FOR UPDATE', 'LOCK IN SHARE MODE',
  'NEXTVAL(s)', 'CALL p()', 'WITH x AS (SELECT 1)', 'UNION', 'IN (1, 2, 3)', '@@identity', '@@session.autocommit',
  'é', '\u{1F600}', '\u0000', '\u00ff',
];

function bytes(r: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

function tokenSoup(r: () => number): Buffer {
  const parts: Buffer[] = [];
  const n = 1 + Math.floor(r() * 12);
  for (let i = 0; i < n; i++) {
    parts.push(r() < 0.08 ? bytes(r, 1 + Math.floor(r() * 4)) : Buffer.from(TOKENS[Math.floor(r() * TOKENS.length)]!, 'utf8'));
    if (r() < 0.6) parts.push(Buffer.from(' '));
  }
  return Buffer.concat(parts);
}

/** Commands to fuzz with random payloads: all but COM_PROCESS_KILL (its target is random). */
const COMMANDS = Array.from({ length: 0x20 }, (_, i) => i).filter((c) => c !== Com.PROCESS_KILL).concat([0xfa, 0xfe, 0xff]);

type Step = { payload: Buffer; seq: number; what: string };

function step(r: () => number, stmt: number, params: number): Step {
  const x = r();
  if (x < 0.25) {
    const cmd = COMMANDS[Math.floor(r() * COMMANDS.length)]!;
    return { payload: Buffer.concat([Buffer.from([cmd]), bytes(r, Math.floor(r() * 40))]), seq: 0, what: `cmd 0x${cmd.toString(16)}` };
  }
  if (x < 0.55) return { payload: Buffer.concat([Buffer.from([Com.QUERY]), tokenSoup(r)]), seq: 0, what: 'query soup' };
  if (x < 0.65) return { payload: Buffer.concat([Buffer.from([Com.STMT_PREPARE]), tokenSoup(r)]), seq: 0, what: 'prepare soup' };
  if (x < 0.9) {
    // A real statement, mangled: the id, flags, iteration count, null bitmap, types and values.
    const cmds = [Com.STMT_EXECUTE, Com.STMT_EXECUTE, Com.STMT_EXECUTE, Com.STMT_FETCH, Com.STMT_SEND_LONG_DATA, Com.STMT_RESET, Com.STMT_CLOSE];
    const cmd = cmds[Math.floor(r() * cmds.length)]!;
    const id = r() < 0.85 ? stmt : r() < 0.5 ? 0xffffffff : Math.floor(r() * 2 ** 32);
    const head = Buffer.alloc(5);
    head[0] = cmd;
    head.writeUInt32LE(id >>> 0, 1);
    let body: Buffer;
    if (cmd === Com.STMT_EXECUTE) {
      const flags = Buffer.from([r() < 0.7 ? 0 : Math.floor(r() * 256)]);
      const iter = Buffer.alloc(4);
      iter.writeUInt32LE(r() < 0.8 ? 1 : Math.floor(r() * 2 ** 32));
      const bitmap = bytes(r, (params + 7) >> 3);
      const bound = Buffer.from([r() < 0.7 ? 1 : Math.floor(r() * 3)]);
      const types = Buffer.alloc(2 * params);
      for (let i = 0; i < params; i++) types[2 * i] = [1, 2, 3, 8, 5, 15, 253, 254, 252, 12, Math.floor(r() * 256)][Math.floor(r() * 11)]!;
      body = Buffer.concat([flags, iter, bitmap, bound, types, bytes(r, Math.floor(r() * 24))]);
      body = body.subarray(0, r() < 0.3 ? Math.floor(r() * body.length) : body.length);
    } else body = bytes(r, Math.floor(r() * 12));
    return { payload: Buffer.concat([head, body]), seq: 0, what: `stmt cmd 0x${cmd.toString(16)}` };
  }
  return { payload: Buffer.concat([Buffer.from([Com.QUERY]), Buffer.from('SELECT 1')]), seq: 1 + Math.floor(r() * 255), what: 'wrong sequence id' };
}

/** Packets until one whose bytes hold `marker` (true), or the session closes (false); throws on a hang. */
async function until(c: RawClient, marker: string, what: string): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const p = await c.next(Math.max(1, deadline - Date.now()));
    if (!p) {
      if (c.closed) return false;
      throw new Error(`${what}: no answer within 10 s and the session is still open`);
    }
    if (p.payload.includes(marker)) return true;
  }
}

beforeAll(async () => {
  topo = await startTopology({ replicas: 1 });
  await topo.primary.query('CREATE DATABASE fuzz');
  await topo.primary.query('CREATE TABLE fuzz.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(50))');
  await topo.primary.query("INSERT INTO fuzz.t (v) VALUES ('a'), ('b'), ('c')");
  await topo.primary.query(`CREATE USER '${FUZZ.user}'@'%' IDENTIFIED BY '${FUZZ.password}'`);
  await topo.primary.query(`GRANT SELECT, INSERT, UPDATE, DELETE, CREATE TEMPORARY TABLES ON fuzz.* TO '${FUZZ.user}'@'%'`);
  await topo.waitForReplicas();
  const rws = await bundledPlugin('routers/readwritesplit');
  proxy = await startCliProxy({
    servers: [{ name: 'db1', port: topo.primary.port }, { name: 'db2', port: topo.replicas[0]!.port }],
    workers: 1,
    monitor: {},
    plugins: { rws: { file: rws } },
    service: { router: 'rws', transaction_replay: true, causal_reads: 'local', net_read_timeout: '2s' },
  });
  await waitFor('the monitor to find the primary', async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...FUZZ, database: 'fuzz' });
    try {
      await c.query('INSERT INTO t (v) VALUES (?)', ['probe']);
      return true;
    } finally {
      await c.end();
    }
  }, 20_000, 200);
}, 180_000);

afterAll(async () => {
  const code = proxy ? await proxy.stop() : 0;
  await topo?.stop();
  expect(code).toBe(0);
});

describe('fuzzed commands through readwritesplit', () => {
  it(`${STEPS} generated packets (seed ${SEED}): every one answered or the session closed; the proxy and a bystander unharmed`, async () => {
    const r = rng(SEED);
    const bystander = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app, database: 'test' });
    let stopped = false;
    let bystanderQueries = 0;
    const bystanderRun = (async () => {
      while (!stopped) {
        const n = Math.floor(Math.random() * 1e6);
        const [rows] = await bystander.query<mysql.RowDataPacket[]>('SELECT ? + 1 AS v', [n]);
        expect(Number(rows[0]!.v)).toBe(n + 1);
        bystanderQueries++;
        await new Promise((res) => setTimeout(res, 20));
      }
    })();

    let c: RawClient | null = null;
    let stmt = 0;
    let params = 0;
    const kinds = new Map<string, { answered: number; closed: number }>();
    for (let i = 0; i < STEPS; i++) {
      if (c === null || c.closed) {
        c?.destroy();
        c = await RawClient.connect(proxy.port);
        await c.login(FUZZ.user, FUZZ.password, { database: 'fuzz' });
        // A real statement for the mangled COM_STMT_* steps.
        c.send(Buffer.concat([Buffer.from([Com.STMT_PREPARE]), Buffer.from('SELECT id, v FROM t WHERE id > ? AND v <> ?')]), 0);
        const ok = await c.next();
        expect(ok?.payload[0], 'the prepare through the proxy').toBe(0x00);
        stmt = ok!.payload.readUInt32LE(1);
        params = ok!.payload.readUInt16LE(7);
        // Its definitions: 2 params + 2 columns (DEPRECATE_EOF: no EOF packets).
        for (let k = 0; k < 4; k++) await c.next();
      }
      const s = step(r, stmt, params);
      const marker = `m${i}x${SEED}`;
      const wire = Buffer.concat([framePacket(s.payload, s.seq).bytes, framePacket(Buffer.concat([Buffer.from([Com.QUERY]), Buffer.from(`SELECT '${marker}'`)]), 0).bytes]);
      if (r() < 0.3) {
        // Trickled in small pieces: packets cut anywhere, headers included, across reads.
        for (let at = 0; at < wire.length; ) {
          const n = 1 + Math.floor(r() * 9);
          c.sendRaw(wire.subarray(at, at + n));
          at += n;
          await new Promise((res) => setImmediate(res));
        }
      } else c.sendRaw(wire);
      const answered = await until(c, marker, `step ${i} (${s.what}, payload ${s.payload.toString('hex').slice(0, 80)})`);
      const k = kinds.get(s.what) ?? { answered: 0, closed: 0 };
      if (answered) k.answered++;
      else k.closed++;
      kinds.set(s.what, k);
    }
    c?.destroy();
    stopped = true;
    await bystanderRun;
    await bystander.end();

    console.log(`fuzz seed ${SEED}: ${[...kinds].map(([w, k]) => `${w} ${k.answered}/${k.closed}`).join('; ')} (answered/closed); bystander ${bystanderQueries} queries`);
    // Some of every kind of step reached the point where the session answered afterwards.
    expect([...kinds.keys()].sort()).toEqual(expect.arrayContaining(['prepare soup', 'query soup', 'wrong sequence id']));
    const answered = [...kinds.values()].reduce((n, k) => n + k.answered, 0);
    expect(answered).toBeGreaterThan(STEPS / 2);
    expect(bystanderQueries).toBeGreaterThan(10);
    expect(proxy.child.exitCode).toBeNull();
    await waitFor('no session left', async () => (await proxy.stats()).sessions === 0, 10_000);
    const bad = logLines(proxy.output()).filter((l) => (l.level ?? 0) >= 50 || /internal error|uncaught|unhandled/i.test(String(l.msg)));
    expect(bad, 'error-level or internal-error log lines').toEqual([]);
  }, 300_000);
});
