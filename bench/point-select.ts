// sysbench oltp_point_select against MariaDB directly, through the naive Node pipe and through
// wasmscale, side by side in one run: prepared and text protocol, 4 and 16 threads, medians of
// BENCH_REPS repetitions with the targets interleaved so machine noise spreads evenly.
//
//   npm run build && node --import tsx bench/point-select.ts
//
// Environment (all optional):
//   BENCH_TIME=10        seconds per sysbench run
//   BENCH_REPS=3         repetitions per cell (the median is reported)
//   BENCH_WARMUP=3       seconds of warm-up per target and mode before measuring (0 = none)
//   BENCH_THREADS=4,16   sysbench thread counts
//   BENCH_MODES=ps,text  ps = --db-ps-mode=auto (binary protocol), text = --db-ps-mode=disable
//   BENCH_WORKERS=auto   wasmscale `workers:` settings to measure, e.g. auto,1,2 (the first is
//                        the one in the main table)
//   BENCH_JSON=file      also write every run's figures as JSON
//   BENCH_PROXY_CPUS=1   pin the proxies (pipe and wasmscale) to these CPUs, the rest elsewhere
//   BENCH_BASELINE_DIST=dir  also measure another build (e.g. the previous commit's dist/, with
//                        the first BENCH_WORKERS setting) as target `baseline`: an A/B in one run
import { writeFile } from 'node:fs/promises';
import { CREDENTIALS, SBTEST, startDatabase } from './lib/database.js';
import { machine } from './lib/machine.js';
import { loadAverage, median, pinProxy, pinRest, sumCpuTimes } from './lib/proc.js';
import { pointSelect, prepare, sysbenchVersion, type SysbenchTarget } from './lib/sysbench.js';
import { checkBuilt, startNaivePipe, startWasmscale } from './lib/wasmscale.js';

const env = (name: string, def: string): string => process.env[name] ?? def;
const TIME = Number(env('BENCH_TIME', '10'));
const REPS = Number(env('BENCH_REPS', '3'));
const WARMUP = Number(env('BENCH_WARMUP', '3'));
const THREADS = env('BENCH_THREADS', '4,16').split(',').map(Number);
const MODES = env('BENCH_MODES', 'ps,text').split(',') as ('ps' | 'text')[];
const WORKERS = env('BENCH_WORKERS', 'auto').split(',').map((w) => (w === 'auto' ? 'auto' : Number(w)));

interface Target {
  name: string;
  port: number;
  /** processes whose CPU time is charged to this target (none for direct) */
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
  /** CPU seconds (user, system) the proxy processes used during the run */
  proxyUserS: number;
  proxySysS: number;
  /** CPU seconds (user + system) mariadbd used during the run */
  serverS: number;
  /** 1-minute load average at the end of the run */
  load: number;
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

async function main(): Promise<void> {
  const sb = sysbenchVersion();
  if (!sb) {
    log('sysbench is not installed. Install it with:  apt-get install -y sysbench');
    process.exit(2);
  }
  checkBuilt();

  const pinning = pinRest();
  log(pinning);
  log('starting a private mariadbd ...');
  const db = await startDatabase(2300);
  const stops: (() => Promise<void>)[] = [() => db.stop()];
  try {
    const direct: SysbenchTarget = { port: db.port, user: SBTEST.user, password: SBTEST.password, db: SBTEST.db };
    log(`mariadbd ${db.version} on port ${db.port}; sysbench prepare (1 table, 10k rows) ...`);
    await prepare(direct);

    const serverPids = db.topology.primary.pid !== undefined ? [db.topology.primary.pid] : [];
    const targets: Target[] = [{ name: 'direct', port: db.port, pids: [] }];
    const pipe = await startNaivePipe(db.port);
    stops.unshift(() => pipe.stop());
    targets.push({ name: 'pipe', port: pipe.port, pids: [pipe.child.pid] });
    pinProxy([pipe.child.pid]);
    /** Starts wasmscale (this build, or `dist`) as one more target. */
    const addWasmscale = async (name: string, workers: number | 'auto', dist?: string): Promise<void> => {
      const ws = await startWasmscale({
        backendPort: db.port,
        serviceUser: CREDENTIALS.wsproxy.user,
        servicePassword: CREDENTIALS.wsproxy.password,
        workers,
        logLevel: 'warn',
        dist,
      });
      stops.unshift(() => ws.stop());
      const pids = await ws.pids();
      pinProxy(pids);
      targets.push({ name, port: ws.port, pids });
      log(`${name}${dist ? ` (${dist})` : ''} workers=${workers} on port ${ws.port} (pids ${pids.join(', ')})`);
    };
    for (const w of WORKERS) await addWasmscale(`wasmscale:${w}`, w);
    const baselineDist = process.env.BENCH_BASELINE_DIST;
    if (baselineDist) await addWasmscale('baseline', WORKERS[0]!, baselineDist);
    log(`naive pipe on port ${pipe.port}`);

    const psMode = (m: 'ps' | 'text'): 'auto' | 'disable' => (m === 'ps' ? 'auto' : 'disable');
    const at = (t: Target): SysbenchTarget => ({ ...direct, port: t.port });

    if (WARMUP > 0) {
      log(`warm-up: ${WARMUP} s per target and mode ...`);
      for (const t of targets) for (const m of MODES) await pointSelect(at(t), Math.max(...THREADS), WARMUP, psMode(m));
    }

    const runs: Run[] = [];
    const cells = MODES.flatMap((mode) => THREADS.map((threads) => ({ mode, threads })));
    const total = REPS * cells.length * targets.length;
    for (let rep = 1; rep <= REPS; rep++) {
      for (const [ci, { mode, threads }] of cells.entries()) {
        // Rotate the order per repetition and cell: each target runs early and late.
        const shift = (rep - 1 + ci) % targets.length;
        const order = [...targets.slice(shift), ...targets.slice(0, shift)];
        for (const t of order) {
          const cpu0 = sumCpuTimes(t.pids);
          const srv0 = sumCpuTimes(serverPids);
          const r = await pointSelect(at(t), threads, TIME, psMode(mode));
          const cpu1 = sumCpuTimes(t.pids);
          const srv1 = sumCpuTimes(serverPids);
          const run: Run = {
            rep, mode, threads, target: t.name, qps: r.qps, latencyAvgMs: r.latencyAvgMs, latencyP95Ms: r.latencyP95Ms,
            errors: r.errors, reconnects: r.reconnects, proxyUserS: cpu1.user - cpu0.user, proxySysS: cpu1.sys - cpu0.sys,
            serverS: srv1.user + srv1.sys - srv0.user - srv0.sys, load: loadAverage(),
          };
          runs.push(run);
          const cpu = t.pids.length ? `  proxy cpu ${(((run.proxyUserS + run.proxySysS) / TIME) * 100).toFixed(0)}%` : '';
          log(`[${runs.length}/${total}] rep ${rep} ${mode} ${threads}t ${t.name.padEnd(14)} ${r.qps.toFixed(0).padStart(7)} qps  avg ${r.latencyAvgMs} ms  p95 ${r.latencyP95Ms} ms  errors ${r.errors}${cpu}  load ${run.load}`);
        }
      }
    }

    const med = (target: string, mode: string, threads: number, f: (r: Run) => number): number =>
      median(runs.filter((r) => r.target === target && r.mode === mode && r.threads === threads).map(f));
    const qps = (target: string, mode: string, threads: number): number => med(target, mode, threads, (r) => r.qps);
    const cpuPerQuery = (target: string, mode: string, threads: number, part: 'all' | 'user' = 'all'): number =>
      med(target, mode, threads, (r) => ((part === 'user' ? r.proxyUserS : r.proxyUserS + r.proxySysS) * 1e6) / (r.qps * TIME));

    const serverPerQuery = (target: string, mode: string, threads: number): number =>
      med(target, mode, threads, (r) => (r.serverS * 1e6) / (r.qps * TIME));
    const main = `wasmscale:${WORKERS[0]}`;
    const out: string[] = [];
    out.push(machine(db.version));
    const loads = runs.map((r) => r.load);
    out.push(`- 1-minute load average during the runs: ${Math.min(...loads).toFixed(1)} – ${Math.max(...loads).toFixed(1)} (median ${median(loads).toFixed(1)}; 2.0 = both cores busy)`);
    out.push(`- sysbench oltp_point_select, 1 table × 10,000 rows, ${TIME} s per run, median of ${REPS}; wasmscale workers: ${WORKERS[0]}, log level warn; ${pinning}`);
    out.push('');
    out.push('| mode | threads | direct QPS | pipe QPS | wasmscale QPS | wasmscale/pipe | wasmscale/direct |');
    out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    const below: string[] = [];
    for (const { mode, threads } of cells) {
      const d = qps('direct', mode, threads);
      const p = qps('pipe', mode, threads);
      const w = qps(main, mode, threads);
      if (w / p < 1) below.push(`${mode} ${threads}t (${(w / p).toFixed(3)}x)`);
      out.push(`| ${mode === 'ps' ? 'prepared (ps-mode auto)' : 'text (ps-mode disable)'} | ${threads} | ${d.toFixed(0)} | ${p.toFixed(0)} | ${w.toFixed(0)} | ${(w / p).toFixed(2)}x | ${(w / d).toFixed(2)}x |`);
    }
    out.push('');
    out.push(below.length ? `Below the 1.0x-of-pipe target: ${below.join(', ')}` : 'wasmscale ≥ 1.0x the naive pipe in every cell.');
    out.push('');
    out.push('Proxy CPU per query, µs (user + system over all the proxy\'s processes, from /proc; user part in brackets; median), mariadbd CPU per query by the way the queries came in, and p95 latency, ms (median):');
    out.push('');
    const proxies = targets.filter((t) => t.pids.length > 0).map((t) => t.name);
    out.push(`| mode | threads | ${proxies.map((n) => `${n} µs CPU/q`).join(' | ')} | ${targets.map((t) => `mariadbd µs/q via ${t.name}`).join(' | ')} | direct p95 | ${proxies.map((n) => `${n} p95`).join(' | ')} |`);
    out.push(`| --- | ---: | ${proxies.map(() => '---:').join(' | ')} | ${targets.map(() => '---:').join(' | ')} | ---: | ${proxies.map(() => '---:').join(' | ')} |`);
    for (const { mode, threads } of cells) {
      const p95 = (n: string): string => med(n, mode, threads, (r) => r.latencyP95Ms).toFixed(2);
      out.push(`| ${mode} | ${threads} | ${proxies.map((n) => `${cpuPerQuery(n, mode, threads).toFixed(1)} (${cpuPerQuery(n, mode, threads, 'user').toFixed(1)})`).join(' | ')} | ${targets.map((t) => serverPerQuery(t.name, mode, threads).toFixed(1)).join(' | ')} | ${p95('direct')} | ${proxies.map(p95).join(' | ')} |`);
    }
    if (WORKERS.length > 1) {
      out.push('');
      out.push('wasmscale by `workers:` setting (QPS, median; ratio to the pipe):');
      out.push('');
      out.push(`| mode | threads | pipe | ${WORKERS.map((w) => `workers: ${w}`).join(' | ')} |`);
      out.push(`| --- | ---: | ---: | ${WORKERS.map(() => '---:').join(' | ')} |`);
      for (const { mode, threads } of cells) {
        const p = qps('pipe', mode, threads);
        out.push(`| ${mode} | ${threads} | ${p.toFixed(0)} | ${WORKERS.map((w) => { const q = qps(`wasmscale:${w}`, mode, threads); return `${q.toFixed(0)} (${(q / p).toFixed(2)}x)`; }).join(' | ')} |`);
      }
    }
    if (baselineDist) {
      out.push('');
      out.push(`A/B: this build (${main}) against the baseline build ${baselineDist} (QPS, median; ratio to the pipe):`);
      out.push('');
      out.push('| mode | threads | pipe | baseline | this build | this build / baseline |');
      out.push('| --- | ---: | ---: | ---: | ---: | ---: |');
      for (const { mode, threads } of cells) {
        const p = qps('pipe', mode, threads);
        const b = qps('baseline', mode, threads);
        const w = qps(main, mode, threads);
        out.push(`| ${mode} | ${threads} | ${p.toFixed(0)} | ${b.toFixed(0)} (${(b / p).toFixed(2)}x) | ${w.toFixed(0)} (${(w / p).toFixed(2)}x) | ${(w / b).toFixed(2)} |`);
      }
    }
    const errs = runs.filter((r) => r.errors > 0 || r.reconnects > 0);
    if (errs.length) out.push(`\nRuns with sysbench errors/reconnects: ${errs.map((r) => `${r.target} ${r.mode} ${r.threads}t rep ${r.rep}: ${r.errors}/${r.reconnects}`).join('; ')}`);
    process.stdout.write(`${out.join('\n')}\n`);
    if (process.env.BENCH_JSON) await writeFile(process.env.BENCH_JSON, JSON.stringify({ time: TIME, reps: REPS, workers: WORKERS, runs }, null, 2));
  } finally {
    for (const stop of stops) await stop().catch((e: unknown) => log(`stop: ${String(e)}`));
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  log(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
