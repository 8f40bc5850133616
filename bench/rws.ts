// sysbench oltp_read_only and oltp_read_write through wasmscale with the readwritesplit router
// (WebAssembly plugin, roles from a mariadbmon monitor) in front of a private primary and two
// GTID replicas, against the primary directly and through the naive Node pipe to the primary, in
// one run. Target (issue 4): wasmscale >= 0.9x the naive pipe.
//
//   npm run build && node --import tsx bench/rws.ts
//
// oltp_read_only also runs with --skip_trx=on (test "oltp_read_only+skip_trx"): sysbench's
// default wraps every event in BEGIN ... COMMIT, and readwritesplit (like MaxScale's) runs
// transactions on the primary, so only the autocommit variant sends reads to the replicas.
// (oltp_read_write+skip_trx can be asked for, but it is not a valid test: its autocommit
// DELETE + INSERT of the same id race between threads and sysbench stops on a duplicate key,
// directly too.) Where the reads went is read from each server's Com_select (SHOW GLOBAL STATUS
// as root) before and after every run.
//
// Environment (all optional):
//   BENCH_TIME=10        seconds per sysbench run
//   BENCH_REPS=3         repetitions per cell (the median is reported)
//   BENCH_WARMUP=3       seconds of warm-up per target and test before measuring (0 = none)
//   BENCH_THREADS=4,16   sysbench thread counts
//   BENCH_TESTS=oltp_read_only,oltp_read_write,oltp_read_only+skip_trx
//   BENCH_MODES=ps       ps = --db-ps-mode=auto (binary protocol), text = --db-ps-mode=disable
//   BENCH_TABLES=4, BENCH_TABLE_SIZE=10000   sysbench prepare
//   BENCH_WORKERS=auto   wasmscale `workers:`
//   BENCH_RWS_CONFIG={}  readwritesplit plugin config as JSON (MaxScale names), e.g. {"master_accept_reads":true}
//   BENCH_PLUGIN=file    a prebuilt readwritesplit .wasm (default: built now into a temp dir)
//   BENCH_JSON=file      also write every run's figures as JSON
//   BENCH_PROXY_CPUS=1   pin the proxies (pipe and wasmscale) to these CPUs, the rest elsewhere
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import { CREDENTIALS, SBTEST, startDatabase } from './lib/database.js';
import { machine } from './lib/machine.js';
import { loadAverage, median, pinProxy, pinRest, sleep, sumCpuTimes } from './lib/proc.js';
import { oltpPrepare, oltpRun, sysbenchVersion, type OltpOptions, type SysbenchTarget } from './lib/sysbench.js';
import { CLI, REPO, checkBuilt, startNaivePipe, startWasmscale } from './lib/wasmscale.js';

const env = (name: string, def: string): string => process.env[name] ?? def;
const TIME = Number(env('BENCH_TIME', '10'));
const REPS = Number(env('BENCH_REPS', '3'));
const WARMUP = Number(env('BENCH_WARMUP', '3'));
const THREADS = env('BENCH_THREADS', '4,16').split(',').map(Number);
const TESTS = env('BENCH_TESTS', 'oltp_read_only,oltp_read_write,oltp_read_only+skip_trx').split(',');
const MODES = env('BENCH_MODES', 'ps').split(',') as ('ps' | 'text')[];
const TABLES = Number(env('BENCH_TABLES', '4'));
const TABLE_SIZE = Number(env('BENCH_TABLE_SIZE', '10000'));
const WORKERS: number | 'auto' = env('BENCH_WORKERS', 'auto') === 'auto' ? 'auto' : Number(env('BENCH_WORKERS', 'auto'));
const RWS_CONFIG = JSON.parse(env('BENCH_RWS_CONFIG', '{}')) as Record<string, unknown>;
const TARGET_RATIO = 0.9;

const TARGETS = ['direct', 'pipe', 'wasmscale'] as const;
type TargetName = (typeof TARGETS)[number];
/** Status counters read from every server around each run. */
const COUNTERS = ['Com_select', 'Com_insert', 'Com_update', 'Com_delete', 'Com_stmt_execute', 'Questions'] as const;
type Counter = (typeof COUNTERS)[number];
type Counters = Record<Counter, number>;

interface Target {
  name: TargetName;
  port: number;
  /** processes whose CPU time is charged to this target (none for direct) */
  pids: number[];
}

interface Run {
  rep: number;
  test: string;
  mode: string;
  threads: number;
  target: TargetName;
  qps: number;
  tps: number;
  latencyAvgMs: number;
  latencyP95Ms: number;
  errors: number;
  reconnects: number;
  /** sysbench exited with an error: the first error line */
  failure?: string;
  firstError?: string;
  proxyUserS: number;
  proxySysS: number;
  /** counter deltas per server (primary, replica1, replica2) during the run */
  serverDeltas: Counters[];
  /** 1-minute load average at the end of the run */
  load: number;
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** "oltp_read_only+skip_trx" -> the sysbench options. */
function testOptions(test: string): OltpOptions {
  const [name, ...flags] = test.split('+');
  const extra = flags.map((f) => {
    if (f === 'skip_trx') return '--skip_trx=on';
    throw new Error(`BENCH_TESTS: unknown suffix +${f} (known: +skip_trx)`);
  });
  return { test: name!, tables: TABLES, tableSize: TABLE_SIZE, extra };
}

/** The readwritesplit plugin: BENCH_PLUGIN, or built now with the CLI from the build (as an operator would). */
function pluginFile(): { file: string; cleanup(): void } {
  if (process.env.BENCH_PLUGIN) return { file: resolve(process.env.BENCH_PLUGIN), cleanup: () => {} };
  const out = mkdtempSync(join(tmpdir(), 'wasmscale-bench-rws-'));
  execFileSync(process.execPath, [CLI, 'plugin', 'build', join(REPO, 'plugins-as/routers/readwritesplit'), '--out-dir', out], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
  return { file: join(out, 'readwritesplit.wasm'), cleanup: () => rmSync(out, { recursive: true, force: true }) };
}

async function serverIdThrough(port: number): Promise<number> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port, user: SBTEST.user, password: SBTEST.password, database: SBTEST.db });
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id');
    return rows[0]!.id as number;
  } finally {
    await c.end();
  }
}

const pct = (part: number, total: number): string => (total > 0 ? `${((100 * part) / total).toFixed(1)}%` : '–');
/** A figure, or "–" when there is none (every run of the cell failed). */
const fix = (x: number, digits: number, suffix = ''): string => (Number.isFinite(x) ? `${x.toFixed(digits)}${suffix}` : '–');

async function main(): Promise<void> {
  const sb = sysbenchVersion();
  if (!sb) {
    log('sysbench is not installed. Install it with:  apt-get install -y sysbench');
    process.exit(2);
  }
  checkBuilt();
  const tests = TESTS.map((t) => ({ test: t, opts: testOptions(t) }));
  const plugin = pluginFile();
  const plugins = { rws: { file: plugin.file, config: RWS_CONFIG } };

  const pinning = pinRest();
  log(pinning);
  log('starting a private primary and 2 GTID replicas ...');
  const db = await startDatabase(2300, [], 2);
  const stops: (() => Promise<void>)[] = [() => db.stop(), async () => plugin.cleanup()];
  const topo = db.topology;
  const servers = topo.servers;
  try {
    const direct: SysbenchTarget = { port: db.port, user: SBTEST.user, password: SBTEST.password, db: SBTEST.db };
    log(`mariadbd ${db.version}: primary ${topo.primary.port} (server_id ${topo.primary.serverId}), replicas ${topo.replicas.map((r) => `${r.port} (server_id ${r.serverId})`).join(', ')}`);
    log(`sysbench prepare (${TABLES} tables × ${TABLE_SIZE} rows) on the primary ...`);
    await oltpPrepare(direct, tests[0]!.opts, Math.min(TABLES, 4));
    await topo.waitForReplicas();
    log('replicas caught up');

    const readCounters = async (): Promise<Counters[]> =>
      Promise.all(servers.map(async (s) => {
        const rows = await s.query<{ Variable_name: string; Value: string }[]>(
          `SHOW GLOBAL STATUS WHERE Variable_name IN (${COUNTERS.map((c) => `'${c}'`).join(', ')})`,
        );
        const out = Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Counters;
        for (const r of rows) {
          const name = COUNTERS.find((c) => c.toLowerCase() === r.Variable_name.toLowerCase());
          if (name) out[name] = Number(r.Value);
        }
        return out;
      }));

    const pipe = await startNaivePipe(db.port);
    stops.unshift(() => pipe.stop());
    log(`naive pipe on port ${pipe.port} -> primary ${db.port}`);
    pinProxy([pipe.child.pid]);

    const ws = await startWasmscale({
      servers: servers.map((s, i) => ({ name: `db${i + 1}`, port: s.port })),
      monitor: { user: CREDENTIALS.wsproxy.user, password: CREDENTIALS.wsproxy.password, monitor_interval: '1000ms' },
      serviceUser: CREDENTIALS.wsproxy.user,
      servicePassword: CREDENTIALS.wsproxy.password,
      workers: WORKERS,
      logLevel: 'warn',
      router: 'rws',
      plugins,
    });
    stops.unshift(() => ws.stop());
    const wsPids = await ws.pids();
    pinProxy(wsPids);
    log(`wasmscale (readwritesplit.wasm, workers ${WORKERS}) on port ${ws.port} (pids ${wsPids.join(', ')})`);

    // The monitor must have found the roles: a read through the proxy lands on a replica.
    const replicaIds = topo.replicas.map((r) => r.serverId);
    for (let i = 0; ; i++) {
      let id = -1;
      try {
        id = await serverIdThrough(ws.port);
      } catch (err) {
        if (i % 10 === 0) log(`waiting for the proxy: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (replicaIds.includes(id)) {
        log(`reads through the proxy reach a replica (server_id ${id})`);
        break;
      }
      if (i >= 300) throw new Error(`after 30 s, SELECT @@server_id through the proxy still gives ${id} (replicas: ${replicaIds.join(', ')}):\n${ws.child.output()}`);
      await sleep(100);
    }

    const targets: Target[] = [
      { name: 'direct', port: db.port, pids: [] },
      { name: 'pipe', port: pipe.port, pids: [pipe.child.pid] },
      { name: 'wasmscale', port: ws.port, pids: wsPids },
    ];
    const psMode = (m: 'ps' | 'text'): 'auto' | 'disable' => (m === 'ps' ? 'auto' : 'disable');
    const at = (t: Target): SysbenchTarget => ({ ...direct, port: t.port });
    const catchUp = async (): Promise<void> => {
      try {
        await topo.waitForReplicas();
      } catch (err) {
        log(`replicas did not catch up: ${err instanceof Error ? err.message : String(err)}`);
      }
    };

    if (WARMUP > 0) {
      log(`warm-up: ${WARMUP} s per target, test and mode ...`);
      for (const { test, opts } of tests) {
        for (const m of MODES) {
          for (const t of targets) {
            const r = await oltpRun(at(t), opts, Math.max(...THREADS), WARMUP, psMode(m));
            log(`  warm-up ${test} ${m} ${t.name}: ${r.failure ? `FAILED: ${r.failure}` : `${r.qps.toFixed(0)} qps, errors ${r.errors}`}`);
          }
        }
      }
      await catchUp();
    }

    const runs: Run[] = [];
    const cells = tests.flatMap(({ test, opts }) => MODES.flatMap((mode) => THREADS.map((threads) => ({ test, opts, mode, threads }))));
    const total = REPS * cells.length * targets.length;
    for (let rep = 1; rep <= REPS; rep++) {
      for (const [ci, { test, opts, mode, threads }] of cells.entries()) {
        // Rotate the order of the targets per repetition and cell, so none is always first or last.
        const k = (rep + ci) % targets.length;
        const order = [...targets.slice(k), ...targets.slice(0, k)];
        for (const t of order) {
          await catchUp();
          const before = await readCounters();
          const cpu0 = sumCpuTimes(t.pids);
          const r = await oltpRun(at(t), opts, threads, TIME, psMode(mode));
          const cpu1 = sumCpuTimes(t.pids);
          const after = await readCounters();
          const serverDeltas = after.map((a, i) => Object.fromEntries(COUNTERS.map((c) => [c, a[c] - before[i]![c]])) as Counters);
          const run: Run = {
            rep, test, mode, threads, target: t.name, qps: r.qps, tps: r.tps, latencyAvgMs: r.latencyAvgMs, latencyP95Ms: r.latencyP95Ms,
            errors: r.errors, reconnects: r.reconnects, proxyUserS: cpu1.user - cpu0.user, proxySysS: cpu1.sys - cpu0.sys,
            serverDeltas, load: loadAverage(),
            ...(r.failure !== undefined ? { failure: r.failure } : {}),
            ...(r.firstError !== undefined ? { firstError: r.firstError } : {}),
          };
          runs.push(run);
          const sel = serverDeltas.map((d) => d.Com_select).join('/');
          log(`[${runs.length}/${total}] rep ${rep} ${test} ${mode} ${threads}t ${t.name.padEnd(9)} ` +
            (r.failure ? `FAILED: ${r.failure}` : `${r.qps.toFixed(0).padStart(6)} qps ${r.tps.toFixed(0).padStart(5)} tps  p95 ${r.latencyP95Ms} ms  errors ${r.errors}  reconnects ${r.reconnects}`) +
            `  Com_select p/r1/r2 ${sel}  load ${run.load}`);
          if (r.firstError) log(`    first error: ${r.firstError}`);
        }
      }
    }

    const sel = (test: string, mode: string, threads: number, target: TargetName): Run[] =>
      runs.filter((r) => r.test === test && r.mode === mode && r.threads === threads && r.target === target);
    const med = (test: string, mode: string, threads: number, target: TargetName, f: (r: Run) => number): number =>
      median(sel(test, mode, threads, target).filter((r) => !r.failure).map(f));
    const cpuPerQuery = (test: string, mode: string, threads: number, target: TargetName): number =>
      med(test, mode, threads, target, (r) => ((r.proxyUserS + r.proxySysS) * 1e6) / (r.qps * TIME));

    const out: string[] = [];
    out.push(machine(db.version));
    const loads = runs.map((r) => r.load);
    out.push(`- 1-minute load average during the runs: ${Math.min(...loads).toFixed(1)} – ${Math.max(...loads).toFixed(1)} (median ${median(loads).toFixed(1)}; ${availableParallelism()}.0 = all cores busy)`);
    out.push(`- primary + 2 GTID replicas (private mariadbd each); sysbench ${TABLES} tables × ${TABLE_SIZE} rows, ${TIME} s per run, median of ${REPS}, targets interleaved`);
    out.push(`- direct and pipe: the primary; wasmscale: workers ${WORKERS}, log level warn, readwritesplit.wasm (config ${JSON.stringify(RWS_CONFIG)}), mariadbmon over the 3 servers (monitor_interval 1 s); ${pinning}`);
    out.push('');
    out.push('QPS (TPS in brackets), median; wasmscale/pipe target ≥ 0.9x:');
    out.push('');
    out.push('| test | mode | threads | direct | pipe | wasmscale | wasmscale/pipe | wasmscale/direct | pipe µs CPU/q | wasmscale µs CPU/q | p95 ms direct / pipe / wasmscale |');
    out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    const below: string[] = [];
    for (const { test, mode, threads } of cells) {
      const q = (t: TargetName): number => med(test, mode, threads, t, (r) => r.qps);
      const tp = (t: TargetName): number => med(test, mode, threads, t, (r) => r.tps);
      const cell = (t: TargetName): string => (Number.isNaN(q(t)) ? 'failed' : `${q(t).toFixed(0)} (${tp(t).toFixed(0)})`);
      const ratio = q('wasmscale') / q('pipe');
      if (!(ratio >= TARGET_RATIO)) below.push(`${test} ${mode} ${threads}t (${fix(ratio, 2, 'x')})`);
      const p95 = TARGETS.map((t) => fix(med(test, mode, threads, t, (r) => r.latencyP95Ms), 2)).join(' / ');
      out.push(`| ${test} | ${mode} | ${threads} | ${cell('direct')} | ${cell('pipe')} | ${cell('wasmscale')} | ${fix(ratio, 2, 'x')} | ${fix(q('wasmscale') / q('direct'), 2, 'x')} | ` +
        `${fix(cpuPerQuery(test, mode, threads, 'pipe'), 1)} | ${fix(cpuPerQuery(test, mode, threads, 'wasmscale'), 1)} | ${p95} |`);
    }
    out.push('');
    out.push(below.length ? `Below the ${TARGET_RATIO}x-of-pipe target: ${below.join(', ')}` : `wasmscale ≥ ${TARGET_RATIO}x the naive pipe in every cell.`);

    // Errors and reconnects, all runs summed, per target.
    out.push('');
    out.push('sysbench errors / reconnects / failed runs (summed over all runs; must be 0 for a valid run):');
    out.push('');
    out.push('| test | mode | threads | direct | pipe | wasmscale |');
    out.push('| --- | --- | ---: | ---: | ---: | ---: |');
    for (const { test, mode, threads } of cells) {
      const e = (t: TargetName): string => {
        const rs = sel(test, mode, threads, t);
        const sum = (f: (r: Run) => number): number => rs.reduce((a, r) => a + f(r), 0);
        return `${sum((r) => r.errors)} / ${sum((r) => r.reconnects)} / ${rs.filter((r) => r.failure).length}`;
      };
      out.push(`| ${test} | ${mode} | ${threads} | ${e('direct')} | ${e('pipe')} | ${e('wasmscale')} |`);
    }
    const bad = runs.filter((r) => r.failure || r.firstError || r.errors > 0 || r.reconnects > 0);
    if (bad.length) {
      out.push('');
      out.push(`**Runs with errors: ${bad.length}.** First error per target:`);
      for (const t of TARGETS) {
        const b = bad.find((r) => r.target === t);
        if (b) out.push(`- ${t} (${b.test} ${b.mode} ${b.threads}t rep ${b.rep}): ${b.failure ?? b.firstError ?? `${b.errors} ignored errors, ${b.reconnects} reconnects (sysbench printed no message)`}`);
      }
    }

    // Where the statements ran during the wasmscale runs (all repetitions summed).
    const names = ['primary', ...topo.replicas.map((_, i) => `replica${i + 1}`)];
    out.push('');
    out.push('Where wasmscale sent the reads: Com_select per server during the wasmscale runs (summed over the repetitions; ' +
      'includes the monitor\'s own few queries per second) and writes (Com_insert + Com_update + Com_delete) on the primary:');
    out.push('');
    out.push(`| test | mode | threads | ${names.map((n) => `${n} Com_select`).join(' | ')} | on replicas | primary writes |`);
    out.push(`| --- | --- | ---: | ${names.map(() => '---:').join(' | ')} | ---: | ---: |`);
    for (const { test, mode, threads } of cells) {
      const rs = sel(test, mode, threads, 'wasmscale');
      const perServer = names.map((_, i) => rs.reduce((a, r) => a + (r.serverDeltas[i]?.Com_select ?? 0), 0));
      const totalSel = perServer.reduce((a, b) => a + b, 0);
      const onReplicas = perServer.slice(1).reduce((a, b) => a + b, 0);
      const writes = rs.reduce((a, r) => a + (r.serverDeltas[0] ? r.serverDeltas[0].Com_insert + r.serverDeltas[0].Com_update + r.serverDeltas[0].Com_delete : 0), 0);
      out.push(`| ${test} | ${mode} | ${threads} | ${perServer.map((n) => `${n} (${pct(n, totalSel)})`).join(' | ')} | ${pct(onReplicas, totalSel)} | ${writes} |`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
    if (process.env.BENCH_JSON) {
      await writeFile(process.env.BENCH_JSON, JSON.stringify({ time: TIME, reps: REPS, tables: TABLES, tableSize: TABLE_SIZE, workers: WORKERS, rwsConfig: RWS_CONFIG, servers: names, runs }, null, 2));
    }
  } finally {
    for (const stop of stops) await stop().catch((e: unknown) => log(`stop: ${String(e)}`));
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  log(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
