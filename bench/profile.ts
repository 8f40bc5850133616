// CPU profile of wasmscale under sysbench oltp_point_select: starts a private mariadbd and the
// proxy with `node --cpu-prof` (forwarded to the routing workers), runs one sysbench load, stops
// the proxy and prints the functions with the most self time per process.
//
//   npm run build && node --import tsx bench/profile.ts [ps|text] [threads] [seconds]
//
// Environment: BENCH_WORKERS=auto (the proxy's `workers:`), BENCH_PROF_DIR=<dir> (keep the
// .cpuprofile files there; open them in Chrome DevTools > Performance), BENCH_TARGET=pipe to
// profile the naive pipe instead (for comparison).
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CREDENTIALS, SBTEST, startDatabase } from './lib/database.js';
import { pointSelect, prepare } from './lib/sysbench.js';
import { startNaivePipe, startWasmscale } from './lib/wasmscale.js';

const [mode = 'text', threads = '16', seconds = '10'] = process.argv.slice(2);
const workersEnv = process.env.BENCH_WORKERS ?? 'auto';
const workers = workersEnv === 'auto' ? 'auto' : Number(workersEnv);

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function: share of the samples and µs per query (`queries` over the profile). */
function summarize(p: Profile, queries: number, top = 25): string {
  const self = new Map<string, number>();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const counts = new Map<number, number>();
  // Each sample's weight is the time until the next one (µs).
  for (let i = 0; i < p.samples.length; i++) counts.set(p.samples[i]!, (counts.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i + 1] ?? 0));
  let total = 0;
  for (const [id, c] of counts) {
    const n = byId.get(id)!;
    const f = n.callFrame;
    const file = f.url.replace(/^.*\/(node_modules|dist)\//, '$1/').replace(/^node:/, '');
    const key = `${f.functionName || '(anonymous)'} ${file}${file ? `:${f.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + c);
    total += c;
  }
  const idle = self.get('(idle) ') ?? 0;
  const busy = total - idle;
  const rows = [...self.entries()].filter(([k]) => k !== '(idle) ').sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    `  profiled ${(total / 1e6).toFixed(1)} s, idle ${((idle / total) * 100).toFixed(1)}%, busy ${(busy / queries).toFixed(1)} µs per query (over ${queries} queries incl. warm-up)`,
    '  % of busy   µs/query  function',
    ...rows.map(([k, c]) => `  ${((c / busy) * 100).toFixed(1).padStart(8)}%  ${(c / queries).toFixed(2).padStart(8)}  ${k}`),
  ].join('\n');
}

async function main(): Promise<void> {
  const dir = process.env.BENCH_PROF_DIR ?? (await mkdtemp(join(tmpdir(), 'wasmscale-prof-')));
  const db = await startDatabase(500);
  let queries = 0;
  try {
    const target = { port: db.port, user: SBTEST.user, password: SBTEST.password, db: SBTEST.db };
    await prepare(target);
    const profArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
    const ws = process.env.BENCH_TARGET === 'pipe'
      ? await startNaivePipe(db.port, profArgs)
      : await startWasmscale({
        backendPort: db.port,
        serviceUser: CREDENTIALS.wsproxy.user,
        servicePassword: CREDENTIALS.wsproxy.password,
        workers,
        logLevel: 'warn',
        nodeArgs: profArgs,
      });
    const psMode = mode === 'ps' ? 'auto' : 'disable';
    const w = await pointSelect({ ...target, port: ws.port }, Number(threads), 2, psMode);
    const r = await pointSelect({ ...target, port: ws.port }, Number(threads), Number(seconds), psMode);
    queries = Math.round(w.qps * 2 + r.qps * Number(seconds));
    process.stdout.write(`${process.env.BENCH_TARGET === 'pipe' ? 'naive pipe' : `wasmscale workers=${workersEnv}`} ${mode} ${threads} threads: ${r.qps.toFixed(0)} qps\n`);
    await ws.stop();
    await new Promise((res) => setTimeout(res, 1000));
  } finally {
    await db.stop();
  }
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.cpuprofile')).sort()) {
    const p = JSON.parse(await readFile(join(dir, f), 'utf8')) as Profile;
    process.stdout.write(`\n${join(dir, f)}\n${summarize(p, queries)}\n`);
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
