// sysbench oltp_point_select through two wasmscale proxies in one run: one routing with the
// host-only placeholder router (`router: first-available`), one with readconnroute built as a
// WebAssembly plugin (plugins-as/routers/readconnroute). Both front the same single private
// mariadbd, so every session lands on the same server and the difference is the plugin path:
// session_start / route / session_end hook calls through the sandbox (fuel-metered module,
// exchange buffer) instead of the host's own router. Target (issue 3): wasm >= 0.95x placeholder.
//
//   npm run build && node --import tsx bench/readconnroute.ts
//
// Environment (all optional):
//   BENCH_TIME=10        seconds per sysbench run
//   BENCH_REPS=3         repetitions per cell (the median is reported)
//   BENCH_WARMUP=3       seconds of warm-up per proxy and mode before measuring (0 = none)
//   BENCH_THREADS=4,16   sysbench thread counts
//   BENCH_MODES=ps,text  ps = --db-ps-mode=auto (binary protocol), text = --db-ps-mode=disable
//   BENCH_WORKERS=auto   `workers:` of both proxies
//   BENCH_RCR_OPTIONS=running  readconnroute router_options (no monitor here: `master` would
//                        find no primary and refuse sessions)
//   BENCH_PLUGIN=file    a prebuilt readconnroute .wasm (default: built now into a temp dir)
//   BENCH_JSON=file      also write every run's figures as JSON
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { CREDENTIALS, SBTEST, startDatabase } from './lib/database.js';
import { machine } from './lib/machine.js';
import { loadAverage, median, sumCpuTimes } from './lib/proc.js';
import { pointSelect, prepare, sysbenchVersion, type SysbenchTarget } from './lib/sysbench.js';
import { CLI, REPO, checkBuilt, startWasmscale } from './lib/wasmscale.js';

const env = (name: string, def: string): string => process.env[name] ?? def;
const TIME = Number(env('BENCH_TIME', '10'));
const REPS = Number(env('BENCH_REPS', '3'));
const WARMUP = Number(env('BENCH_WARMUP', '3'));
const THREADS = env('BENCH_THREADS', '4,16').split(',').map(Number);
const MODES = env('BENCH_MODES', 'ps,text').split(',') as ('ps' | 'text')[];
const WORKERS: number | 'auto' = env('BENCH_WORKERS', 'auto') === 'auto' ? 'auto' : Number(env('BENCH_WORKERS', 'auto'));
const RCR_OPTIONS = env('BENCH_RCR_OPTIONS', 'running');
const TARGET_RATIO = 0.95;

const PLACEHOLDER = 'first-available';
const WASM = 'readconnroute.wasm';

interface Target {
  name: typeof PLACEHOLDER | typeof WASM;
  port: number;
  pids: number[];
}

interface Run {
  rep: number;
  mode: string;
  threads: number;
  target: string;
  qps: number;
  latencyAvgMs: number;
  latencyP95Ms: number;
  errors: number;
  reconnects: number;
  /** CPU seconds (user, system) the proxy's processes used during the run */
  proxyUserS: number;
  proxySysS: number;
  /** 1-minute load average at the end of the run */
  load: number;
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** The readconnroute plugin: BENCH_PLUGIN, or built now with the CLI from the build (as an operator would). */
function pluginFile(): { file: string; cleanup(): void } {
  if (process.env.BENCH_PLUGIN) return { file: process.env.BENCH_PLUGIN, cleanup: () => {} };
  const out = mkdtempSync(join(tmpdir(), 'wasmscale-bench-rcr-'));
  execFileSync(process.execPath, [CLI, 'plugin', 'build', join(REPO, 'plugins-as/routers/readconnroute'), '--out-dir', out], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
  return { file: join(out, 'readconnroute.wasm'), cleanup: () => rmSync(out, { recursive: true, force: true }) };
}

/** One session through `port` must work and report the backend's server id (both proxies: the same). */
async function serverId(port: number): Promise<number> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port, user: SBTEST.user, password: SBTEST.password, database: SBTEST.db });
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id');
    return rows[0]!.id as number;
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const sb = sysbenchVersion();
  if (!sb) {
    log('sysbench is not installed. Install it with:  apt-get install -y sysbench');
    process.exit(2);
  }
  checkBuilt();
  const plugin = pluginFile();
  const plugins = { rcr: { file: plugin.file, config: { router_options: RCR_OPTIONS } } };

  log('starting a private mariadbd ...');
  const db = await startDatabase(2300);
  const stops: (() => Promise<void>)[] = [() => db.stop(), async () => plugin.cleanup()];
  try {
    const direct: SysbenchTarget = { port: db.port, user: SBTEST.user, password: SBTEST.password, db: SBTEST.db };
    log(`mariadbd ${db.version} on port ${db.port}; sysbench prepare (1 table, 10k rows) ...`);
    await prepare(direct);

    const common = { backendPort: db.port, serviceUser: CREDENTIALS.wsproxy.user, servicePassword: CREDENTIALS.wsproxy.password, workers: WORKERS, logLevel: 'warn' };
    const targets: Target[] = [];
    for (const [name, extra] of [[PLACEHOLDER, {}], [WASM, { router: 'rcr', plugins }]] as const) {
      const ws = await startWasmscale({ ...common, ...extra });
      stops.unshift(() => ws.stop());
      const pids = await ws.pids();
      targets.push({ name, port: ws.port, pids });
      log(`wasmscale (${name}) workers=${WORKERS} on port ${ws.port} (pids ${pids.join(', ')})`);
    }
    const ids = await Promise.all(targets.map((t) => serverId(t.port)));
    if (new Set(ids).size !== 1) throw new Error(`the proxies reach different servers: ${ids.join(', ')}`);

    const psMode = (m: 'ps' | 'text'): 'auto' | 'disable' => (m === 'ps' ? 'auto' : 'disable');
    const at = (t: Target): SysbenchTarget => ({ ...direct, port: t.port });

    if (WARMUP > 0) {
      log(`warm-up: ${WARMUP} s per proxy and mode ...`);
      for (const t of targets) for (const m of MODES) await pointSelect(at(t), Math.max(...THREADS), WARMUP, psMode(m));
    }

    const runs: Run[] = [];
    const cells = MODES.flatMap((mode) => THREADS.map((threads) => ({ mode, threads })));
    const total = REPS * cells.length * targets.length;
    for (let rep = 1; rep <= REPS; rep++) {
      for (const [ci, { mode, threads }] of cells.entries()) {
        // Alternate which proxy goes first, per repetition and cell.
        const order = (rep + ci) % 2 ? [...targets].reverse() : targets;
        for (const t of order) {
          const cpu0 = sumCpuTimes(t.pids);
          const r = await pointSelect(at(t), threads, TIME, psMode(mode));
          const cpu1 = sumCpuTimes(t.pids);
          const run: Run = {
            rep, mode, threads, target: t.name, qps: r.qps, latencyAvgMs: r.latencyAvgMs, latencyP95Ms: r.latencyP95Ms,
            errors: r.errors, reconnects: r.reconnects, proxyUserS: cpu1.user - cpu0.user, proxySysS: cpu1.sys - cpu0.sys, load: loadAverage(),
          };
          runs.push(run);
          log(`[${runs.length}/${total}] rep ${rep} ${mode} ${threads}t ${t.name.padEnd(18)} ${r.qps.toFixed(0).padStart(7)} qps  avg ${r.latencyAvgMs} ms  p95 ${r.latencyP95Ms} ms  errors ${r.errors}  proxy cpu ${(((run.proxyUserS + run.proxySysS) / TIME) * 100).toFixed(0)}%  load ${run.load}`);
        }
      }
    }

    const med = (target: string, mode: string, threads: number, f: (r: Run) => number): number =>
      median(runs.filter((r) => r.target === target && r.mode === mode && r.threads === threads).map(f));
    const qps = (target: string, mode: string, threads: number): number => med(target, mode, threads, (r) => r.qps);
    // The two proxies run back to back in each repetition, so the machine's drift (load from
    // sysbench and mariadbd, CPU frequency) is shared within a pair and not across pairs: the
    // median of the per-repetition ratios is the estimator that design calls for. The ratio of
    // the two medians is printed too.
    const pairedRatio = (mode: string, threads: number): number => {
      const ratios: number[] = [];
      for (let rep = 1; rep <= REPS; rep++) {
        const at = (n: string) => runs.find((r) => r.target === n && r.mode === mode && r.threads === threads && r.rep === rep);
        const p = at(PLACEHOLDER);
        const w = at(WASM);
        if (p && w && p.qps > 0) ratios.push(w.qps / p.qps);
      }
      return median(ratios);
    };
    const cpuPerQuery = (target: string, mode: string, threads: number): number =>
      med(target, mode, threads, (r) => ((r.proxyUserS + r.proxySysS) * 1e6) / (r.qps * TIME));

    const out: string[] = [];
    out.push(machine(db.version));
    const loads = runs.map((r) => r.load);
    out.push(`- 1-minute load average during the runs: ${Math.min(...loads).toFixed(1)} – ${Math.max(...loads).toFixed(1)} (median ${median(loads).toFixed(1)}; 2.0 = both cores busy)`);
    out.push(`- sysbench oltp_point_select, 1 table × 10,000 rows, ${TIME} s per run, median of ${REPS}; both proxies: workers ${WORKERS}, log level warn, one server`);
    out.push(`- readconnroute: router_options ${RCR_OPTIONS}, default limits (cpu_budget 5 ms, memory 16 MiB, fuel-instrumented module)`);
    out.push('');
    out.push(`| mode | threads | ${PLACEHOLDER} QPS | ${WASM} QPS | wasm/placeholder (median of paired ratios) | ratio of the medians | ${PLACEHOLDER} µs CPU/q | ${WASM} µs CPU/q | ${PLACEHOLDER} p95 ms | ${WASM} p95 ms |`);
    out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    const below: string[] = [];
    for (const { mode, threads } of cells) {
      const p = qps(PLACEHOLDER, mode, threads);
      const w = qps(WASM, mode, threads);
      const paired = pairedRatio(mode, threads);
      if (paired < TARGET_RATIO) below.push(`${mode} ${threads}t (${paired.toFixed(3)}x)`);
      const p95 = (n: string): string => med(n, mode, threads, (r) => r.latencyP95Ms).toFixed(2);
      out.push(`| ${mode === 'ps' ? 'prepared (ps-mode auto)' : 'text (ps-mode disable)'} | ${threads} | ${p.toFixed(0)} | ${w.toFixed(0)} | ${paired.toFixed(3)}x | ${(w / p).toFixed(3)}x | ` +
        `${cpuPerQuery(PLACEHOLDER, mode, threads).toFixed(1)} | ${cpuPerQuery(WASM, mode, threads).toFixed(1)} | ${p95(PLACEHOLDER)} | ${p95(WASM)} |`);
    }
    out.push('');
    out.push(below.length ? `Below the ${TARGET_RATIO}x target: ${below.join(', ')}` : `readconnroute.wasm ≥ ${TARGET_RATIO}x the placeholder router in every cell.`);
    const errs = runs.filter((r) => r.errors > 0 || r.reconnects > 0);
    if (errs.length) out.push(`\nRuns with sysbench errors/reconnects: ${errs.map((r) => `${r.target} ${r.mode} ${r.threads}t rep ${r.rep}: ${r.errors}/${r.reconnects}`).join('; ')}`);
    process.stdout.write(`${out.join('\n')}\n`);
    if (process.env.BENCH_JSON) {
      await writeFile(process.env.BENCH_JSON, JSON.stringify({ time: TIME, reps: REPS, workers: WORKERS, routerOptions: RCR_OPTIONS, runs }, null, 2));
    }
  } finally {
    for (const stop of stops) await stop().catch((e: unknown) => log(`stop: ${String(e)}`));
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  log(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
