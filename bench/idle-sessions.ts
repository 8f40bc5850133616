// Holds 2,000 idle client sessions through wasmscale and reports the proxy's resident memory
// per session (primary + routing workers, VmRSS from /proc). The clients live in a separate
// child process (bench/idle-clients.ts) so their memory is not counted. The naive pipe is
// measured the same way for reference. Each proxied session also has its backend connection.
//
//   npm run build && node --import tsx bench/idle-sessions.ts
//
// Environment (all optional):
//   BENCH_SESSIONS=2000   idle sessions to hold
//   BENCH_WORKERS=auto    wasmscale `workers:` settings to measure, e.g. auto,1,0
//   BENCH_SETTLE=3        seconds to wait after the sessions are up before reading memory
//   BENCH_IDLE_QUERY=big  what each session runs before it idles: `SELECT 1` (default), or `big`:
//                        a 256 KiB result and a 100 KiB statement, so both of the session's
//                        sockets have read full buffers before going idle
import { join } from 'node:path';
import { CREDENTIALS, startDatabase } from './lib/database.js';
import { machine } from './lib/machine.js';
import { rssBytes, sleep, startChild, type Child } from './lib/proc.js';
import { checkBuilt, REPO, startNaivePipe, startWasmscale } from './lib/wasmscale.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? '2000');
const WORKERS = (process.env.BENCH_WORKERS ?? 'auto').split(',').map((w) => (w === 'auto' ? 'auto' : Number(w)));
const SETTLE = Number(process.env.BENCH_SETTLE ?? '3');
const TARGET_KIB = 64;

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

const kib = (b: number): string => (b / 1024).toFixed(1);
const mib = (b: number): string => (b / 1024 / 1024).toFixed(1);

async function openClients(port: number, n: number): Promise<{ child: Child; ready: number; failed: number; ms: number; firstError: string }> {
  const { app } = CREDENTIALS;
  const child = await startChild(process.execPath, ['--import', 'tsx', join(REPO, 'bench/idle-clients.ts'), String(port), String(n), app.user, app.password, '50', process.env.BENCH_IDLE_QUERY ?? 'small'], /ready \d+/, {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'pipe'],
    timeoutMs: 300_000,
  });
  const m = /ready (\d+) failed (\d+) in (\d+) ms(.*)/.exec(child.output())!;
  log(`  clients: ${m[1]} sessions up, ${m[2]} failed, in ${m[3]} ms${m[4]}`);
  return { child, ready: Number(m[1]), failed: Number(m[2]), ms: Number(m[3]), firstError: m[4]!.replace(' first error: ', '') };
}

async function closeClients(child: Child): Promise<void> {
  child.proc.stdin!.end('close\n');
  await new Promise<void>((r) => (child.proc.exitCode !== null ? r() : child.proc.once('exit', () => r())));
}

interface Row {
  name: string;
  processes: number;
  sessions: number;
  before: number;
  after: number;
  /** sum of the processes' VmHWM (peak RSS since they started) once the sessions are up */
  peak: number;
  afterClose: number;
  failed: number;
  openMs: number;
  firstError: string;
}

type Rss = (field?: 'VmRSS' | 'VmHWM') => Promise<number>;

async function measure(name: string, rss: Rss, port: number, sessionsNow: () => Promise<number>, processes: number): Promise<Row> {
  log(`${name}: warm-up (50 sessions opened and closed) ...`);
  const warm = await openClients(port, 50);
  await closeClients(warm.child);
  await sleep(SETTLE * 1000);
  const before = await rss();
  log(`${name}: RSS before ${mib(before)} MiB; opening ${SESSIONS} sessions ...`);
  const { child, ready, failed, ms, firstError } = await openClients(port, SESSIONS);
  await sleep(SETTLE * 1000);
  const sessions = await sessionsNow();
  const after = await rss();
  const peak = await rss('VmHWM');
  log(`${name}: RSS with ${ready} idle sessions ${mib(after)} MiB (proxy counts ${sessions} sessions)`);
  await closeClients(child);
  await sleep(SETTLE * 1000);
  const afterClose = await rss();
  return { name, processes, sessions: ready, before, after, peak, afterClose, failed, openMs: ms, firstError };
}

async function main(): Promise<void> {
  checkBuilt();
  log('starting a private mariadbd (max_connections 2300) ...');
  const db = await startDatabase(Math.max(2300, SESSIONS + 300));
  const rows: Row[] = [];
  try {
    const threads = async (): Promise<number> => {
      const [r] = await db.topology.primary.query<{ Value: string }[]>("SHOW GLOBAL STATUS LIKE 'Threads_connected'");
      return Number(r!.Value);
    };
    for (const w of WORKERS) {
      const ws = await startWasmscale({ backendPort: db.port, serviceUser: CREDENTIALS.wsproxy.user, servicePassword: CREDENTIALS.wsproxy.password, workers: w, logLevel: 'warn' });
      try {
        const procs = (await ws.pids()).length;
        const row = await measure(`wasmscale (workers: ${w})`, async (field) => (await ws.rss(field)).total, ws.port, async () => (await ws.stats()).sessions, procs);
        rows.push(row);
      } finally {
        await ws.stop();
      }
    }
    const pipe = await startNaivePipe(db.port);
    try {
      // The pipe has no session count: the server's connected threads, minus the harness's own.
      rows.push(await measure('naive pipe', async (field) => rssBytes(pipe.child.pid, field), pipe.port, async () => (await threads()) - 1, 1));
    } finally {
      await pipe.stop();
    }
  } finally {
    await db.stop();
  }

  const out: string[] = [machine(db.version), `- ${SESSIONS} idle sessions (mysql2, handshake + auth + ${process.env.BENCH_IDLE_QUERY === 'big' ? 'a 256 KiB result and a 100 KiB statement' : 'SELECT 1'}, then idle) from a separate process; RSS = VmRSS summed over the proxy's processes`, ''];
  out.push('| proxy | processes | sessions up | RSS before (MiB) | RSS with sessions (MiB) | **KiB per session** | peak RSS (MiB) | peak KiB per session | RSS after close (MiB) | time to open them (50 at a time) |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const per = (r.after - r.before) / r.sessions;
    const peakPer = (r.peak - r.before) / r.sessions;
    out.push(`| ${r.name} | ${r.processes} | ${r.sessions}${r.failed ? ` (${r.failed} failed)` : ''} | ${mib(r.before)} | ${mib(r.after)} | **${kib(per)}** | ${mib(r.peak)} | ${kib(peakPer)} | ${mib(r.afterClose)} | ${(r.openMs / 1000).toFixed(1)} s |`);
  }
  out.push('');
  out.push('KiB per session = (RSS with sessions − RSS before) / sessions. Peak = VmHWM, the most each process was resident at any time (set-up garbage included): an upper bound.');
  for (const r of rows.filter((x) => x.failed)) out.push(`\n${r.name}: ${r.failed} sessions failed, first error: ${r.firstError}`);
  const bad = rows.filter((r) => r.name.startsWith('wasmscale') && (r.after - r.before) / r.sessions / 1024 > TARGET_KIB);
  out.push('');
  out.push(bad.length ? `Above the ${TARGET_KIB} KiB/session target: ${bad.map((r) => r.name).join(', ')}` : `wasmscale ≤ ${TARGET_KIB} KiB per session.`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().then(() => process.exit(0), (err: unknown) => {
  log(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
