// Hook-call overhead of WebAssembly router plugins: microseconds per wsx_route call for a
// 100-byte COM_QUERY, including writing the Statement record into the instance's exchange
// buffer, refilling the CPU-budget fuel, the call, and reading the answer. No database.
//
//   node --import tsx bench/plugin-hook.ts
//
// Environment: BENCH_CALLS=1000000 calls per round, BENCH_ROUNDS=7 (the median is reported).
// Plugins are built with `wasmscale plugin build` code (cached under the OS temp dir).
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { encodeStatement } from '../host/plugins/abi/encode.js';
import type { StatementRecord } from '../host/plugins/abi/records.js';
import { preparePlugin } from '../host/plugins/plugin-loader.js';
import { PluginInstance } from '../host/plugins/plugin-instance.js';
import { PluginMetrics } from '../host/plugins/plugin-metrics.js';
import { PluginRouter } from '../host/plugins/plugin-router.js';
import { PluginVersion } from '../host/plugins/plugin-version.js';
import type { PreparedPlugin } from '../host/plugins/prepared-plugin.js';
import { TEST_LIMITS } from '../host/plugins/testkit.js';
import type { RouterSession, ServerView } from '../host/session/router.js';
import { bundledPlugin, fixturePlugin } from '../test/unit/plugin-fixtures.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const log = pino({ level: 'silent' });

// A 100-byte COM_QUERY payload (command byte + 99 bytes of SQL).
const SQL = 'SELECT c FROM sbtest1 WHERE id = 4711 AND k BETWEEN 10 AND 20 /* route me */ ORDER BY id LIMIT 1';
const PAYLOAD = Buffer.concat([Buffer.from([0x03]), Buffer.from(SQL.padEnd(99, ' '))]);
if (PAYLOAD.length !== 100) throw new Error(`payload is ${PAYLOAD.length} bytes`);

const SERVERS: ServerView[] = [
  { name: 'db1', state: 'up', role: 'primary', lagMs: 0, weight: 1 },
  { name: 'db2', state: 'up', role: 'replica', lagMs: 0, weight: 1 },
  { name: 'db3', state: 'up', role: 'replica', lagMs: 0, weight: 1 },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median µs per call of `fn` over ROUNDS rounds of CALLS calls (after one warm-up round). */
function measure(fn: (i: number) => void): number {
  const rounds: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) fn(i);
    const us = Number(process.hrtime.bigint() - t) / 1000 / CALLS;
    if (r > 0) rounds.push(us);
  }
  return median(rounds);
}

async function prepared(file: string, config: Record<string, unknown>, instrument: boolean): Promise<PreparedPlugin> {
  const p = await preparePlugin({ name: 'bench', file, config, limits: TEST_LIMITS }, log);
  if (instrument) return p;
  // The same module without the sandbox's fuel metering, to show what metering costs.
  return { ...p, bytes: new Uint8Array(readFileSync(file)), instrumented: false };
}

async function router(p: PreparedPlugin): Promise<{ r: PluginRouter; sessions: RouterSession[] }> {
  const r = await PluginRouter.create({ version: await PluginVersion.compile(p), service: 'bench', servers: SERVERS, limits: TEST_LIMITS, log });
  const sessions: RouterSession[] = [];
  for (let id = 1; id <= 16; id++) {
    const s = r.newSession({ id, user: 'app', database: 'sbtest', clientAddress: '127.0.0.1', service: 'bench' }, SERVERS);
    s.connected(s.initialServers()[0]!);
    sessions.push(s);
  }
  return { r, sessions };
}

async function main(): Promise<void> {
  process.stderr.write('building plugins...\n');
  const rcr = await bundledPlugin('routers/readconnroute');
  const bench = await fixturePlugin('bench-router');
  const rows: [string, number][] = [];

  for (const instrument of [true, false]) {
    const tag = instrument ? 'fuel-metered (production)' : 'not metered';
    for (const [name, file, config] of [['readconnroute (keep: no response record)', rcr, { router_options: 'slave' }], ['bench-router (RouteDecision response)', bench, {}]] as const) {
      const { r, sessions } = await router(await prepared(file, config, instrument));
      const stmt = { command: 0x03, payload: PAYLOAD };
      process.stderr.write(`measuring ${name}, ${tag}...\n`);
      rows.push([`RouterSession.route(): ${name}, ${tag}`, measure((i) => sessions[i & 15]!.route(stmt))]);
      r.close();
    }
  }

  // The bare hook call: encode + call, no PluginRouter bookkeeping.
  const p = await prepared(rcr, { router_options: 'slave' }, true);
  const inst = await PluginInstance.create({ data: p.bytes }, { name: 'bench', log, metrics: new PluginMetrics('bench'), fuelBudget: 5_000_000 });
  await inst.configure(p.config);
  inst.subscribe(p.descriptor.hooks);
  inst.initExchange();
  const route = inst.hooks.route!;
  const rec: StatementRecord = { sessionId: 1, currentServer: 1, command: 3, kind: 0, trx: 0, flags: 0, digestLo: 0, digestHi: 0, hint: 0, hintServer: '', source: PAYLOAD, sqlStart: 1, sqlEnd: PAYLOAD.length };
  const ops = new Uint32Array(3);
  rows.push(['encodeStatement + fuel refill + wsx_route (raw export), readconnroute', measure(() => {
    inst.fuel!.refill();
    route(encodeStatement(inst.ex, rec, ops, 3));
  })]);
  rows.push(['encodeStatement alone (100-byte statement, 3 servers)', measure(() => encodeStatement(inst.ex, rec, ops, 3))]);

  // Instance replacement costs (what a trap costs, and the background spare).
  const version = await PluginVersion.compile(p);
  const times: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    const x = await version.instantiate(log, new PluginMetrics('bench'), 5_000_000);
    await x.configure(p.config);
    times.push((performance.now() - t) * 1000);
    x.close();
  }
  const sync: number[] = [];
  const imports = WebAssembly.Module.imports(version.module);
  const stub = Object.fromEntries([...new Set(imports.map((i) => i.module))].map((m) => [m, Object.fromEntries(imports.filter((i) => i.module === m).map((i) => [i.name, () => 0]))]));
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    new WebAssembly.Instance(version.module, stub);
    sync.push((performance.now() - t) * 1000);
  }

  // A trap in wsx_route with 100 live sessions: the call fails, the spare takes over and is told
  // the server table and every session again, synchronously, inside that call.
  const { r: trapRouter } = await router(await prepared(await fixturePlugin('probe-router'), {}, true));
  const live: RouterSession[] = [];
  for (let id = 100; id < 200; id++) {
    const s = trapRouter.newSession({ id, user: 'app', database: null, clientAddress: '127.0.0.1', service: 'bench' }, SERVERS);
    s.connected('db1');
    live.push(s);
  }
  const trapTimes: number[] = [];
  const trapPayload = Buffer.from('\x03TRAP');
  for (let i = 0; i < 3; i++) {
    await new Promise((res) => setTimeout(res, 200)); // let the new spare be made
    const t = performance.now();
    live[0]!.route({ command: 3, payload: trapPayload });
    trapTimes.push((performance.now() - t) * 1000);
  }
  trapRouter.close();
  inst.close();

  const fmt = (us: number) => (us < 10 ? us.toFixed(3) : us.toFixed(0));
  process.stdout.write(`\n### Hook-call overhead (${CALLS.toLocaleString('en')} calls per round, median of ${ROUNDS} rounds)\n\n`);
  process.stdout.write('| what | µs per call |\n| --- | ---: |\n');
  for (const [what, us] of rows) process.stdout.write(`| ${what} | ${fmt(us)} |\n`);
  process.stdout.write('\n| instance life cycle | µs (median) |\n| --- | ---: |\n');
  process.stdout.write(`| new instance through Extism + configure() (the background spare) | ${fmt(median(times))} |\n`);
  process.stdout.write(`| new WebAssembly.Instance from the compiled module (synchronous, no configure) | ${fmt(median(sync))} |\n`);
  process.stdout.write(`| a trapping wsx_route call incl. promoting the spare + replaying 100 live sessions | ${fmt(median(trapTimes))} |\n`);
  process.stdout.write(`\n- Node ${process.version}; ${(await import('node:os')).cpus()[0]?.model}; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
}

await main();
