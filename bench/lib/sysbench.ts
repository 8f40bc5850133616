// Runs sysbench and reads its results.
import { execFile, execFileSync } from 'node:child_process';

export function sysbenchVersion(): string | null {
  try {
    return execFileSync('sysbench', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

export interface SysbenchTarget {
  host?: string;
  port: number;
  user: string;
  password: string;
  db: string;
}

export interface SysbenchResult {
  qps: number;
  tps: number;
  latencyAvgMs: number;
  latencyP95Ms: number;
  errors: number;
  reconnects: number;
  raw: string;
}

function args(t: SysbenchTarget, extra: string[]): string[] {
  return [
    'oltp_point_select',
    '--db-driver=mysql',
    `--mysql-host=${t.host ?? '127.0.0.1'}`,
    `--mysql-port=${t.port}`,
    `--mysql-user=${t.user}`,
    `--mysql-password=${t.password}`,
    `--mysql-db=${t.db}`,
    '--mysql-ssl=off',
    '--tables=1',
    '--table-size=10000',
    ...extra,
  ];
}

function run(argv: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('sysbench', argv, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`sysbench ${argv.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

export async function prepare(t: SysbenchTarget): Promise<void> {
  await run([...args(t, []), 'prepare'], 120_000);
}

export async function pointSelect(t: SysbenchTarget, threads: number, seconds: number, psMode: 'auto' | 'disable'): Promise<SysbenchResult> {
  const raw = await run([...args(t, [`--threads=${threads}`, `--time=${seconds}`, `--db-ps-mode=${psMode}`, '--report-interval=0', '--percentile=95']), 'run'], (seconds + 60) * 1000);
  const num = (re: RegExp): number => {
    const m = re.exec(raw);
    if (!m) throw new Error(`cannot find ${re} in sysbench output:\n${raw}`);
    return Number(m[1]);
  };
  return {
    qps: num(/queries:\s+\d+\s+\(([\d.]+) per sec\.\)/),
    tps: num(/transactions:\s+\d+\s+\(([\d.]+) per sec\.\)/),
    latencyAvgMs: num(/avg:\s+([\d.]+)/),
    latencyP95Ms: num(/95th percentile:\s+([\d.]+)/),
    errors: num(/ignored errors:\s+(\d+)/),
    reconnects: num(/reconnects:\s+(\d+)/),
    raw,
  };
}
