// Connection set-up through each target: connect + authenticate + SELECT 1 + quit with mysql2,
// one at a time (latency) and BENCH_CONCURRENCY at a time (rate). Not a target of issue 2; it
// shows what the owner-first hand-off and proxy-side authentication cost.
//
//   npm run build && node --import tsx bench/connect.ts
//
// Environment: BENCH_CONNECTS=300 (per target and pass), BENCH_CONCURRENCY=50,
//   BENCH_WORKERS=auto,1,0 (wasmscale `workers:` settings).
import mysql from 'mysql2/promise';
import { CREDENTIALS, startDatabase } from './lib/database.js';
import { machine } from './lib/machine.js';
import { loadAverage, median } from './lib/proc.js';
import { startNaivePipe, startWasmscale } from './lib/wasmscale.js';

const N = Number(process.env.BENCH_CONNECTS ?? '300');
const CONC = Number(process.env.BENCH_CONCURRENCY ?? '50');
const WORKERS = (process.env.BENCH_WORKERS ?? 'auto,1,0').split(',').map((w) => (w === 'auto' ? 'auto' : Number(w)));

async function once(port: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const c = await mysql.createConnection({ host: '127.0.0.1', port, user: CREDENTIALS.app.user, password: CREDENTIALS.app.password });
  await c.query('SELECT 1');
  await c.end();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function sequential(port: number): Promise<{ p50: number; p95: number }> {
  const ms: number[] = [];
  for (let i = 0; i < N; i++) ms.push(await once(port));
  ms.sort((a, b) => a - b);
  return { p50: median(ms), p95: ms[Math.floor(ms.length * 0.95)]! };
}

async function concurrent(port: number): Promise<{ perSec: number; failed: number }> {
  let next = 0;
  let failed = 0;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: CONC }, async () => {
    while (next < N) {
      next++;
      await once(port).catch(() => failed++);
    }
  }));
  return { perSec: (N / (Date.now() - t0)) * 1000, failed };
}

async function main(): Promise<void> {
  const db = await startDatabase(1000);
  const rows: string[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    const targets: { name: string; port: number }[] = [{ name: 'direct', port: db.port }];
    const pipe = await startNaivePipe(db.port);
    stops.push(() => pipe.stop());
    targets.push({ name: 'naive pipe', port: pipe.port });
    for (const w of WORKERS) {
      const ws = await startWasmscale({ backendPort: db.port, serviceUser: CREDENTIALS.wsproxy.user, servicePassword: CREDENTIALS.wsproxy.password, workers: w, logLevel: 'warn' });
      stops.push(() => ws.stop());
      targets.push({ name: `wasmscale (workers: ${w})`, port: ws.port });
    }
    for (const t of targets) await sequential(t.port).then(() => {}, () => {}); // warm-up
    for (const t of targets) {
      const s = await sequential(t.port);
      const c = await concurrent(t.port);
      const line = `| ${t.name} | ${s.p50.toFixed(2)} | ${s.p95.toFixed(2)} | ${c.perSec.toFixed(0)}${c.failed ? ` (${c.failed} failed)` : ''} | ${loadAverage()} |`;
      process.stderr.write(`${line}\n`);
      rows.push(line);
    }
  } finally {
    for (const s of stops) await s();
    await db.stop();
  }
  process.stdout.write([
    machine(db.version),
    `- ${N} × (connect + auth + SELECT 1 + quit) with mysql2 per target: one at a time, then ${CONC} at a time`,
    '',
    '| target | one at a time: median ms | p95 ms | ' + `${CONC} at a time: connections/s | load avg after |`,
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n') + '\n');
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
